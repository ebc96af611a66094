"""Vector posters: the text selectable in the embedded CJK font, the code decodable once
printed (rendered by pdftoppm), A4 and A5, the office's name and hotline on every page."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from pypdf import PdfReader

from qr import FontMissing, PosterFooter, PosterSpec, write_vector_posters_pdf
from tests.pdf_tools import decode_qr, page_sizes_mm, pdf_text, render_pages

FONT = Path(os.environ.get("QR_FONT_PATH", "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"))
FOOTER = PosterFooter(office_name="武进区应急管理局", hotline="0519-86661234")


def spec(n: int, **overrides) -> PosterSpec:
    values = {
        "url": f"https://mashangcha.test/q/Tok{n:03d}abcdefghijklmnopq",
        "enterprise_name": f"常州某某精细化工股份有限公司{n}",
        "point_name": "危险化学品仓库",
        "short_id": f"QR-{n:06d}",
    } | overrides
    return PosterSpec(**values)


def pdf(specs, **kwargs) -> bytes:
    out = io.BytesIO()
    write_vector_posters_pdf(specs, out, font_path=FONT, footer=FOOTER, **kwargs)
    return out.getvalue()


@pytest.mark.parametrize(("size", "mm"), [("A5", (148, 210)), ("A4", (210, 297))])
def test_each_page_prints_its_code_and_text_at_a5_and_a4(size, mm):
    specs = [spec(1), spec(2, point_name=None)]
    data = pdf(specs, size=size)
    assert page_sizes_mm(data) == [mm, mm]
    texts = pdf_text(data)
    for s, text in zip(specs, texts, strict=True):
        flat = text.replace("\n", "").replace(" ", "")
        for line in (
            s.enterprise_name,
            "扫码上报安全隐患",
            "可匿名，严格保密",
            "微信扫一扫/相机扫码",
        ):
            assert line in flat, (line, text)
        assert f"编号{s.short_id}" in flat
        assert "武进区应急管理局" in flat and "举报电话：0519-86661234" in flat
    assert "点位：危险化学品仓库" in texts[0] and "点位" not in texts[1]
    pages = render_pages(data, dpi=100)
    assert [decode_qr(page) for page in pages] == [[s.url] for s in specs]


def test_the_pages_are_vector_with_the_font_embedded():
    data = pdf([spec(1)])
    page = PdfReader(io.BytesIO(data)).pages[0]
    resources = page["/Resources"]
    assert "/XObject" not in resources  # no raster image: the code is drawn
    fonts = [f.get_object() for f in resources["/Font"].values()]
    # A TrueType font is simple (its own descriptor) or composite (its descendants').
    faces = [
        face.get_object() for font in fonts for face in (font.get("/DescendantFonts") or [font])
    ]
    descriptors = [face["/FontDescriptor"].get_object() for face in faces]
    assert descriptors and all("/FontFile2" in d for d in descriptors)  # embedded TrueType
    assert len(data) < 40_000


def test_a_long_name_still_leaves_a_scannable_code():
    long_name = "宁波某某某某化工新材料股份有限公司（北仑第二分厂）" * 4
    data = pdf([spec(7, enterprise_name=long_name)])
    assert "…" in pdf_text(data)[0]
    assert decode_qr(render_pages(data, dpi=100)[0]) == [spec(7).url]


def test_without_office_or_hotline_those_lines_are_left_out():
    out = io.BytesIO()
    write_vector_posters_pdf([spec(1)], out, font_path=FONT)
    text = pdf_text(out.getvalue())[0]
    assert "举报电话" not in text and "可匿名，严格保密" in text


def test_progress_counts_pages_and_an_empty_batch_is_refused():
    done: list[int] = []
    pdf([spec(1), spec(2), spec(3)], progress=done.append)
    assert done == [1, 2, 3]
    with pytest.raises(ValueError):
        pdf([])
    with pytest.raises(ValueError):
        pdf([spec(1)], size="Letter")


def test_a_missing_font_raises_font_missing(tmp_path):
    with pytest.raises(FontMissing):
        write_vector_posters_pdf([spec(1)], io.BytesIO(), font_path=tmp_path / "none.ttc")
