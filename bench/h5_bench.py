"""The report page for phones (/q/<token>) in headless Chromium on an emulated slow phone.

A temporary app (SQLite and media in a temp dir, the browser tests' district, one code
issued through the API) runs under gunicorn with the production config file on a free
loopback port; Debian's Chromium opens the printed code's URL in a fresh, phone-sized
profile (cold cache) with Chromium's network emulation (400 kbit/s each way, 400 ms round
trip) and a 4x CPU slowdown. Printed, each beside its budget:

1. the JS + CSS the report page loads, gzipped (<= 150 KB);
2. the time until the form is usable: category field visible, submit button enabled (<= 3 s);
3. the bytes sent for a 12-megapixel, ~5 MB phone JPEG (<= 800 KB) and the time the page
   takes to shrink it (from choosing it to its upload starting);
4. a whole anonymous report with two such photos: from choosing the photos to the receipt,
   and from tapping 提交上报 to the receipt.

    .venv/bin/python bench/h5_bench.py [--web-dist web/dist] [--runs 3]
"""

from __future__ import annotations

import argparse
import gzip
import os
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Run as a script from the repository root or anywhere else.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import requests
from playwright.sync_api import Browser, BrowserContext, Page, Request, expect, sync_playwright

from bench.photo_bench import phone_jpeg
from service.access.auth import issue_token
from service.bootstrap import storage_for
from service.core import migrations
from service.core.context import Context
from service.core.db import make_engine, make_session_factory
from service.core.settings import Settings
from tests.factories import build_world

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
BUNDLE_BUDGET_KB = 150
USABLE_BUDGET_S = 3.0
PHOTO_BUDGET_KB = 800
# The browser tests' phone: Playwright's "iPhone SE" descriptor, written out.
PHONE: dict[str, Any] = {
    "viewport": {"width": 375, "height": 667},
    "device_scale_factor": 2,
    "user_agent": (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 15_0 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/15.0 Mobile/15E148 Safari/604.1"
    ),
    "is_mobile": True,
    "has_touch": True,
    "locale": "zh-CN",
}
DESCRIPTION = "二号仓库安全出口被货物堵住"
WAIT_MS = 300_000  # two photos at 400 kbit/s up take most of a minute; leave room for load


@dataclass
class Emulation:
    down_kbit: float
    up_kbit: float
    latency_ms: float
    cpu: float


@dataclass
class Load:
    usable_s: float
    assets: list[str] = field(default_factory=list)  # script and style URLs the page fetched


@dataclass
class Report:
    compress_s: list[float]  # per photo: photos chosen -> its upload request leaves
    sent: list[int]  # per photo: bytes of the upload request body
    photos_to_receipt_s: float
    submit_to_receipt_s: float


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def seed(work: Path, base_url: str) -> tuple[str, str, Settings]:
    """A migrated SQLite database with the browser tests' district; its URL and an admin
    token (the app under gunicorn shares the secret)."""
    url = f"sqlite:///{work / 'bench.db'}"
    migrations.upgrade(url)
    settings = Settings(
        app_env="development",
        database_url=url,
        secret_key=secrets.token_urlsafe(32),
        public_base_url=base_url,
        media_root=str(work / "media"),
    )
    engine = make_engine(url)
    ctx = Context(settings, make_session_factory(engine), storage=storage_for(settings))
    with ctx.session_factory() as session:
        world = build_world(session)
    token = issue_token(ctx, world.admin)
    enterprise_id = world.enterprise_a.id
    engine.dispose()
    return token, str(enterprise_id), settings


def start_app(settings: Settings, port: int, web_dist: Path, log: Path) -> subprocess.Popen[bytes]:
    """gunicorn with the production config file on `port`, answering /api/v1/readyz."""
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("GUNICORN_CMD_ARGS", "REDIS_URL")},
        "APP_ENV": settings.app_env,
        "DATABASE_URL": settings.database_url,
        "SECRET_KEY": settings.secret_key,
        "PUBLIC_BASE_URL": settings.public_base_url,
        "STORAGE_BACKEND": "local",
        "MEDIA_ROOT": settings.media_root,
        "WEB_DIST": str(web_dist),
        # Every run is a fresh profile from one address: the scan limits are not measured.
        "RATELIMIT_SCAN": "1000000/second",
        "RATELIMIT_UPLOAD": "1000000/second",
        "RATELIMIT_SCAN_UPLOAD": "1000000/second",
        "RATELIMIT_SCAN_UPLOAD_CODE": "1000000/second",
    }
    command = [
        str(Path(sys.executable).with_name("gunicorn")),
        "--config",
        "gunicorn.conf.py",
        "--no-control-socket",
        "--bind",
        f"127.0.0.1:{port}",
        "wsgi:app",
    ]
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the app did not start; see {log}")
        try:
            with urllib.request.urlopen(
                f"http://127.0.0.1:{port}/api/v1/readyz", timeout=5
            ) as answer:
                if answer.status == 200:
                    return process
        except OSError:
            time.sleep(0.3)
    stop(process)
    raise SystemExit(f"the app did not answer within 90 s; see {log}")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def new_code(base_url: str, token: str, enterprise_id: str) -> str:
    """A fresh code's token, issued by the admin through the API (as the browser tests do)."""
    answer = requests.post(
        f"{base_url}/api/v1/enterprises/{enterprise_id}/qrcodes",
        json={},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    answer.raise_for_status()
    return str(answer.json()["token"])


# The browser tests' page script: the bytes of each upload body, as the page sends them.
_RECORD_UPLOADS = (
    Path(__file__).resolve().parents[1] / "tests" / "browser" / "record_uploads.js"
).read_text()


def emulated_page(browser: Browser, emulation: Emulation) -> tuple[BrowserContext, Page]:
    """A fresh phone profile (nothing cached) whose page runs on the emulated slow phone."""
    context = browser.new_context(**PHONE)
    # Chromium hands Playwright no body for a file upload: the page records the bytes of
    # each multipart body it sends (an init script; the CSP does not apply to it).
    context.add_init_script(_RECORD_UPLOADS)
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    cdp.send(
        "Network.emulateNetworkConditions",
        {
            "offline": False,
            "latency": emulation.latency_ms,
            "downloadThroughput": emulation.down_kbit * 1000 / 8,
            "uploadThroughput": emulation.up_kbit * 1000 / 8,
        },
    )
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": emulation.cpu})
    page.set_default_timeout(WAIT_MS)
    return context, page


def open_form(page: Page, url: str) -> Load:
    """Open the code's URL; the seconds until the form can be filled in and sent."""
    load = Load(usable_s=0.0)

    def fetched(req: Request) -> None:
        if req.resource_type in ("script", "stylesheet"):
            load.assets.append(req.url)

    page.on("request", fetched)
    start = time.perf_counter()
    page.goto(url, wait_until="commit")
    expect(page.get_by_label("隐患类别")).to_be_visible(timeout=WAIT_MS)
    expect(page.get_by_role("button", name="提交上报")).to_be_enabled(timeout=WAIT_MS)
    load.usable_s = time.perf_counter() - start
    # Chunks asked for right after (the photo picker's, say) are the page's too.
    page.wait_for_load_state("networkidle", timeout=WAIT_MS)
    return load


def gzipped_assets(urls: list[str], web_dist: Path) -> tuple[int, int, list[tuple[str, int]]]:
    """Raw and gzipped (level 6, a web server's usual) bytes of the built files behind
    `urls`, and each file's gzipped size."""
    raw = packed = 0
    files: list[tuple[str, int]] = []
    for name in sorted({re.sub(r"^.*/assets/", "", u.split("?")[0]) for u in urls}):
        data = (web_dist / "assets" / name).read_bytes()
        size = len(gzip.compress(data, compresslevel=6))
        raw += len(data)
        packed += size
        files.append((name, size))
    return raw, packed, files


def report_with_photos(page: Page, photos: list[bytes]) -> Report:
    """Fill in the form, choose the photos, send it; when each step ended."""
    chosen: list[float] = []
    leaving: list[float] = []
    uploads: list[Request] = []  # their bodies: window.__uploads

    def upload(req: Request) -> None:
        if req.method == "POST" and req.url.endswith("/media"):
            leaving.append(time.perf_counter())
            uploads.append(req)

    page.on("request", upload)
    page.get_by_label("隐患类别").click()
    page.get_by_role("button", name="消防安全").click()
    page.get_by_label("隐患描述").fill(DESCRIPTION)
    chosen.append(time.perf_counter())
    page.get_by_label("添加照片").set_input_files(
        [
            {"name": f"IMG_{n}.jpg", "mimeType": "image/jpeg", "buffer": data}
            for n, data in enumerate(photos)
        ]
    )
    tiles = page.get_by_role("listitem").filter(has=page.get_by_role("img"))
    expect(tiles).to_have_count(len(photos), timeout=WAIT_MS)
    expect(page.get_by_role("progressbar")).to_have_count(0, timeout=WAIT_MS)
    if page.get_by_text("上传失败").count():
        raise SystemExit("a photo failed to upload; see the app's log")
    sent: list[int] = page.evaluate("window.__uploads")
    if len(sent) != len(uploads):
        raise SystemExit(f"{len(uploads)} uploads left, {len(sent)} bodies recorded")
    tapped = time.perf_counter()
    page.get_by_role("button", name="提交上报").click()
    expect(page.get_by_role("heading", name="回执码")).to_be_visible(timeout=WAIT_MS)
    done = time.perf_counter()
    return Report(
        compress_s=[end - chosen[0] for end in leaving],
        sent=sent,
        photos_to_receipt_s=done - chosen[0],
        submit_to_receipt_s=done - tapped,
    )


def verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def main() -> int:
    """Start the app, run the page on the emulated phone, print each figure and its budget."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--web-dist", type=Path, default=ROOT / "web" / "dist", help="the built pages (`make web`)"
    )
    parser.add_argument("--runs", type=int, default=3, help="cold loads to time (median)")
    parser.add_argument("--down-kbit", type=float, default=400)
    parser.add_argument("--up-kbit", type=float, default=400)
    parser.add_argument("--latency-ms", type=float, default=400)
    parser.add_argument("--cpu", type=float, default=4, help="CPU slowdown factor")
    args = parser.parse_args()
    if not (args.web_dist / "h5" / "index.html").is_file():
        raise SystemExit(f"{args.web_dist}/h5/index.html is missing: run `make web` first")
    emulation = Emulation(args.down_kbit, args.up_kbit, args.latency_ms, args.cpu)

    work = Path(tempfile.mkdtemp(prefix="h5_bench_"))
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    token, enterprise_id, settings = seed(work, base_url)
    # The photo bench's ~5 MB 12 MP JPEG with phone EXIF; three different ones (its noise
    # is random), as a photo already attached to a report cannot be sent again.
    photos = [phone_jpeg() for _ in range(3)]
    photo = photos[0]
    app = start_app(settings, port, args.web_dist, work / "gunicorn.log")
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            try:
                loads: list[Load] = []
                for _ in range(args.runs):
                    context, page = emulated_page(browser, emulation)
                    loads.append(
                        open_form(page, f"{base_url}/q/{new_code(base_url, token, enterprise_id)}")
                    )
                    context.close()
                reports: list[Report] = []
                for chosen in (photos[:1], photos[1:]):
                    context, page = emulated_page(browser, emulation)
                    open_form(page, f"{base_url}/q/{new_code(base_url, token, enterprise_id)}")
                    reports.append(report_with_photos(page, chosen))
                    context.close()
                single, report = reports
            finally:
                browser.close()
    finally:
        stop(app)

    raw, packed, files = gzipped_assets(loads[0].assets, args.web_dist)
    usable = statistics.median(load.usable_s for load in loads)
    biggest = max(single.sent + report.sent)
    load_avg = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"machine      {os.cpu_count()} cores, load average {load_avg}")
    print(
        f"emulation    {emulation.down_kbit:.0f} kbit/s down, {emulation.up_kbit:.0f} kbit/s up, "
        f"{emulation.latency_ms:.0f} ms round trip, CPU {emulation.cpu:g}x slower; cold cache"
    )
    print(f"photo        {len(photo) / 1e6:.2f} MB JPEG, 4032x3024 (12 MP), Orientation=6")
    print(
        f"JS + CSS     {len(files)} files, {raw / 1024:.0f} KB raw, {packed / 1024:.0f} KB gzipped"
    )
    for name, size in files:
        print(f"               {size / 1024:6.1f} KB  {name}")
    met = verdict(packed / 1024 <= BUNDLE_BUDGET_KB)
    print(f"  budget     <= {BUNDLE_BUDGET_KB} KB gzipped: {met}")
    runs = ", ".join(f"{load.usable_s:.2f}" for load in loads)
    print(f"form usable  {usable:.2f} s median of {len(loads)} cold loads ({runs} s)")
    print(f"  budget     <= {USABLE_BUDGET_S:.0f} s: {verdict(usable <= USABLE_BUDGET_S)}")
    sent = ", ".join(f"{n / 1024:.0f}" for n in single.sent + report.sent)
    print(f"photo sent   {biggest / 1024:.0f} KB largest upload, photo + fields (each: {sent} KB)")
    print(f"  budget     <= {PHOTO_BUDGET_KB} KB: {verdict(biggest / 1024 <= PHOTO_BUDGET_KB)}")
    both = ", ".join(f"{s:.2f}" for s in report.compress_s)
    print(
        f"shrink       {single.compress_s[0]:.2f} s for one photo in the page (chosen -> its "
        f"upload leaves); two chosen at once: uploads leave after {both} s"
    )
    print(
        f"report       {report.photos_to_receipt_s:.1f} s from choosing two photos to the receipt, "
        f"{report.submit_to_receipt_s:.2f} s from tapping 提交上报"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
