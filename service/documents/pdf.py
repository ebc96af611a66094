"""What every PDF document shares: the embedded CJK font, paragraph styles, signature rows.

reportlab's platypus lays the pages out; `wordWrap="CJK"` breaks Chinese lines between any
two characters (and keeps closing punctuation off a line's start).
"""

from __future__ import annotations

from functools import lru_cache

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

from service.core.errors import DomainError

GRID = colors.HexColor("#444444")


class DocumentFontMissing(DomainError):
    status, code = 500, "poster_font_missing"
    message = "服务器缺少中文字体，无法生成文书（请配置 QR_FONT_PATH）"
    message_en = "No CJK font for documents: install fonts-wqy-microhei or set QR_FONT_PATH"


@lru_cache(maxsize=8)
def font(path: str) -> str:
    """The CJK font at `path` registered with reportlab (a collection's first face)."""
    name = f"doc-{len(pdfmetrics.getRegisteredFontNames())}"
    try:
        pdfmetrics.registerFont(TTFont(name, path, subfontIndex=0))
    except Exception as exc:  # TTFError, OSError or a struct error on a broken file
        raise DocumentFontMissing() from exc
    return name


class Styles:
    """Paragraph styles of one document, in its font."""

    def __init__(self, font_name: str) -> None:
        base = ParagraphStyle("body", fontName=font_name, fontSize=11, leading=17)
        base.wordWrap = "CJK"
        self.body = base
        self.small = ParagraphStyle("small", parent=base, fontSize=9, leading=13)
        self.cell = ParagraphStyle("cell", parent=base, fontSize=10, leading=14)
        self.title = ParagraphStyle(
            "title", parent=base, fontSize=20, leading=28, alignment=TA_CENTER, spaceAfter=4
        )
        self.heading = ParagraphStyle(
            "heading", parent=base, fontSize=13, leading=20, spaceBefore=8, spaceAfter=4
        )
        self.centre = ParagraphStyle("centre", parent=base, alignment=TA_CENTER)
        self.right = ParagraphStyle("right", parent=base, alignment=TA_RIGHT)


def escape(text: object) -> str:
    """Text for a Paragraph: its markup characters escaped, line breaks kept."""
    value = "" if text is None else str(text)
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return value.replace("\n", "<br/>")
