"""The photo pipeline: hostile files are refused, good photos come out clean."""

from __future__ import annotations

import hashlib
import io
import warnings
from datetime import datetime

import pytest
from PIL import Image, ImageFile
from PIL.ExifTags import GPS, IFD, Base
from PIL.TiffImagePlugin import IFDRational

from service.core.errors import DomainError
from service.media.images import (
    FileTooLarge,
    ImageCorrupt,
    ImageRejected,
    ImageTooLarge,
    ProcessedImage,
    UnsupportedImageType,
    process_image,
    sniff,
)
from tests import hostile

EXCEPTION_FOR_CODE = {
    "unsupported_media_type": UnsupportedImageType,
    "image_too_large": ImageTooLarge,
    "file_too_large": FileTooLarge,
    "image_corrupt": ImageCorrupt,
}
# What a clean JPEG may contain: SOI is implicit; APP0 (JFIF), DQT, SOF0, DHT, SOS, EOI.
CLEAN_MARKERS = {0xE0, 0xDB, 0xC0, 0xC4, 0xDA, 0xD9}
JFIF_INFO_KEYS = {"jfif", "jfif_version", "jfif_unit", "jfif_density"}


def _open(data: bytes) -> Image.Image:
    im = Image.open(io.BytesIO(data))
    im.load()
    return im


def _assert_no_metadata(jpeg: bytes) -> None:
    im = _open(jpeg)
    assert im.format == "JPEG"
    assert set(im.info) <= JFIF_INFO_KEYS
    assert not im.getexif()
    assert {marker for _, marker in hostile.jpeg_markers(jpeg)} <= CLEAN_MARKERS


def _jpeg_with_exif(exif: Image.Exif, size: tuple[int, int] = (64, 48)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (90, 120, 150)).save(buf, "JPEG", exif=exif)
    return buf.getvalue()


def _is_white(pixel: tuple[int, ...]) -> bool:
    return all(channel >= 250 for channel in pixel)


# --- hostile files --------------------------------------------------------------------


@pytest.mark.parametrize("case", hostile.CASES, ids=lambda case: case.name)
def test_hostile_upload_is_rejected_with_its_status(case: hostile.HostileCase) -> None:
    with pytest.raises(ImageRejected) as caught:
        process_image(case.build())
    assert type(caught.value) is EXCEPTION_FOR_CODE[case.code]
    assert (caught.value.status, caught.value.code) == (case.status, case.code)
    assert caught.value.message and caught.value.message_en


def test_empty_file_says_so() -> None:
    with pytest.raises(ImageCorrupt) as caught:
        process_image(hostile.empty_file())
    assert caught.value.message == "文件为空"
    assert str(caught.value) == caught.value.message_en == "The file is empty"


def test_rejections_carry_chinese_and_english_messages() -> None:
    error = UnsupportedImageType()
    assert (error.status, error.code) == (415, "unsupported_media_type")
    assert "JPEG" in error.message and "仅支持" in error.message
    assert str(error) == error.message_en


def test_rejections_are_the_domain_errors_the_api_answers_with() -> None:
    # One definition each: nothing maps them to other classes on their way to the client.
    for rejection in (ImageRejected, *EXCEPTION_FOR_CODE.values()):
        assert issubclass(rejection, DomainError)
    error = FileTooLarge()
    assert (error.errors, error.headers) == ({}, {})


def test_size_cap_is_inclusive() -> None:
    data = hostile.oversized(4_000)
    assert process_image(data, max_bytes=4_000).content_type == "image/jpeg"
    with pytest.raises(FileTooLarge):
        process_image(data, max_bytes=3_999)


def test_pixel_cap_is_enforced_before_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    def must_not_decode(self: ImageFile.ImageFile) -> None:
        raise AssertionError("decoded an image over the pixel cap")

    monkeypatch.setattr(ImageFile.ImageFile, "load", must_not_decode)
    with pytest.raises(ImageTooLarge) as caught:
        process_image(hostile.bomb_png(4_000, 4_000), max_pixels=1_000_000)
    assert "4000×4000" in caught.value.message


@pytest.mark.parametrize("action", ["error", "ignore"])
def test_bomb_between_pillow_warning_and_error_limits_is_rejected(action: str) -> None:
    # 100 MP: Pillow only warns (89.5 M < 100 M < 179 M); the outcome must not depend on
    # whether warnings are errors (pytest) or just logged (production).
    bomb = hostile.bomb_png(10_000, 10_000)
    with warnings.catch_warnings():
        warnings.simplefilter(action, Image.DecompressionBombWarning)
        with pytest.raises(ImageTooLarge):
            process_image(bomb)


def test_bomb_builder_makes_a_genuine_png() -> None:
    im = _open(hostile.bomb_png(100, 60))
    assert (im.format, im.mode, im.size) == ("PNG", "1", (100, 60))
    assert im.getextrema() == (0, 0)


def test_truncated_images_switch_must_stay_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    with pytest.raises(RuntimeError, match="LOAD_TRUNCATED_IMAGES"):
        process_image(hostile.truncated_jpeg())


def test_progressive_jpeg_with_a_normal_scan_count_is_accepted() -> None:
    result = process_image(hostile.plain_jpeg(320, 240, progressive=True))
    assert (result.width, result.height) == (320, 240)


# --- sniffing -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (hostile.plain_jpeg(8, 8), "image/jpeg"),
        (hostile.plain_png(8, 8), "image/png"),
        (hostile.plain_webp(8, 8), "image/webp"),
        (hostile.svg_with_script(), None),
        (hostile.html_as_jpg(), None),
        (hostile.pdf_file(), None),
        (hostile.gif_file(), None),
        (hostile.heic_file(), None),
        (b"RIFF\x00\x00\x00\x00WAVE", None),
        (b"", None),
    ],
    ids=["jpeg", "png", "webp", "svg", "html", "pdf", "gif", "heic", "wav", "empty"],
)
def test_sniff_reads_magic_bytes(data: bytes, expected: str | None) -> None:
    assert sniff(data) == expected


def test_type_comes_from_bytes_not_the_filename() -> None:
    # A PNG a client calls "photo.jpg" is a PNG; HTML called "photo.jpg" is refused.
    assert process_image(hostile.plain_png(32, 32)).content_type == "image/png"
    html = next(case for case in hostile.CASES if case.name == "html_as_jpg")
    assert html.filename.endswith(".jpg")
    with pytest.raises(UnsupportedImageType):
        process_image(html.build())


# --- orientation and metadata ---------------------------------------------------------


def test_phone_photo_is_rotated_stripped_and_its_metadata_extracted() -> None:
    result = process_image(hostile.jpeg_with_gps_and_orientation(400, 200))

    assert result.content_type == "image/jpeg"
    assert (result.width, result.height) == (200, 400)
    im = _open(result.image)
    assert im.size == (200, 400)
    red, blue = im.getpixel((100, 50)), im.getpixel((100, 350))
    assert red[0] > 200 and red[2] < 50, red  # the stored left half is now on top
    assert blue[2] > 200 and blue[0] < 50, blue
    _assert_no_metadata(result.image)
    _assert_no_metadata(result.thumbnail)
    assert b"13800138000" not in result.image + result.thumbnail  # the COM comment
    assert result.captured_at == hostile.CAPTURED_AT
    assert result.gps == pytest.approx((hostile.GPS_LAT, hostile.GPS_LNG), abs=1e-6)


@pytest.mark.parametrize(
    ("orientation", "size"),
    [(orientation, (40, 20)) for orientation in (1, 2, 3, 4)]
    + [(orientation, (20, 40)) for orientation in (5, 6, 7, 8)],  # 5-8 swap the axes
)
def test_every_exif_orientation_is_applied(orientation: int, size: tuple[int, int]) -> None:
    result = process_image(_jpeg_with_exif(hostile.phone_exif(orientation), (40, 20)))
    assert (result.width, result.height) == size


def test_photo_without_exif_has_no_capture_metadata() -> None:
    result = process_image(hostile.plain_jpeg(64, 48))
    assert (result.captured_at, result.gps) == (None, None)


def test_southern_and_western_coordinates_are_negative() -> None:
    exif = hostile.phone_exif(1)
    gps = exif.get_ifd(IFD.GPSInfo)
    gps[GPS.GPSLatitudeRef], gps[GPS.GPSLongitudeRef] = "S", "W"
    assert process_image(_jpeg_with_exif(exif)).gps == pytest.approx(
        (-hostile.GPS_LAT, -hostile.GPS_LNG), abs=1e-6
    )


@pytest.mark.parametrize(
    "latitude",
    [(0.0, 0.0, 0.0), (91.0, 0.0, 0.0), (31.0,), (IFDRational(31, 0), 0.0, 0.0)],
    ids=["null-island", "out-of-range", "not-three-rationals", "zero-denominator"],
)
def test_implausible_gps_is_dropped(latitude: tuple[object, ...]) -> None:
    exif = hostile.phone_exif(1)
    gps = exif.get_ifd(IFD.GPSInfo)
    gps[GPS.GPSLatitude] = latitude
    if latitude == (0.0, 0.0, 0.0):
        gps[GPS.GPSLongitude] = (0.0, 0.0, 0.0)
    assert process_image(_jpeg_with_exif(exif)).gps is None


@pytest.mark.parametrize(
    "placeholder", ["0000:00:00 00:00:00", "0001:01:01 00:00:00", "1899:12:31 23:59:59"]
)
def test_placeholder_capture_time_is_dropped(placeholder: str) -> None:
    exif = hostile.phone_exif(1)
    exif.get_ifd(IFD.Exif)[Base.DateTimeOriginal] = placeholder
    assert process_image(_jpeg_with_exif(exif)).captured_at is None


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data")
def test_broken_exif_does_not_reject_the_photo() -> None:
    # With warnings as errors Pillow's own open() fails on this; production only logs it.
    broken = b"Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08\x00\x05\x01\x12\x00\x03\x00\x00"
    buf = io.BytesIO()
    Image.new("RGB", (32, 32), (1, 2, 3)).save(buf, "JPEG", exif=broken)
    result = process_image(buf.getvalue())
    assert (result.width, result.captured_at, result.gps) == (32, None, None)


# --- sizes ----------------------------------------------------------------------------


def test_long_side_is_capped_at_2560_and_thumbnail_at_480() -> None:
    result = process_image(hostile.plain_png(3000, 1200, mode="RGB"))
    assert (result.width, result.height) == (2560, 1024)
    assert (result.thumb_width, result.thumb_height) == (480, 192)
    assert _open(result.image).size == (2560, 1024)
    assert _open(result.thumbnail).size == (480, 192)


def test_large_jpeg_is_decoded_at_a_reduced_dct_scale() -> None:
    # 1200 px with a 500 px cap: 1/2 scale gives 600 (too big), 1/4 gives 300. A resample
    # would have produced exactly 500, so 300 proves libjpeg did the scaling.
    result = process_image(hostile.plain_jpeg(1200, 900), max_side=500, thumb_side=100)
    assert (result.width, result.height) == (300, 225)
    assert (result.thumb_width, result.thumb_height) == (100, 75)


def test_jpeg_beyond_an_eighth_is_resampled_after_the_draft() -> None:
    result = process_image(hostile.plain_jpeg(2000, 200), max_side=100, thumb_side=50)
    assert (result.width, result.height) == (100, 10)
    assert (result.thumb_width, result.thumb_height) == (50, 5)


def test_small_photo_keeps_its_size_and_is_its_own_thumbnail() -> None:
    result = process_image(hostile.plain_jpeg(300, 200))
    assert (result.width, result.height) == (result.thumb_width, result.thumb_height) == (300, 200)
    assert result.thumbnail == result.image and result.thumb_sha256 == result.sha256


# --- modes and formats ----------------------------------------------------------------


@pytest.mark.parametrize("mode", ["RGBA", "LA", "P"])
def test_transparent_png_is_flattened_on_white(mode: str) -> None:
    result = process_image(hostile.plain_png(320, 240, mode=mode))
    im = _open(result.image)
    assert (im.format, im.mode) == ("JPEG", "RGB")
    assert _is_white(im.getpixel((40, 120)))  # transparent left half
    assert not _is_white(im.getpixel((300, 200)))


@pytest.mark.parametrize("alpha", [False, True])
def test_webp_is_accepted_and_becomes_jpeg(alpha: bool) -> None:
    result = process_image(hostile.plain_webp(320, 240, alpha=alpha))
    assert result.content_type == "image/webp"
    im = _open(result.image)
    assert (im.format, im.mode, im.size) == ("JPEG", "RGB", (320, 240))
    assert _is_white(im.getpixel((40, 120))) is alpha
    _assert_no_metadata(result.image)


@pytest.mark.parametrize(
    "data",
    [
        hostile.plain_jpeg(64, 48, mode="CMYK"),
        hostile.plain_jpeg(64, 48, mode="L"),
        hostile.plain_png(64, 48, mode="1"),
        hostile.plain_png(64, 48, mode="I;16"),
    ],
    ids=["cmyk-jpeg", "grey-jpeg", "1-bit-png", "16-bit-png"],
)
def test_other_modes_become_rgb_jpeg(data: bytes) -> None:
    im = _open(process_image(data).image)
    assert (im.format, im.mode, im.size) == ("JPEG", "RGB", (64, 48))


def test_sixteen_bit_png_is_scaled_not_clipped() -> None:
    grey8 = _open(process_image(hostile.plain_png(64, 48, mode="L")).image)
    grey16 = _open(process_image(hostile.plain_png(64, 48, mode="I;16")).image)
    assert grey16.getpixel((5, 5)) == pytest.approx(grey8.getpixel((5, 5)), abs=3)


# --- output ---------------------------------------------------------------------------


def test_same_input_gives_the_same_bytes_and_hashes() -> None:
    data = hostile.jpeg_with_gps_and_orientation(640, 480)
    first, second = process_image(data), process_image(data)
    assert first == second
    assert first.sha256 == hashlib.sha256(first.image).hexdigest()
    assert first.thumb_sha256 == hashlib.sha256(first.thumbnail).hexdigest()


def test_result_is_an_immutable_record() -> None:
    result = process_image(hostile.plain_jpeg(32, 32))
    assert isinstance(result, ProcessedImage)
    assert isinstance(result.captured_at, datetime | None)
    with pytest.raises(AttributeError):
        result.width = 1  # type: ignore[misc]
