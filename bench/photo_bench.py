"""Photo pipeline benchmark: `process_image` on a 12 MP phone JPEG vs Pillow's floor.

The baseline is the least work Pillow needs for the same output: a draft-mode decode
to the same scale plus the same two JPEG encodes (a premade thumbnail-sized image
stands in for the thumbnail, so no resampling is timed). Target: ratio <= 1.25.

    .venv/bin/python bench/photo_bench.py [--iterations 15]
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

# Run as a script from the repository root or anywhere else.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PIL import Image

from service.media.images import process_image
from tests.hostile import phone_exif

TARGET_RATIO = 1.25
WIDTH, HEIGHT = 4032, 3024  # 12 MP, the common phone sensor output
QUALITY = 85


def phone_jpeg() -> bytes:
    """A ~5 MB 12 MP JPEG at phone-like quality, with texture and fine sensor-like noise,
    and phone EXIF (Orientation=6, GPS, capture time)."""
    size = (WIDTH, HEIGHT)
    gradient = Image.linear_gradient("L").resize(size)
    channels = []
    for index in range(3):
        texture = Image.effect_noise((WIDTH // 8, HEIGHT // 8), 60).resize(
            size, Image.Resampling.BICUBIC
        )
        grain = Image.effect_noise(size, 32)
        shade = gradient if index != 1 else gradient.transpose(Image.Transpose.FLIP_TOP_BOTTOM)
        channels.append(Image.blend(Image.blend(texture, grain, 0.5), shade, 0.4))
    buf = io.BytesIO()
    Image.merge("RGB", channels).save(buf, "JPEG", quality=92, exif=phone_exif(6))
    return buf.getvalue()


def _encode(im: Image.Image) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=QUALITY, subsampling="4:2:0")
    return buf.getvalue()


def baseline(data: bytes, draft_size: tuple[int, int], thumb: Image.Image) -> None:
    """Pillow's floor: draft-mode decode to the pipeline's scale + the same two encodes."""
    im = Image.open(io.BytesIO(data))
    im.draft("RGB", draft_size)
    im.load()
    _encode(im)
    _encode(thumb)


def naive_decode(data: bytes) -> None:
    """Context: a full-resolution decode, no draft."""
    Image.open(io.BytesIO(data)).load()


def exact_2560(data: bytes) -> None:
    """Context: what an output of exactly 2560 px would cost (full decode + LANCZOS)."""
    im = Image.open(io.BytesIO(data))
    im.draft("RGB", (2560, 1920))  # a no-op here: 1/2 scale would undershoot 2560
    im.load()
    big = im.resize((2560, 1920), Image.Resampling.LANCZOS)
    _encode(big)
    _encode(big.resize((480, 360), Image.Resampling.BICUBIC, reducing_gap=2.0))


def _time_interleaved(
    variants: dict[str, Callable[[], object]], iterations: int
) -> dict[str, list[float]]:
    """Seconds per run of each variant, taking turns, after two warm-up rounds."""
    runs: dict[str, list[float]] = {name: [] for name in variants}
    for iteration in range(iterations + 2):
        for name, run in variants.items():
            start = time.perf_counter()
            run()
            if iteration >= 2:
                runs[name].append(time.perf_counter() - start)
    return runs


def _median_ms(runs: dict[str, list[float]], name: str) -> float:
    return statistics.median(runs[name]) * 1000


def main() -> int:
    """Generate the photo, time every variant interleaved, print medians and the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=15)
    args = parser.parse_args()

    data = phone_jpeg()
    out = process_image(data)
    with Image.open(io.BytesIO(out.image)) as check:
        assert not check.getexif() and "exif" not in check.info
    # The stored (unrotated) size the pipeline decoded to: Orientation=6 swaps the axes.
    draft_size = (out.height, out.width)
    probe = Image.open(io.BytesIO(data))
    probe.draft("RGB", draft_size)
    assert probe.size == draft_size, (probe.size, draft_size)
    thumb = Image.new("RGB", (out.thumb_height, out.thumb_width), (128, 128, 128))
    thumb.paste(probe.resize(thumb.size))

    # Pipeline and baseline alternate so drift hits both alike; the context variants
    # run apart, so their big allocations do not disturb the pair being compared.
    runs = _time_interleaved(
        {
            "pipeline": lambda: process_image(data),
            "baseline": lambda: baseline(data, draft_size, thumb),
        },
        args.iterations,
    )
    runs |= _time_interleaved(
        {"naive": lambda: naive_decode(data), "exact": lambda: exact_2560(data)},
        max(3, args.iterations // 3),
    )

    pipeline, floor = _median_ms(runs, "pipeline"), _median_ms(runs, "baseline")
    ratio = pipeline / floor
    print(f"input        {WIDTH}x{HEIGHT} JPEG, {len(data) / 1e6:.2f} MB, Orientation=6 + GPS")
    print(
        f"output       {out.width}x{out.height} ({len(out.image) / 1e6:.2f} MB), "
        f"thumbnail {out.thumb_width}x{out.thumb_height} ({len(out.thumbnail) / 1e3:.0f} KB)"
    )
    print(f"iterations   {args.iterations} (median)")
    print(f"pipeline     {pipeline:7.1f} ms  process_image()")
    print(f"baseline     {floor:7.1f} ms  draft decode to {draft_size} + the same two encodes")
    print(f"ratio        {ratio:7.2f} x   target <= {TARGET_RATIO}")
    print(f"naive decode {_median_ms(runs, 'naive'):7.1f} ms  full-resolution decode only")
    print(
        f"exact 2560   {_median_ms(runs, 'exact'):7.1f} ms  "
        "full decode + LANCZOS to 2560x1920 + encodes (not our policy)"
    )
    met = ratio <= TARGET_RATIO
    verdict = f"MET: {ratio:.2f}x <=" if met else f"NOT MET: {ratio:.2f}x >"
    print(f"target {verdict} {TARGET_RATIO}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
