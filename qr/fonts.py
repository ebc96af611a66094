"""Fonts for posters: loading, caching, and refusing to draw tofu (□)."""

from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

# Characters every poster needs; a font without them cannot render Chinese at all.
_CJK_PROBE = "码上查扫隐患安全编号点位：…"
# A code point no font maps, so it always renders as the font's .notdef glyph.
_NOTDEF_PROBE = "\U0010fffd"
_PROBE_SIZE = 32


class FontMissing(RuntimeError):
    """The poster font is missing or cannot render the text (it would draw tofu)."""

    def __init__(self, path: str | Path, missing: str = "") -> None:
        self.path = str(path)
        self.missing = missing
        problem = (
            f"has no glyph for {missing!r}" if missing else "is missing or cannot render Chinese"
        )
        super().__init__(
            f"QR poster font {self.path!r} {problem}. Set QR_FONT_PATH to a font with "
            "Chinese glyphs, e.g. `apt-get install fonts-wqy-microhei` and "
            "QR_FONT_PATH=/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
        )


def load_font(path: str | Path, size: int) -> ImageFont.FreeTypeFont:
    """Return the font at `path` in `size` px, checked for Chinese glyphs and cached."""
    path = str(path)
    _checked_font(path)
    return _font(path, size)


def ensure_glyphs(path: str | Path, text: str) -> None:
    """Raise FontMissing if the font would draw any character of `text` as tofu."""
    path = str(path)
    _checked_font(path)
    missing = "".join(
        ch for ch in dict.fromkeys(text) if not ch.isspace() and not _has_glyph(path, ch)
    )
    if missing:
        raise FontMissing(path, missing)


@lru_cache(maxsize=64)
def _font(path: str, size: int) -> ImageFont.FreeTypeFont:
    # BASIC layout: Chinese needs no shaping, and it skips raqm's per-call overhead.
    try:
        return ImageFont.truetype(path, size, layout_engine=ImageFont.Layout.BASIC)
    except OSError as exc:
        raise FontMissing(path) from exc


@lru_cache(maxsize=8)
def _checked_font(path: str) -> None:
    # lru_cache does not keep exceptions, so a font fixed on disk is picked up next call.
    if not all(_has_glyph(path, ch) for ch in _CJK_PROBE):
        raise FontMissing(path)


@lru_cache(maxsize=8192)
def _has_glyph(path: str, ch: str) -> bool:
    return _render_glyph(path, ch) != _notdef_bitmap(path)


@lru_cache(maxsize=8)
def _notdef_bitmap(path: str) -> bytes:
    return _render_glyph(path, _NOTDEF_PROBE)


def _render_glyph(path: str, ch: str) -> bytes:
    # Pillow has no "has glyph" query, so compare the rendering with the .notdef box.
    font = _font(path, _PROBE_SIZE)
    canvas = Image.new("L", (_PROBE_SIZE * 2, _PROBE_SIZE * 2))
    ImageDraw.Draw(canvas).text((0, 0), ch, font=font, fill=255)
    return canvas.tobytes()
