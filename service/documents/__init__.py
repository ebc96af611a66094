"""Regulator documents (文书): per-hazard notices and reviews, monthly bulletins, as PDF/DOCX."""
