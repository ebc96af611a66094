"""Vector poster PDFs (张贴码): the code drawn as squares, the text in the embedded CJK font.

Crisp at any printer and any size, text selectable and searchable, a page a few kB. A4 and
A5 share one layout drawn in A5 points and scaled, so both print the same poster.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import BinaryIO

from reportlab.lib.colors import black, white
from reportlab.lib.pagesizes import A4, A5
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from qr.fonts import FontMissing, ensure_glyphs
from qr.poster import DEFAULT_INSTRUCTIONS, PosterSpec, _clean, _units
from qr.render import qr_matrix

Progress = Callable[[int], None]

PAGE_SIZES = {"A5": A5, "A4": A4}
SCAN_HINT = "微信扫一扫 / 相机扫码"
PRIVACY_NOTE = "可匿名，严格保密"
_GREY = 0.35
_WIDTH, _HEIGHT = A5  # layout units: A5 points, scaled for A4
_MARGIN = 28.0
_TEXT_WIDTH = _WIDTH - 2 * _MARGIN
_HEADER = 70.0
_QR_MAX = _WIDTH - 2 * 56


@dataclass(frozen=True, slots=True)
class PosterFooter:
    """What every poster of an office carries below the code (from settings)."""

    office_name: str = ""
    hotline: str = ""


@lru_cache(maxsize=8)
def _font_name(path: str) -> str:
    """Register the font with reportlab once per path; a collection's first face."""
    name = f"poster-{len(pdfmetrics.getRegisteredFontNames())}"
    try:
        font = TTFont(name, path, subfontIndex=0)
    except Exception as exc:  # reportlab raises TTFError, OSError or struct errors
        raise FontMissing(path) from exc
    pdfmetrics.registerFont(font)
    return name


def write_vector_posters_pdf(
    posters: Iterable[PosterSpec],
    out: BinaryIO,
    *,
    font_path: str | Path,
    size: str = "A5",
    footer: PosterFooter = PosterFooter(),
    progress: Progress | None = None,
) -> int:
    """Write one vector poster per page to `out` (A4 or A5); return the page count."""
    if size not in PAGE_SIZES:
        raise ValueError(f"size must be one of {sorted(PAGE_SIZES)}")
    path = str(font_path)
    ensure_glyphs(
        path, SCAN_HINT + PRIVACY_NOTE + "举报电话编号点位：" + _clean(footer.office_name)
    )
    font = _font_name(path)
    page_width, page_height = PAGE_SIZES[size]
    scale = page_width / _WIDTH
    # The CJK font from the first operator on: no unembedded Helvetica left in the file.
    canvas = Canvas(
        out,
        pagesize=(page_width, page_height),
        pageCompression=1,
        invariant=1,
        initialFontName=font,
        initialFontSize=12,
    )
    canvas.setTitle("二维码张贴码")
    canvas.setCreator("码上查")
    pages = 0
    for spec in posters:
        canvas.saveState()
        canvas.scale(scale, scale)
        _draw_poster(canvas, spec, font, path, footer)
        canvas.restoreState()
        canvas.showPage()
        pages += 1
        if progress is not None:
            progress(pages)
    if pages == 0:
        raise ValueError("a poster PDF needs at least one poster")
    canvas.save()
    return pages


def _draw_poster(
    canvas: Canvas, spec: PosterSpec, font: str, path: str, footer: PosterFooter
) -> None:
    enterprise = _clean(spec.enterprise_name)
    point = _clean(spec.point_name or "")
    instructions = _clean(spec.instructions or DEFAULT_INSTRUCTIONS)
    short_id = _clean(spec.short_id)
    office, hotline = _clean(footer.office_name), _clean(footer.hotline)
    if not enterprise:
        raise ValueError("enterprise_name must not be empty")
    ensure_glyphs(path, enterprise + point + instructions + short_id + hotline)

    # Header band: the call to action, white on black, readable from across a workshop.
    canvas.setFillColor(black)
    canvas.rect(0, _HEIGHT - _HEADER, _WIDTH, _HEADER, stroke=0, fill=1)
    canvas.setFillColor(white)
    size, lines = _fit(instructions, font, sizes=range(30, 15, -2), max_lines=1)
    _centred(canvas, lines, font, size, _HEIGHT - _HEADER / 2 - size * 0.35)

    canvas.setFillColor(black)
    size, lines = _fit(enterprise, font, sizes=range(26, 13, -1), max_lines=3)
    y = _centred(canvas, lines, font, size, _HEIGHT - _HEADER - 12 - size)
    if point:
        size, lines = _fit(f"点位：{point}", font, sizes=range(17, 10, -1), max_lines=1)
        y = _centred(canvas, lines, font, size, y - 6 - size)

    # Bottom block, from the foot up: short id, hotline, office, a rule, the two notes.
    canvas.setFillGray(_GREY)
    _centred(canvas, [f"编号 {short_id}"], font, 10, 22)
    canvas.setFillColor(black)
    foot = 40.0
    if hotline:
        _centred(canvas, [f"举报电话：{hotline}"], font, 13, foot)
        foot += 19
    if office:
        size, lines = _fit(office, font, sizes=range(13, 8, -1), max_lines=1)
        _centred(canvas, lines, font, size, foot)
        foot += 19
    canvas.setLineWidth(0.6)
    canvas.line(_MARGIN, foot + 2, _WIDTH - _MARGIN, foot + 2)
    _centred(canvas, [PRIVACY_NOTE], font, 16, foot + 14)
    _centred(canvas, [SCAN_HINT], font, 13, foot + 36)
    bottom = foot + 36 + 13 + 8

    # The code takes the room left between the name and the notes.
    top = y - 8
    matrix = qr_matrix(spec.url)
    side = min(_QR_MAX, top - bottom)
    if side < 2.0 * len(matrix):  # under ~0.7 mm a module: too small to scan reliably
        raise ValueError("poster text leaves no room for a scannable QR code")
    _draw_matrix(canvas, matrix, (_WIDTH - side) / 2, bottom + (top - bottom - side) / 2, side)


def _draw_matrix(canvas: Canvas, matrix: list[list[bool]], x: float, y: float, side: float) -> None:
    """Dark modules as filled rectangles, one per horizontal run, in module units: one path
    of small integers (reportlab would format each float coordinate in Python)."""
    n = len(matrix)
    runs = []
    for row_index, row in enumerate(matrix):
        start = None
        for col, dark in enumerate([*row, False]):
            if dark and start is None:
                start = col
            elif not dark and start is not None:
                runs.append(f"{start} {n - 1 - row_index} {col - start} 1 re")
                start = None
    canvas.saveState()
    canvas.translate(x, y)
    canvas.scale(side / n, side / n)
    canvas.setFillColor(black)
    canvas.addLiteral("\n".join(runs) + "\nf")
    canvas.restoreState()


def _width(text: str, font: str, size: float) -> float:
    return pdfmetrics.stringWidth(text, font, size)


def _wrap(text: str, font: str, size: float) -> list[str]:
    lines, line = [], ""
    for unit in _units(text):
        if line and _width(line + unit, font, size) > _TEXT_WIDTH:
            lines.append(line.rstrip())
            line = unit.lstrip()
        else:
            line += unit
    lines.append(line.rstrip())
    return lines


def _fit(text: str, font: str, *, sizes: range, max_lines: int) -> tuple[float, list[str]]:
    """The largest size at which `text` fits in `max_lines` lines, else the smallest size
    with the last line ellipsized."""
    for size in sizes:
        lines = _wrap(text, font, size)
        if len(lines) <= max_lines:
            return size, lines
    size = sizes[-1]
    lines = _wrap(text, font, size)[:max_lines]
    last = lines[-1]
    while last and _width(last + "…", font, size) > _TEXT_WIDTH:
        last = last[:-1]
    lines[-1] = last.rstrip() + "…"
    return size, lines


def _centred(canvas: Canvas, lines: list[str], font: str, size: float, y: float) -> float:
    """Draw centred lines, the first baseline at `y`; return the bottom of the last line
    (its baseline less the descent)."""
    canvas.setFont(font, size)
    for index, line in enumerate(lines):
        canvas.drawCentredString(_WIDTH / 2, y - index * size * 1.25, line)
    return y - (len(lines) - 1) * size * 1.25 - size * 0.25
