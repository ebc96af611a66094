"""QR code rendering: PNG and SVG of a payload, byte-for-byte deterministic."""

from io import BytesIO

import qrcode
from PIL import Image
from qrcode.constants import ERROR_CORRECT_Q

# Q (25 % recovery) rather than the minimum M: posters hang in dusty, greasy workshops.
ERROR_CORRECTION = ERROR_CORRECT_Q
QUIET_ZONE = 4  # modules of white around the code, as ISO/IEC 18004 requires


def qr_matrix(data: str, *, border: int = QUIET_ZONE) -> list[list[bool]]:
    """Return the module matrix for `data` (True = dark), quiet zone included."""
    if border < 0:
        raise ValueError("border must not be negative")
    code = qrcode.QRCode(error_correction=ERROR_CORRECTION, border=border)
    code.add_data(data)
    code.make(fit=True)
    return code.get_matrix()


def qr_image(data: str, *, box_size: int = 10, border: int = QUIET_ZONE) -> Image.Image:
    """Return the QR code for `data` as a 1-bit image, `box_size` px per module."""
    return matrix_image(qr_matrix(data, border=border), box_size)


def matrix_image(matrix: list[list[bool]], box_size: int) -> Image.Image:
    """Scale a module matrix to a 1-bit image with square `box_size` px modules."""
    if box_size < 1:
        raise ValueError("box_size must be at least 1")
    n = len(matrix)
    # One pixel per module, then a nearest-neighbour upscale: far faster than drawing boxes.
    pixels = bytes(0 if dark else 255 for row in matrix for dark in row)
    small = Image.frombytes("L", (n, n), pixels).convert("1", dither=Image.Dither.NONE)
    return small.resize((n * box_size, n * box_size), Image.Resampling.NEAREST)


def render_png(data: str, *, box_size: int = 10, border: int = QUIET_ZONE) -> bytes:
    """Render `data` as a 1-bit PNG QR code."""
    out = BytesIO()
    qr_image(data, box_size=box_size, border=border).save(out, "PNG")
    return out.getvalue()


def render_svg(data: str, *, border: int = QUIET_ZONE) -> bytes:
    """Render `data` as an SVG QR code: one path in module units on a white square."""
    matrix = qr_matrix(data, border=border)
    n = len(matrix)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {n} {n}" '
        f'width="{n * 10}" height="{n * 10}" shape-rendering="crispEdges">'
        f'<rect width="{n}" height="{n}" fill="#fff"/>'
        f'<path fill="#000" d="{_svg_path(matrix)}"/></svg>\n'
    ).encode()


def _svg_path(matrix: list[list[bool]]) -> str:
    # One rectangle per horizontal run of dark modules keeps the path short.
    parts = []
    for y, row in enumerate(matrix):
        x, n = 0, len(row)
        while x < n:
            if not row[x]:
                x += 1
                continue
            start = x
            while x < n and row[x]:
                x += 1
            parts.append(f"M{start} {y}h{x - start}v1h-{x - start}z")
    return "".join(parts)
