"""Benchmark QR rendering against raw `qrcode` in the same run.

Run: .venv/bin/python bench/qr_bench.py [--count 1000] [--font PATH]
"""

import argparse
import os
import resource
import sys
import time
from collections.abc import Callable
from io import BytesIO
from pathlib import Path

# Run as a script from anywhere: make the repository root importable.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import qrcode

from qr import (
    PosterFooter,
    PosterSpec,
    format_short_id,
    new_token,
    render_png,
    render_poster,
    render_svg,
    scan_url,
    write_vector_posters_pdf,
)

BASE_URL = "https://mashangcha.example.gov.cn"
DEFAULT_FONT = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
POSTER_TARGET_MS = 30.0
PDF_TARGET_S_PER_1000 = 20.0


def per_call_ms(work: Callable[[str], object], urls: list[str]) -> float:
    """Mean milliseconds per call of `work` over `urls`, after one warm-up call."""
    work(urls[0])
    start = time.perf_counter()
    for url in urls:
        work(url)
    return (time.perf_counter() - start) * 1000 / len(urls)


def raw_qrcode_png(url: str) -> bytes:
    """The baseline: what a plain `qrcode` user would write."""
    out = BytesIO()
    qrcode.make(url).save(out)
    return out.getvalue()


def max_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux reports kB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    """Print timings, ratios to the raw qrcode baseline, and whether targets are met."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=1000, help="posters in the PDF")
    parser.add_argument("--samples", type=int, default=200, help="calls per single timing")
    parser.add_argument("--font", default=os.environ.get("QR_FONT_PATH", DEFAULT_FONT))
    args = parser.parse_args()

    urls = [scan_url(BASE_URL, new_token()) for _ in range(args.samples)]
    name = "宁波某某某某化工新材料股份有限公司（北仑第二分厂）"

    def poster(url: str) -> bytes:
        return render_poster(
            url=url,
            enterprise_name=name,
            point_name="危险化学品仓库",
            short_id="QR-000123",
            font_path=args.font,
        )

    baseline = per_call_ms(raw_qrcode_png, urls)
    rows = [
        ("raw qrcode.make PNG (baseline)", baseline),
        ("qr.render_png", per_call_ms(render_png, urls)),
        ("qr.render_svg", per_call_ms(render_svg, urls)),
        ("qr.render_poster (PNG)", per_call_ms(poster, urls[: max(1, args.samples // 4)])),
    ]

    specs = (
        PosterSpec(scan_url(BASE_URL, new_token()), f"{name}{i}", "一号车间", format_short_id(i))
        for i in range(args.count)
    )
    rss_before = max_rss_mb()
    out = BytesIO()
    start, cpu_start = time.perf_counter(), time.process_time()
    # The batch PDF as the API and `flask qr posters` write it: vector pages, A5.
    footer = PosterFooter(office_name="武进区应急管理局", hotline="0519-86661234")
    pages = write_vector_posters_pdf(specs, out, font_path=args.font, footer=footer)
    pdf_s = time.perf_counter() - start
    pdf_cpu_s = time.process_time() - cpu_start  # apart from the wall time on a busy machine
    rss_growth = max_rss_mb() - rss_before
    pdf_per_page_ms = pdf_s * 1000 / pages

    print(f"cpus: {os.cpu_count()}, python {sys.version.split()[0]}")
    # qrcode.make defaults to error correction M; qr uses Q, often one version larger.
    print("baseline: qrcode.make(url).save(BytesIO()), error correction M; qr uses Q")
    for label, ms in rows:
        print(f"{label:34} {ms:8.2f} ms   x{ms / baseline:5.2f} of baseline")
    print(
        f"{f'vector PDF of {pages} posters':34} {pdf_s:8.2f} s    {pdf_per_page_ms:.2f} ms/page, "
        f"x{pdf_per_page_ms / baseline:5.2f} of baseline per page"
    )
    print(f"{'PDF CPU time':34} {pdf_cpu_s:8.2f} s")
    print(f"{'PDF size':34} {len(out.getvalue()) / 1e6:8.2f} MB   peak RSS +{rss_growth:.0f} MB")

    poster_ms = rows[3][1]
    pdf_s_per_1000 = pdf_s * 1000 / pages
    print(
        f"target poster <= {POSTER_TARGET_MS:.0f} ms: "
        f"{'met' if poster_ms <= POSTER_TARGET_MS else 'MISSED'} ({poster_ms:.1f} ms)"
    )
    print(
        f"target 1,000-poster PDF <= {PDF_TARGET_S_PER_1000:.0f} s: "
        f"{'met' if pdf_s_per_1000 <= PDF_TARGET_S_PER_1000 else 'MISSED'} "
        f"({pdf_s_per_1000:.1f} s per 1,000)"
    )


if __name__ == "__main__":
    main()
