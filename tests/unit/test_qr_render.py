import re
import xml.etree.ElementTree as ET
from io import BytesIO

import pytest
import zxingcpp
from PIL import Image, ImageDraw

from qr.render import render_png, render_svg

URL = "https://mashangcha.example.gov.cn/q/aB3dE5gH7jK9mN1pQ3sT5v"


def decode(image: Image.Image) -> list[zxingcpp.Barcode]:
    return zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)


def rasterize_svg(svg: bytes, scale: int = 8) -> Image.Image:
    """Draw an SVG made of rects and M/H/V/L/Z paths (what render_svg may emit) with Pillow."""
    ns = "{http://www.w3.org/2000/svg}"
    root = ET.fromstring(svg)
    _, _, width, height = (float(v) for v in root.attrib["viewBox"].split())
    image = Image.new("L", (round(width * scale), round(height * scale)), 128)
    draw = ImageDraw.Draw(image)

    def fill(element: ET.Element) -> int:
        return 255 if element.attrib.get("fill", "#000") in ("#fff", "#ffffff", "white") else 0

    for element in root.iter():
        if element.tag == f"{ns}rect":
            x, y = float(element.attrib.get("x", 0)), float(element.attrib.get("y", 0))
            w, h = float(element.attrib["width"]), float(element.attrib["height"])
            box = (x * scale, y * scale, (x + w) * scale - 1, (y + h) * scale - 1)
            draw.rectangle(box, fill=fill(element))
        elif element.tag == f"{ns}path":
            for polygon in _path_polygons(element.attrib["d"]):
                draw.polygon([(x * scale, y * scale) for x, y in polygon], fill=fill(element))
    return image


def _path_polygons(d: str) -> list[list[tuple[float, float]]]:
    polygons: list[list[tuple[float, float]]] = []
    x = y = 0.0
    tokens = re.findall(r"[MmHhVvLlZz]|-?\d*\.?\d+", d)
    command, i = "", 0
    while i < len(tokens):
        if tokens[i].isalpha():
            command, i = tokens[i], i + 1
            if command in "Zz":
                continue
        if command in "Mm":
            dx, dy = float(tokens[i]), float(tokens[i + 1])
            x, y = (x + dx, y + dy) if command == "m" else (dx, dy)
            polygons.append([(x, y)])
            i += 2
            command = "l" if command == "m" else "L"  # later pairs are implicit line-tos
        elif command in "Ll":
            dx, dy = float(tokens[i]), float(tokens[i + 1])
            x, y = (x + dx, y + dy) if command == "l" else (dx, dy)
            polygons[-1].append((x, y))
            i += 2
        elif command in "Hh":
            x = x + float(tokens[i]) if command == "h" else float(tokens[i])
            polygons[-1].append((x, y))
            i += 1
        elif command in "Vv":
            y = y + float(tokens[i]) if command == "v" else float(tokens[i])
            polygons[-1].append((x, y))
            i += 1
        else:
            raise AssertionError(f"unexpected path token {tokens[i]!r}")
    return polygons


def test_png_decodes_to_the_exact_url():
    (barcode,) = decode(Image.open(BytesIO(render_png(URL))))
    assert barcode.text == URL


def test_png_uses_error_correction_m_or_higher():
    (barcode,) = decode(Image.open(BytesIO(render_png(URL))))
    assert barcode.ec_level in ("M", "Q", "H")


def test_png_has_a_four_module_quiet_zone():
    image = Image.open(BytesIO(render_png(URL, box_size=10))).convert("L")
    quiet = 4 * 10
    assert image.crop((0, 0, image.width, quiet)).getextrema() == (255, 255)
    assert image.crop((0, 0, quiet, image.height)).getextrema() == (255, 255)
    assert image.getpixel((quiet, quiet)) == 0  # the finder pattern starts right after it


def test_png_bytes_are_deterministic():
    assert render_png(URL) == render_png(URL)
    assert render_png(URL) != render_png(URL + "x")


def test_png_box_size_scales_the_image():
    small = Image.open(BytesIO(render_png(URL, box_size=2)))
    large = Image.open(BytesIO(render_png(URL, box_size=10)))
    assert large.width == 5 * small.width


@pytest.mark.parametrize("box_size", [0, -1])
def test_png_rejects_a_box_size_below_one(box_size):
    with pytest.raises(ValueError):
        render_png(URL, box_size=box_size)


def test_svg_decodes_to_the_exact_url():
    svg = render_svg(URL)
    assert svg.startswith(b"<?xml")
    (barcode,) = decode(rasterize_svg(svg))
    assert barcode.text == URL


def test_svg_bytes_are_deterministic():
    assert render_svg(URL) == render_svg(URL)
