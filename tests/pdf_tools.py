"""Open the PDFs we make as a reader would: text with pypdf, pages rendered by poppler's
pdftoppm (installed by `make poppler`), QR codes read by an independent decoder."""

from __future__ import annotations

import io
import shutil
import subprocess
import tempfile
from pathlib import Path

import zxingcpp
from PIL import Image
from pypdf import PdfReader


def pdf_text(data: bytes) -> list[str]:
    """The extracted text of each page."""
    return [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]


def page_sizes_mm(data: bytes) -> list[tuple[int, int]]:
    """Each page's width and height, in whole millimetres."""
    return [
        (round(float(p.mediabox.width) / 72 * 25.4), round(float(p.mediabox.height) / 72 * 25.4))
        for p in PdfReader(io.BytesIO(data)).pages
    ]


def render_pages(data: bytes, dpi: int = 100) -> list[Image.Image]:
    """Every page as an RGB image, rendered by pdftoppm."""
    assert shutil.which("pdftoppm"), "pdftoppm missing: `make poppler` installs poppler-utils"
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "in.pdf"
        source.write_bytes(data)
        subprocess.run(
            ["pdftoppm", "-r", str(dpi), "-png", str(source), str(Path(folder) / "page")],
            check=True,
            capture_output=True,
            timeout=120,
        )
        pages = sorted(Path(folder).glob("page-*.png"), key=lambda p: int(p.stem.split("-")[1]))
        return [Image.open(p).convert("RGB") for p in pages]


def decode_qr(image: Image.Image) -> list[str]:
    """The texts of the QR codes zxing-cpp finds in the image."""
    found = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    return [b.text for b in found]
