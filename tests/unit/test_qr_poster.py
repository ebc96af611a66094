import os
from io import BytesIO
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image

from qr import (
    FontMissing,
    PosterSpec,
    poster_image,
    render_poster,
)

FONT = Path(os.environ.get("QR_FONT_PATH", "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"))
LATIN_ONLY_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
URL = "https://mashangcha.example.gov.cn/q/aB3dE5gH7jK9mN1pQ3sT5v"


@pytest.fixture(autouse=True, scope="module")
def _cjk_font_present():
    # `make test` installs the font; its absence is a broken setup, not a reason to skip.
    assert FONT.exists(), f"missing {FONT}: apt-get install fonts-wqy-microhei or set QR_FONT_PATH"


def decode(image: Image.Image) -> list[str]:
    return [
        barcode.text
        for barcode in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    ]


def spec(number: int = 1, **overrides) -> PosterSpec:
    values = {
        "url": f"{URL}{number}",
        "enterprise_name": f"宁波某某化工新材料股份有限公司{number}",
        "point_name": "一号车间",
        "short_id": f"QR-{number:06d}",
    }
    return PosterSpec(**(values | overrides))


def poster(**overrides) -> bytes:
    values = {
        "url": URL,
        "enterprise_name": "某某市安全生产科技有限公司",
        "point_name": "危险化学品仓库",
        "short_id": "QR-000123",
        "font_path": FONT,
    }
    return render_poster(**(values | overrides))


def test_poster_decodes_to_the_exact_url():
    image = Image.open(BytesIO(poster()))
    assert image.format == "PNG"
    assert image.size == (1240, 1760)
    assert decode(image) == [URL]


@pytest.mark.parametrize(
    ("enterprise_name", "point_name"),
    [
        ("宁波某某某某某某化工新材料股份有限公司（北仑第二分厂）", "危险化学品仓库A区"),
        ("Acme 精密机械制造有限公司 Suzhou Branch Office Limited Partnership", None),
        ("超长名称" * 40, "仓库" * 40),
        ("短", None),
    ],
)
def test_any_name_length_leaves_a_scannable_code(enterprise_name, point_name):
    image = poster_image(
        spec(enterprise_name=enterprise_name, point_name=point_name), font_path=FONT
    )
    assert decode(image) == [f"{URL}1"]


def test_poster_bytes_are_deterministic():
    assert poster() == poster()


def test_a_missing_font_raises_font_missing_naming_the_setting(tmp_path):
    missing = tmp_path / "no-such-font.ttc"
    with pytest.raises(FontMissing) as raised:
        poster(font_path=missing)
    assert isinstance(raised.value, RuntimeError)
    message = str(raised.value)
    assert str(missing) in message
    assert "QR_FONT_PATH" in message
    assert "apt-get install fonts-wqy-microhei" in message


def test_a_file_that_is_not_a_font_raises_font_missing(tmp_path):
    junk = tmp_path / "font.ttc"
    junk.write_bytes(b"not a font")
    with pytest.raises(FontMissing):
        poster(font_path=junk)


@pytest.mark.skipif(not LATIN_ONLY_FONT.exists(), reason=f"needs {LATIN_ONLY_FONT}")
def test_a_font_without_chinese_raises_font_missing_instead_of_drawing_tofu():
    with pytest.raises(FontMissing, match="cannot render Chinese") as raised:
        poster(font_path=LATIN_ONLY_FONT)
    assert "QR_FONT_PATH" in str(raised.value)


def test_a_character_the_font_lacks_raises_font_missing():
    # U+20000 (CJK Extension B) is not in WenQuanYi Micro Hei: refuse rather than print □.
    with pytest.raises(FontMissing) as raised:
        poster(enterprise_name="\U00020000记五金厂")
    assert raised.value.missing == "\U00020000"


def test_an_empty_enterprise_name_is_rejected():
    with pytest.raises(ValueError):
        poster(enterprise_name=" \u200b ")
