"""Pure QR functions: tokens, QR rendering, posters, vector poster PDFs (no Flask, no app code)."""

from qr.fonts import FontMissing
from qr.poster import DEFAULT_INSTRUCTIONS, PosterSpec, poster_image, render_poster
from qr.render import render_png, render_svg
from qr.tokens import format_short_id, is_wellformed_token, new_token, scan_url
from qr.vector import PosterFooter, write_vector_posters_pdf

__all__ = [
    "DEFAULT_INSTRUCTIONS",
    "FontMissing",
    "PosterFooter",
    "PosterSpec",
    "format_short_id",
    "is_wellformed_token",
    "new_token",
    "poster_image",
    "render_png",
    "render_poster",
    "render_svg",
    "scan_url",
    "write_vector_posters_pdf",
]
