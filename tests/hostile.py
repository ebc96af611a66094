"""Build a hostile-upload corpus in memory: each function returns the bytes of one file.

Reused by the image unit tests and the API tests, so every builder is small, pure
and named by what it makes. `CASES` lists the hostile files with the filename a
client would send and the HTTP status and error code the backend must answer.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Callable
from datetime import datetime
from functools import cache
from typing import NamedTuple

from PIL import Image, ImageCms, ImageDraw
from PIL.ExifTags import GPS, IFD, Base

# What jpeg_with_gps_and_orientation() embeds, so tests can assert the extraction.
GPS_LAT = 31.7186  # 常州市武进区, near 320412
GPS_LNG = 119.9469
CAPTURED_AT = datetime(2026, 5, 20, 9, 31, 7)


# --- normal photos --------------------------------------------------------------------


def _scene(width: int, height: int) -> Image.Image:
    """A deterministic, textured RGB picture (gradients + fractal), not trivially compressible."""
    size = (width, height)
    red = Image.linear_gradient("L").resize(size)
    green = Image.effect_mandelbrot(size, (-2.0, -1.2, 0.8, 1.2), 64)
    blue = Image.radial_gradient("L").resize(size)
    return Image.merge("RGB", (red, green, blue))


def _encode(im: Image.Image, fmt: str, **params: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **params)
    return buf.getvalue()


def plain_jpeg(
    width: int = 640, height: int = 480, *, quality: int = 90, mode: str = "RGB", **params: object
) -> bytes:
    """A metadata-free JPEG; `mode` may be "RGB", "L" or "CMYK"; extra save params pass through."""
    return _encode(_scene(width, height).convert(mode), "JPEG", quality=quality, **params)


def plain_png(width: int = 320, height: int = 240, *, mode: str = "RGBA") -> bytes:
    """A PNG in `mode` ("RGB", "L", "1", "I;16", or with alpha "RGBA", "LA", "P",
    where the left half is fully transparent)."""
    im = _scene(width, height)
    if mode in ("RGBA", "LA"):
        im = im.convert(mode)
        alpha = Image.new("L", im.size, 255)
        alpha.paste(0, (0, 0, width // 2, height))
        im.putalpha(alpha)
        return _encode(im, "PNG")
    if mode == "P":
        # Palette with index 0 declared transparent (a tRNS chunk), used on the left half.
        im = im.quantize(colors=16)
        im.paste(0, (0, 0, width // 2, height))
        return _encode(im, "PNG", transparency=0)
    if mode == "I;16":
        # 16-bit greyscale spans 0..65535.
        return _encode(im.convert("I").point(lambda value: value * 257).convert("I;16"), "PNG")
    return _encode(im.convert(mode), "PNG")


def plain_webp(
    width: int = 320, height: int = 240, *, alpha: bool = False, lossless: bool = False
) -> bytes:
    """A WebP, optionally with a transparent left half."""
    im = _scene(width, height)
    if alpha:
        im = im.convert("RGBA")
        im.paste((0, 0, 0, 0), (0, 0, width // 2, height))
    return _encode(im, "WEBP", quality=80, lossless=lossless)


def phone_exif(orientation: int = 6) -> Image.Exif:
    """EXIF as a phone writes it: make/model, Orientation, DateTimeOriginal and a GPS fix."""
    exif = Image.Exif()
    exif[Base.Make] = "HUAWEI"
    exif[Base.Model] = "ALN-AL00"
    exif[Base.Orientation] = orientation
    exif[Base.DateTime] = CAPTURED_AT.strftime("%Y:%m:%d %H:%M:%S")
    exif_ifd = exif.get_ifd(IFD.Exif)
    exif_ifd[Base.DateTimeOriginal] = CAPTURED_AT.strftime("%Y:%m:%d %H:%M:%S")
    gps = exif.get_ifd(IFD.GPSInfo)
    gps[GPS.GPSLatitudeRef] = "N"
    gps[GPS.GPSLatitude] = _dms(GPS_LAT)
    gps[GPS.GPSLongitudeRef] = "E"
    gps[GPS.GPSLongitude] = _dms(GPS_LNG)
    return exif


def _dms(degrees: float) -> tuple[float, float, float]:
    whole = int(degrees)
    minutes = int((degrees - whole) * 60)
    seconds = round((degrees - whole - minutes / 60) * 3600, 4)
    return (float(whole), float(minutes), seconds)


def jpeg_with_gps_and_orientation(width: int = 400, height: int = 200) -> bytes:
    """A JPEG stored `width`×`height` with EXIF Orientation=6, GPS, DateTimeOriginal,
    plus XMP, an ICC profile and a comment: everything the pipeline must strip.

    The stored left half is red and the right half blue, so once rotated for display
    (90° clockwise) red is on top.
    """
    im = Image.new("RGB", (width, height), (0, 0, 255))
    ImageDraw.Draw(im).rectangle((0, 0, width // 2 - 1, height - 1), fill=(255, 0, 0))
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    xmp = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
        b'xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude="31,43.116N"/>'
        b"</rdf:RDF></x:xmpmeta>"
    )
    return _encode(
        im,
        "JPEG",
        quality=90,
        exif=phone_exif(6),
        icc_profile=icc,
        xmp=xmp,
        comment=b"reporter phone 13800138000",
    )


# --- hostile files --------------------------------------------------------------------


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload)
    return len(payload).to_bytes(4, "big") + kind + payload + crc.to_bytes(4, "big")


@cache
def bomb_png(width: int = 30_000, height: int = 30_000) -> bytes:
    """A genuine all-black 1-bit PNG of width×height (a decompression bomb: by
    default 900 megapixels in ~110 KB).

    Built by hand, a block of rows at a time, so making it never holds a big image.
    """
    ihdr = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([1, 0, 0, 0, 0])
    row = bytes(1 + (width + 7) // 8)  # filter byte 0 + packed zero bits
    rows_per_block = max(1, (1 << 22) // len(row))
    block = row * rows_per_block
    deflate = zlib.compressobj(9)
    parts = []
    full_blocks, rest = divmod(height, rows_per_block)
    for _ in range(full_blocks):
        parts.append(deflate.compress(block))
    parts.append(deflate.compress(row * rest))
    parts.append(deflate.flush())
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", b"".join(parts))
        + _png_chunk(b"IEND", b"")
    )


def jpeg_markers(data: bytes) -> list[tuple[int, int]]:
    """(offset, marker) of every JPEG marker outside entropy-coded data, up to EOI."""
    found, pos = [], 2
    while pos + 1 < len(data):
        marker = data[pos + 1]
        found.append((pos, marker))
        if marker == 0xD9:
            break
        pos += 2 + int.from_bytes(data[pos + 2 : pos + 4], "big")
        if marker == 0xDA:
            # Skip the scan's data: up to the next 0xFF not followed by 0x00 or RSTn.
            while data[pos] != 0xFF or data[pos + 1] == 0x00 or 0xD0 <= data[pos + 1] <= 0xD7:
                pos += 1
    return found


def huge_header_jpeg(width: int = 50_000, height: int = 50_000) -> bytes:
    """A small valid JPEG whose SOF header is patched to claim width×height."""
    data = bytearray(plain_jpeg(64, 64))
    for pos, marker in jpeg_markers(bytes(data)):
        if marker in (0xC0, 0xC1, 0xC2):
            # SOF layout: FFCx, length(2), precision(1), height(2), width(2)
            data[pos + 5 : pos + 7] = height.to_bytes(2, "big")
            data[pos + 7 : pos + 9] = width.to_bytes(2, "big")
            return bytes(data)
    raise AssertionError("no SOF marker in generated JPEG")


def truncated_jpeg() -> bytes:
    """A JPEG cut in the middle of its compressed data: headers parse, decoding fails."""
    data = plain_jpeg(512, 384)
    sos = next(pos for pos, marker in jpeg_markers(data) if marker == 0xDA)
    return data[: sos + (len(data) - sos) // 2]


def truncated_png() -> bytes:
    """A PNG cut in the middle of its IDAT data."""
    data = plain_png(256, 256)
    return data[: len(data) // 2]


def jpeg_magic_garbage() -> bytes:
    """JPEG magic bytes followed by junk: sniffs as JPEG, is not one."""
    return b"\xff\xd8\xff\xe0" + b"<html>not really a photo</html>" * 20


def many_scans_jpeg(scans: int = 1_000) -> bytes:
    """A progressive JPEG with one scan repeated `scans` times (a CPU-exhaustion
    trick: each scan makes libjpeg walk the whole coefficient buffer again)."""
    data = plain_jpeg(256, 256, progressive=True)
    markers = jpeg_markers(data)
    # The smallest scan (SOS header + its data) keeps the file small.
    start, end = min(
        ((pos, markers[i + 1][0]) for i, (pos, marker) in enumerate(markers) if marker == 0xDA),
        key=lambda extent: extent[1] - extent[0],
    )
    eoi = markers[-1][0]
    return data[:eoi] + data[start:end] * scans + data[eoi:]


def svg_with_script() -> bytes:
    """An SVG that runs JavaScript when opened in a browser."""
    return (
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b'<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100">'
        b'<script type="text/javascript">alert(document.cookie)</script>'
        b'<rect width="100" height="100" fill="red"/></svg>\n'
    )


def html_as_jpg() -> bytes:
    """An HTML page with a script; API tests upload it as "photo.jpg" with image/jpeg."""
    return b"<!DOCTYPE html><html><body><script>fetch('/api/v1/users')</script></body></html>"


def pdf_file() -> bytes:
    """A minimal one-page PDF."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def eps_file() -> bytes:
    """An EPS file: Pillow could open it via Ghostscript, so it must never reach Pillow."""
    return b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n"


def gif_file() -> bytes:
    """A real GIF: a valid image, but not a type we accept."""
    return _encode(_scene(32, 32).convert("P"), "GIF")


def heic_file() -> bytes:
    """The start of an HEIC file (ftyp box, brand heic); not supported without a plugin."""
    return b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(64)


def empty_file() -> bytes:
    """Zero bytes."""
    return b""


def oversized(n_bytes: int) -> bytes:
    """A real JPEG padded with trailing zeros to exactly `n_bytes` (only its size is wrong)."""
    jpeg = plain_jpeg(16, 16)
    if n_bytes < len(jpeg):
        raise ValueError(f"n_bytes must be at least {len(jpeg)}")
    return jpeg + bytes(n_bytes - len(jpeg))


# --- the corpus -----------------------------------------------------------------------


class HostileCase(NamedTuple):
    """One hostile upload: what the client claims, what it is, and the expected answer."""

    name: str
    filename: str
    declared_type: str
    build: Callable[[], bytes]
    status: int
    code: str


UNSUPPORTED = (415, "unsupported_media_type")
IMAGE_TOO_LARGE = (413, "image_too_large")
FILE_TOO_LARGE = (413, "file_too_large")
CORRUPT = (422, "image_corrupt")
UPLOAD_CAP = 20 * 1024 * 1024  # the pipeline's default max_bytes


def oversized_upload() -> bytes:
    """One byte over the default 20 MiB upload cap."""
    return oversized(UPLOAD_CAP + 1)


def _case(
    build: Callable[[], bytes], filename: str, declared_type: str, expected: tuple[int, str]
) -> HostileCase:
    return HostileCase(build.__name__, filename, declared_type, build, *expected)


CASES: tuple[HostileCase, ...] = (
    _case(bomb_png, "photo.png", "image/png", IMAGE_TOO_LARGE),
    _case(huge_header_jpeg, "photo.jpg", "image/jpeg", IMAGE_TOO_LARGE),
    _case(truncated_jpeg, "photo.jpg", "image/jpeg", CORRUPT),
    _case(truncated_png, "photo.png", "image/png", CORRUPT),
    _case(jpeg_magic_garbage, "photo.jpg", "image/jpeg", CORRUPT),
    _case(many_scans_jpeg, "photo.jpg", "image/jpeg", CORRUPT),
    _case(empty_file, "photo.jpg", "image/jpeg", CORRUPT),
    _case(oversized_upload, "photo.jpg", "image/jpeg", FILE_TOO_LARGE),
    _case(svg_with_script, "photo.svg", "image/svg+xml", UNSUPPORTED),
    _case(html_as_jpg, "photo.jpg", "image/jpeg", UNSUPPORTED),
    _case(pdf_file, "photo.jpg", "image/jpeg", UNSUPPORTED),
    _case(eps_file, "photo.jpg", "image/jpeg", UNSUPPORTED),
    _case(gif_file, "photo.gif", "image/gif", UNSUPPORTED),
    _case(heic_file, "IMG_0001.HEIC", "image/heic", UNSUPPORTED),
)
