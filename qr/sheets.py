"""Batch PDF of posters (张贴码合集): one A5 page per poster, written page by page."""

import zlib
from collections.abc import Callable, Iterable, Iterator
from itertools import chain
from pathlib import Path
from typing import BinaryIO

from PIL import Image

from qr.fonts import load_font
from qr.poster import PAGE_SIZE_PT, PosterSpec, poster_image

Progress = Callable[[int], None]

# Pages are 1-bit: the code is black and white anyway, the text stays crisp at ~213 dpi,
# and a page compresses to ~15 kB instead of ~150 kB as greyscale JPEG.
_THRESHOLD = [0] * 128 + [255] * 128
_ZLIB_LEVEL = 3  # as small as level 6 within 10 %, at half the time
_HEADER = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"
_CATALOG, _PAGES, _FIRST_PAGE_OBJECT = 1, 2, 3


def posters_pdf(
    posters: Iterable[PosterSpec], *, font_path: str | Path, progress: Progress | None = None
) -> bytes:
    """Return a multipage PDF with one poster per page."""
    return b"".join(iter_posters_pdf(posters, font_path=font_path, progress=progress))


def write_posters_pdf(
    posters: Iterable[PosterSpec],
    out: BinaryIO,
    *,
    font_path: str | Path,
    progress: Progress | None = None,
) -> int:
    """Write a multipage PDF with one poster per page to `out`; return the page count."""
    pages = 0

    def count(done: int) -> None:
        nonlocal pages
        pages = done
        if progress is not None:
            progress(done)

    for chunk in iter_posters_pdf(posters, font_path=font_path, progress=count):
        out.write(chunk)
    return pages


def iter_posters_pdf(
    posters: Iterable[PosterSpec], *, font_path: str | Path, progress: Progress | None = None
) -> Iterator[bytes]:
    """Yield a multipage PDF chunk by chunk, rendering one poster per page as it goes.

    Only one poster image is alive at a time, so memory stays flat for any batch size.
    Font and emptiness are checked before the first chunk, so a streamed HTTP response
    fails before it starts rather than halfway through.
    """
    load_font(font_path, 48)
    posters = iter(posters)
    first = next(posters, None)
    if first is None:
        raise ValueError("a poster PDF needs at least one poster")
    return _chunks(chain([first], posters), font_path, progress)


def _chunks(
    posters: Iterator[PosterSpec], font_path: str | Path, progress: Progress | None
) -> Iterator[bytes]:
    offsets: dict[int, int] = {}  # object number -> byte offset, for the xref table
    position = 0

    def emit(number: int, body: bytes, stream: bytes | None = None) -> bytes:
        nonlocal position
        offsets[number] = position
        chunk = b"%d 0 obj\n%s\n" % (number, body)
        if stream is not None:
            chunk += b"stream\n%s\nendstream\n" % stream
        chunk += b"endobj\n"
        position += len(chunk)
        return chunk

    position = len(_HEADER)
    yield _HEADER
    yield emit(_CATALOG, b"<< /Type /Catalog /Pages %d 0 R >>" % _PAGES)

    width_pt, height_pt = (b"%.2f" % v for v in PAGE_SIZE_PT)
    page_numbers = []
    for index, spec in enumerate(posters):
        image_number = _FIRST_PAGE_OBJECT + 3 * index
        content_number, page_number = image_number + 1, image_number + 2
        width, height, data = _page_image(poster_image(spec, font_path=font_path))
        yield emit(
            image_number,
            b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray"
            b" /BitsPerComponent 1 /Filter /FlateDecode /Length %d >>" % (width, height, len(data)),
            data,
        )
        content = b"q %s 0 0 %s 0 0 cm /Im0 Do Q" % (width_pt, height_pt)
        yield emit(content_number, b"<< /Length %d >>" % len(content), content)
        yield emit(
            page_number,
            b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 %s %s] /Resources"
            b" << /XObject << /Im0 %d 0 R >> >> /Contents %d 0 R >>"
            % (_PAGES, width_pt, height_pt, image_number, content_number),
        )
        page_numbers.append(page_number)
        if progress is not None:
            progress(index + 1)

    # The page tree comes last because its kids are only known now; PDF allows that.
    kids = b" ".join(b"%d 0 R" % n for n in page_numbers)
    yield emit(_PAGES, b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, len(page_numbers)))

    size = max(offsets) + 1
    xref = [b"xref\n0 %d\n0000000000 65535 f \n" % size]
    xref += [b"%010d 00000 n \n" % offsets[n] for n in range(1, size)]
    yield b"".join(xref) + b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        size,
        _CATALOG,
        position,
    )


def _page_image(image: Image.Image) -> tuple[int, int, bytes]:
    # Mode "1" packs white as 1, which is exactly 1-bit DeviceGray (0 = black): no Decode.
    bits = image.point(_THRESHOLD, "1").tobytes()
    return image.width, image.height, zlib.compress(bits, _ZLIB_LEVEL)
