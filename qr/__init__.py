"""Pure QR functions: tokens, QR rendering, posters and poster PDFs (no Flask, no project code)."""

from qr.fonts import FontMissing
from qr.poster import DEFAULT_INSTRUCTIONS, PosterSpec, poster_image, render_poster
from qr.render import render_png, render_svg
from qr.sheets import iter_posters_pdf, posters_pdf, write_posters_pdf
from qr.tokens import format_short_id, is_wellformed_token, new_token, scan_url
from qr.vector import PosterFooter, write_vector_posters_pdf

__all__ = [
    "DEFAULT_INSTRUCTIONS",
    "FontMissing",
    "PosterFooter",
    "PosterSpec",
    "format_short_id",
    "is_wellformed_token",
    "iter_posters_pdf",
    "new_token",
    "poster_image",
    "posters_pdf",
    "render_png",
    "render_poster",
    "render_svg",
    "scan_url",
    "write_posters_pdf",
    "write_vector_posters_pdf",
]
