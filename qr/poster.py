"""Printable QR posters: enterprise name in Chinese, instructions, the code, its short id."""

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from io import BytesIO
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from qr.fonts import ensure_glyphs, load_font
from qr.render import matrix_image, qr_matrix

DEFAULT_INSTRUCTIONS = "扫码上报安全隐患"
# A5 (148 x 210 mm) at ~213 dpi; the A-series aspect ratio also scales exactly to A4.
POSTER_SIZE = (1240, 1760)
_WIDTH, _HEIGHT = POSTER_SIZE
POSTER_DPI = _WIDTH / (148 / 25.4)

_MARGIN = 90
_TEXT_WIDTH = _WIDTH - 2 * _MARGIN
_HEADER_HEIGHT = 240
_QR_MAX = _WIDTH - 2 * 120
_INK, _PAPER, _GREY = 0, 255, 90
_ELLIPSIS = "…"
# Latin words and numbers stay whole when wrapping; any CJK character may start a line.
_UNIT_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9.\-_&']*|.", re.DOTALL)
# Closing punctuation must not start a line (避头), so it sticks to the unit before it.
_NO_LINE_START = set("，。、；：？！）》」』】〕,.;:?!)]}%…·")


@dataclass(frozen=True, slots=True)
class PosterSpec:
    """What one poster shows."""

    url: str
    enterprise_name: str
    point_name: str | None
    short_id: str
    instructions: str = DEFAULT_INSTRUCTIONS


def render_poster(
    *,
    url: str,
    enterprise_name: str,
    point_name: str | None,
    short_id: str,
    font_path: str | Path,
    instructions: str = DEFAULT_INSTRUCTIONS,
) -> bytes:
    """Render a poster (张贴码) as PNG bytes."""
    spec = PosterSpec(url, enterprise_name, point_name, short_id, instructions)
    out = BytesIO()
    dpi = round(POSTER_DPI, 1)
    # compress_level 3: a mostly-white page, nearly as small as level 6 at half the time.
    poster_image(spec, font_path=font_path).save(out, "PNG", dpi=(dpi, dpi), compress_level=3)
    return out.getvalue()


def poster_image(spec: PosterSpec, *, font_path: str | Path) -> Image.Image:
    """Render a poster as a greyscale ("L") image of POSTER_SIZE."""
    enterprise = _clean(spec.enterprise_name)
    point = _clean(spec.point_name or "")
    instructions = _clean(spec.instructions)
    short_id = _clean(spec.short_id)
    if not enterprise:
        raise ValueError("enterprise_name must not be empty")
    ensure_glyphs(font_path, enterprise + point + instructions + short_id)

    image = Image.new("L", POSTER_SIZE, _PAPER)
    draw = ImageDraw.Draw(image)

    # Header band: the call to action, white on black, readable from across a workshop.
    draw.rectangle((0, 0, _WIDTH, _HEADER_HEIGHT), fill=_INK)
    font, lines = _fit(instructions, font_path, sizes=range(104, 47, -4), max_lines=1)
    _draw_lines(draw, lines, font, _HEADER_HEIGHT / 2, fill=_PAPER, center=True)

    y = _HEADER_HEIGHT + 70
    font, lines = _fit(enterprise, font_path, sizes=range(88, 47, -4), max_lines=3)
    y = _draw_lines(draw, lines, font, y, fill=_INK)
    if point:
        font, lines = _fit(f"点位：{point}", font_path, sizes=range(60, 35, -4), max_lines=1)
        y = _draw_lines(draw, lines, font, y + 20, fill=_INK)

    footer_font = load_font(font_path, 48)
    footer_y = _HEIGHT - _MARGIN - _line_height(footer_font)
    _draw_lines(draw, [f"编号 {short_id}"], footer_font, footer_y, fill=_GREY)

    # The code takes the space left between the text and the footer, at whole pixels per module.
    top, bottom = y + 30, footer_y - 30
    matrix = qr_matrix(spec.url)
    box = min(_QR_MAX, bottom - top) // len(matrix)
    if box < 4:
        raise ValueError("poster text leaves no room for a scannable QR code")
    code = matrix_image(matrix, box)
    image.paste(code, ((_WIDTH - code.width) // 2, top + (bottom - top - code.height) // 2))
    return image


def _clean(text: str) -> str:
    # Drop control and format characters (zero-width spaces…) that would render as nothing.
    text = "".join(ch for ch in text if unicodedata.category(ch) not in ("Cc", "Cf"))
    return " ".join(text.split())


def _fit(
    text: str, font_path: str | Path, *, sizes: range, max_lines: int
) -> tuple[ImageFont.FreeTypeFont, list[str]]:
    """Pick a size and line breaks for `text`: large, few lines, else ellipsized."""
    units = _units(text)
    largest: dict[int, int] = {}  # line count -> largest size that fits in that many lines
    for size in sizes:
        count = len(_wrap(units, load_font(font_path, size), _TEXT_WIDTH))
        for lines in range(count, max_lines + 1):
            largest.setdefault(lines, size)
        if count == 1:
            break
    if max_lines in largest:
        # Fewer lines win unless they cost more than 15 % of the type size.
        best = largest[max_lines]
        count = min(k for k, size in largest.items() if size >= 0.85 * best)
        font = load_font(font_path, largest[count])
        return font, _balanced_wrap(units, font, count)
    font = load_font(font_path, sizes[-1])
    lines = _wrap(units, font, _TEXT_WIDTH)[:max_lines]
    last = lines[-1]
    while last and font.getlength(last + _ELLIPSIS) > _TEXT_WIDTH:
        last = last[:-1]
    lines[-1] = last.rstrip() + _ELLIPSIS
    return font, lines


def _units(text: str) -> list[str]:
    units: list[str] = []
    for unit in _UNIT_RE.findall(text):
        if units and unit[0] in _NO_LINE_START:
            units[-1] += unit
        else:
            units.append(unit)
    return units


def _wrap(units: list[str], font: ImageFont.FreeTypeFont, width: float) -> list[str]:
    # Summing per-unit advances is exact enough (no kerning across CJK) and avoids
    # measuring every growing line again.
    lines: list[str] = []
    line, used = "", 0.0
    for unit, advance in zip(units, _advances(font, tuple(units)), strict=True):
        if line and used + advance > width:
            lines.append(line.rstrip())
            line, used = unit.lstrip(), advance
        else:
            line, used = line + unit, used + advance
    lines.append(line.rstrip())
    return lines


def _balanced_wrap(units: list[str], font: ImageFont.FreeTypeFont, count: int) -> list[str]:
    # Narrow the wrap width as far as the line count allows, so a name breaks into
    # even lines instead of a full line and a lone last character.
    low, high = 0.0, float(_TEXT_WIDTH)
    while count > 1 and high - low > 2:
        middle = (low + high) / 2
        if len(_wrap(units, font, middle)) <= count:
            high = middle
        else:
            low = middle
    return _wrap(units, font, high)


@lru_cache(maxsize=256)
def _advances(font: ImageFont.FreeTypeFont, units: tuple[str, ...]) -> list[float]:
    return [font.getlength(unit) for unit in units]


def _line_height(font: ImageFont.FreeTypeFont) -> int:
    return round(font.size * 1.3)


def _draw_lines(
    draw: ImageDraw.ImageDraw,
    lines: list[str],
    font: ImageFont.FreeTypeFont,
    y: float,
    *,
    fill: int,
    center: bool = False,
) -> int:
    """Draw centred lines from `y` (or centred on `y`); return the y below them."""
    height = _line_height(font)
    if center:
        y -= height * len(lines) / 2
    for line in lines:
        draw.text((_WIDTH / 2, y + height / 2), line, font=font, fill=fill, anchor="mm")
        y += height
    return round(y)
