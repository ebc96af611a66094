"""Photo validation and sanitizing (照片校验与净化): bytes in, clean JPEGs out.

`process_image` sniffs the real type, enforces byte and pixel caps before decoding,
applies the EXIF orientation, and re-encodes a capped-size JPEG and a thumbnail that
carry no metadata at all (no EXIF/GPS, XMP, ICC, comments). Capture time and GPS are
returned separately so the server can keep them without publishing them. A refused file
raises one of the rejections below: domain errors that answer the client as they are.

Pure functions: no Flask, no I/O, no global Pillow settings are changed, so it is safe
to call from several threads at once.
"""

from __future__ import annotations

import hashlib
import io
import math
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from PIL import Image, ImageFile
from PIL.ExifTags import GPS, IFD, Base

from service.core.errors import DomainError

JPEG = "image/jpeg"
PNG = "image/png"
WEBP = "image/webp"

# Only the plugin of the sniffed type may parse the file: Pillow would otherwise try
# every format it knows, including EPS (Ghostscript) and other large attack surfaces.
_PIL_FORMATS: dict[str, tuple[str, ...]] = {JPEG: ("JPEG",), PNG: ("PNG",), WEBP: ("WEBP",)}
_OPENED_AS: dict[str, frozenset[str]] = {
    JPEG: frozenset({"JPEG", "MPO"}),  # MPO: phones' multi-picture JPEGs, first frame used
    PNG: frozenset({"PNG"}),
    WEBP: frozenset({"WEBP"}),
}

# libjpeg-turbo's documented guard against progressive JPEGs built from thousands of
# tiny scans, each of which walks the whole coefficient buffer (TJPARAM_SCANLIMIT).
# Real encoders write about 10.
MAX_PROGRESSIVE_SCANS = 100
# In entropy-coded data 0xFF is followed by 0x00 (stuffing) or RSTn; anything else is
# the next marker.
_NEXT_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")

_ORIENTATION = {  # EXIF Orientation -> transpose that displays it upright (as ImageOps)
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_WHITE = (255, 255, 255)
EARLIEST_CAPTURE = datetime(1900, 1, 1)  # no camera wrote an earlier time


class ImageRejected(DomainError):
    """An upload that is not an acceptable photo; subclasses name the reason."""

    status, code = 400, "image_rejected"
    message, message_en = "图片无法接受", "The image was rejected"


class UnsupportedImageType(ImageRejected):
    """Not a JPEG, PNG or WebP, whatever its name or declared type says."""

    status, code = 415, "unsupported_media_type"
    message = "仅支持 JPEG、PNG、WebP 格式的照片"
    message_en = "Only JPEG, PNG and WebP photos are accepted"


class ImageTooLarge(ImageRejected):
    """Too many pixels to decode safely (a decompression bomb or a giant image)."""

    status, code = 413, "image_too_large"
    message = "图片尺寸过大"
    message_en = "The image dimensions are too large"


class FileTooLarge(ImageRejected):
    """More bytes than the upload cap."""

    status, code = 413, "file_too_large"
    message = "文件过大"
    message_en = "The file is too large"


class ImageCorrupt(ImageRejected):
    """Empty, truncated or otherwise undecodable."""

    status, code = 422, "image_corrupt"
    message = "图片已损坏或不完整，无法读取"
    message_en = "The image is corrupt or incomplete"


@dataclass(frozen=True)
class ProcessedImage:
    """A sanitized photo, its thumbnail, and the capture metadata kept server-side."""

    content_type: str  # type sniffed from the uploaded bytes
    image: bytes  # JPEG, long side <= max_side, no metadata
    width: int
    height: int
    thumbnail: bytes  # JPEG, long side <= thumb_side, no metadata
    thumb_width: int
    thumb_height: int
    sha256: str  # hex digest of `image`
    thumb_sha256: str
    # EXIF DateTimeOriginal as written by the camera: naive, in the phone's local time
    # (EXIF has no zone unless OffsetTimeOriginal is present; we do not guess one).
    captured_at: datetime | None
    # (lat, lng) in decimal degrees as the camera wrote them, normally WGS-84 (note that
    # WeChat's location APIs usually answer in GCJ-02, offset by a few hundred metres).
    gps: tuple[float, float] | None


def sniff(data: bytes) -> str | None:
    """Return the image MIME type from the magic bytes alone, or None if not accepted."""
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return WEBP
    return None


def process_image(
    data: bytes,
    *,
    max_bytes: int = 20 * 1024 * 1024,
    max_pixels: int = 50_000_000,
    max_side: int = 2560,
    thumb_side: int = 480,
    quality: int = 85,
) -> ProcessedImage:
    """Validate an uploaded photo and return a stripped, re-encoded copy plus thumbnail.

    JPEGs are decoded at the smallest libjpeg scale (1, 1/2, 1/4, 1/8) that brings the
    long side within `max_side`, so a JPEG's output long side lands in
    (max_side/2, max_side]; other images are resampled to exactly `max_side`.
    Keep `max_pixels` at or below `PIL.Image.MAX_IMAGE_PIXELS` (89.5 M by default):
    Pillow's own global check runs first when a file is opened.
    """
    if not data:
        raise ImageCorrupt("文件为空", "The file is empty")
    if len(data) > max_bytes:
        cap = f"{max_bytes / (1024 * 1024):.3g} MB"
        raise FileTooLarge(f"文件过大（上限 {cap}）", f"The file is larger than {cap}")
    content_type = sniff(data)
    if content_type is None:
        raise UnsupportedImageType()
    if ImageFile.LOAD_TRUNCATED_IMAGES:
        # A process-wide Pillow switch we must not flip back for others; refuse loudly
        # rather than silently accept half-grey truncated evidence photos.
        raise RuntimeError("PIL.ImageFile.LOAD_TRUNCATED_IMAGES must be False")

    im = _open(data, content_type, max_pixels)
    if content_type == JPEG:
        if im.info.get("progressive") and _scan_count(data, MAX_PROGRESSIVE_SCANS) > (
            MAX_PROGRESSIVE_SCANS
        ):
            raise ImageCorrupt("JPEG 文件结构异常（扫描段过多）", "The JPEG has too many scans")
        _draft_for(im, max_side)  # before load(): libjpeg then decodes at reduced scale
    _decode(im)
    exif = _exif(im)
    captured_at, gps = _captured_at(exif), _gps(exif)

    picture = _fit(_to_rgb(im), max_side, Image.Resampling.LANCZOS, reducing_gap=3.0)
    method = _ORIENTATION.get(exif.get(Base.Orientation))
    if method is not None:
        # Rotating after downscaling touches far fewer pixels.
        picture = picture.transpose(method)
    # Thumbnail from the already reduced picture: a box reduce() by the whole factor,
    # then a small bicubic step; plenty for 480 px and half the cost of reducing_gap=2.
    thumb = _fit(picture, thumb_side, Image.Resampling.BICUBIC, reducing_gap=1.0)

    image_bytes = _encode_clean(picture, quality)
    thumb_bytes = image_bytes if thumb is picture else _encode_clean(thumb, quality)
    return ProcessedImage(
        content_type=content_type,
        image=image_bytes,
        width=picture.width,
        height=picture.height,
        thumbnail=thumb_bytes,
        thumb_width=thumb.width,
        thumb_height=thumb.height,
        sha256=hashlib.sha256(image_bytes).hexdigest(),
        thumb_sha256=hashlib.sha256(thumb_bytes).hexdigest(),
        captured_at=captured_at,
        gps=gps,
    )


def _open(data: bytes, content_type: str, max_pixels: int) -> ImageFile.ImageFile:
    """Parse the headers only (lazy open) and enforce the pixel cap before any decoding."""
    try:
        im = Image.open(io.BytesIO(data), formats=_PIL_FORMATS[content_type])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # Pillow's global cap fired first. The warning arrives as an exception when
        # warnings are errors (pytest); otherwise it is only logged and our own check
        # below rejects the file. We never touch the process-wide warning filters,
        # since warnings.catch_warnings() is not thread-safe.
        raise ImageTooLarge() from exc
    except Exception as exc:  # hostile bytes raise all sorts from plugin parsers
        raise ImageCorrupt() from exc
    if im.format not in _OPENED_AS[content_type]:
        raise ImageCorrupt()
    width, height = im.size
    if width < 1 or height < 1:
        raise ImageCorrupt()
    if width * height > max_pixels:
        raise ImageTooLarge(
            f"图片尺寸过大（{width}×{height}），像素上限 {max_pixels:,}",
            f"The image is {width}x{height}, over the {max_pixels:,} pixel limit",
        )
    return im


def _draft_for(im: ImageFile.ImageFile, max_side: int) -> None:
    """Ask libjpeg to decode at the smallest DCT scale that fits `max_side` (or 1/8)."""
    width, height = im.size
    scale = next((s for s in (1, 2, 4, 8) if max(width, height) <= max_side * s), 8)
    if scale > 1:
        # draft() picks the largest power-of-two scale keeping the result at least the
        # requested size, so request size // scale to get exactly `scale`.
        im.draft("RGB", (max(1, width // scale), max(1, height // scale)))


def _decode(im: ImageFile.ImageFile) -> None:
    """Decode the pixels; truncated or broken data becomes ImageCorrupt."""
    try:
        im.load()
    except Exception as exc:  # OSError for truncation, others from hostile data
        raise ImageCorrupt() from exc


def _scan_count(data: bytes, limit: int) -> int:
    """Count a JPEG's scans (SOS markers), stopping once past `limit`."""
    pos, scans, end = 2, 0, len(data) - 3
    while pos < end and scans <= limit:
        if data[pos] != 0xFF:
            break  # lost sync: leave the verdict to the decoder
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
        elif marker == 0xD9:  # EOI
            break
        elif 0xD0 <= marker <= 0xD7 or marker == 0x01:  # markers without a length
            pos += 2
        else:
            pos += 2 + int.from_bytes(data[pos + 2 : pos + 4], "big")
            if marker == 0xDA:
                scans += 1
                found = _NEXT_MARKER.search(data, pos)
                if found is None:
                    break
                pos = found.start()
    return scans


def _exif(im: Image.Image) -> Image.Exif:
    """The image's EXIF, or an empty one when it is missing or malformed."""
    try:
        return im.getexif()
    except Exception:  # broken metadata must not reject an otherwise fine photo
        return Image.Exif()


def _to_rgb(im: Image.Image) -> Image.Image:
    """Convert any mode to RGB, compositing transparency onto white."""
    if im.mode == "RGB":
        return im
    if im.mode in ("I", "F") or im.mode.startswith("I;16"):
        # 16-bit greyscale: scale to 8 bits instead of clipping everything to white.
        im = im.convert("I").point(lambda value: value * (1 / 256)).convert("L")
    if im.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in im.info:
        rgba = im.convert("RGBA")
        flat = Image.new("RGB", rgba.size, _WHITE)
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return im.convert("RGB")  # L, 1, P, CMYK (Pillow undoes Adobe's inverted CMYK), YCbCr


def _fit(
    im: Image.Image, side: int, resample: Image.Resampling, *, reducing_gap: float
) -> Image.Image:
    """Scale so the long side is at most `side`, keeping the aspect ratio."""
    width, height = im.size
    if max(width, height) <= side:
        return im
    ratio = side / max(width, height)
    size = (max(1, round(width * ratio)), max(1, round(height * ratio)))
    return im.resize(size, resample, reducing_gap=reducing_gap)


def _encode_clean(im: Image.Image, quality: int) -> bytes:
    """Encode as baseline JPEG with no metadata segments at all."""
    # Derived images inherit `info`; the JPEG encoder reads e.g. info["comment"] from it.
    im.info = {}
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=quality, subsampling="4:2:0")
    return buf.getvalue()


def _captured_at(exif: Image.Exif) -> datetime | None:
    """EXIF DateTimeOriginal as a naive datetime in the camera's local time."""
    try:
        value = exif.get_ifd(IFD.Exif).get(Base.DateTimeOriginal)
    except Exception:
        return None
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.strptime(value.strip("\x00 "), "%Y:%m:%d %H:%M:%S")
    except ValueError:  # "0000:00:00 00:00:00" and other placeholders
        return None
    # "0001:01:01 …" parses but is a placeholder too; dates are 1900–2999 everywhere else.
    return moment if EARLIEST_CAPTURE.year <= moment.year < 3000 else None


def _gps(exif: Image.Exif) -> tuple[float, float] | None:
    """(lat, lng) in decimal degrees from the GPS IFD, or None if absent or implausible."""
    try:
        gps = exif.get_ifd(IFD.GPSInfo)
        lat = _degrees(gps.get(GPS.GPSLatitude), gps.get(GPS.GPSLatitudeRef), "S")
        lng = _degrees(gps.get(GPS.GPSLongitude), gps.get(GPS.GPSLongitudeRef), "W")
    except Exception:
        return None
    if lat is None or lng is None or abs(lat) > 90 or abs(lng) > 180:
        return None
    if lat == 0 and lng == 0:  # phones write 0/0 when they had no fix
        return None
    return (round(lat, 7), round(lng, 7))


def _degrees(value: Any, ref: Any, negative_ref: str) -> float | None:
    """EXIF degrees/minutes/seconds (three rationals) to signed decimal degrees."""
    if not isinstance(value, tuple | list) or len(value) != 3:
        return None
    degrees, minutes, seconds = (float(part) for part in value)
    result = degrees + minutes / 60 + seconds / 3600
    if not math.isfinite(result):  # rationals with a zero denominator read as NaN
        return None
    if isinstance(ref, bytes):
        ref = ref.decode("ascii", "replace")
    if isinstance(ref, str) and ref.strip("\x00 ").upper() == negative_ref:
        result = -result
    return result
