"""Bulletin charts as PNG, drawn with Pillow in the CJK font: a trend (reported and closed
per month) and a ranking (a rate per region). Small and dependency-free; the same image
goes into the DOCX and the PDF."""

from __future__ import annotations

import io
from collections.abc import Sequence

from PIL import Image, ImageDraw

from qr.fonts import load_font

_INK, _GREY, _LIGHT, _PAPER = (30, 30, 30), (150, 150, 150), (225, 225, 225), (255, 255, 255)
_WIDTH = 1600


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG", dpi=(200, 200), optimize=False, compress_level=6)
    return out.getvalue()


def trend_chart(
    font_path: str, labels: Sequence[str], reported: Sequence[int], closed: Sequence[int]
) -> bytes:
    """Paired columns per month: reported (grey) and closed (black), with their counts."""
    height, left, right, top, bottom = 640, 90, 40, 90, 90
    image = Image.new("RGB", (_WIDTH, height), _PAPER)
    draw = ImageDraw.Draw(image)
    font, small = load_font(font_path, 30), load_font(font_path, 24)
    draw.text((left, 24), "隐患上报与销号趋势（条）", font=font, fill=_INK)
    legend_x = _WIDTH - right - 420
    for offset, (colour, name) in enumerate(((_GREY, "上报"), (_INK, "销号"))):
        x = legend_x + offset * 200
        draw.rectangle((x, 32, x + 28, 56), fill=colour)
        draw.text((x + 38, 28), name, font=small, fill=_INK)
    peak = max([*reported, *closed, 1])
    plot_h = height - top - bottom
    draw.line((left, height - bottom, _WIDTH - right, height - bottom), fill=_INK, width=2)
    slot = (_WIDTH - left - right) / max(len(labels), 1)
    bar = slot * 0.3
    for i, label in enumerate(labels):
        centre = left + slot * (i + 0.5)
        for value, colour, x in (
            (reported[i], _GREY, centre - bar - 4),
            (closed[i], _INK, centre + 4),
        ):
            y = height - bottom - plot_h * value / peak
            draw.rectangle((x, y, x + bar, height - bottom), fill=colour)
            draw.text((x + bar / 2, y - 6), str(value), font=small, fill=_INK, anchor="md")
        draw.text((centre, height - bottom + 14), label, font=small, fill=_INK, anchor="ma")
    return _png(image)


def ranking_chart(
    font_path: str, title: str, names: Sequence[str], rates: Sequence[float | None]
) -> bytes:
    """Horizontal bars of a rate per region, in the ranking's order; no data shows "—"."""
    row, top, left, right = 54, 90, 300, 140
    height = top + row * max(len(names), 1) + 30
    image = Image.new("RGB", (_WIDTH, height), _PAPER)
    draw = ImageDraw.Draw(image)
    font, small = load_font(font_path, 30), load_font(font_path, 24)
    draw.text((40, 24), title, font=font, fill=_INK)
    span = _WIDTH - left - right
    for i, (name, rate) in enumerate(zip(names, rates, strict=True)):
        y = top + i * row
        shown = name if len(name) <= 10 else name[:9] + "…"
        draw.text((left - 16, y + row / 2), shown, font=small, fill=_INK, anchor="rm")
        draw.rectangle((left, y + 10, left + span, y + row - 10), fill=_LIGHT)
        if rate is None:
            draw.text((left + 10, y + row / 2), "—", font=small, fill=_INK, anchor="lm")
            continue
        end = left + span * max(0.0, min(rate, 1.0))
        draw.rectangle((left, y + 10, end, y + row - 10), fill=_INK)
        draw.text((end + 10, y + row / 2), f"{rate * 100:.1f}%", font=small, fill=_INK, anchor="lm")
    return _png(image)
