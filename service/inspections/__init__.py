"""Inspections: check-ins (扫码打卡); risk points, checklists and tasks come here next."""
