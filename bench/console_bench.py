"""The console's district dashboard on the statistics bench database: time from navigation
to the first chart drawn with data, and the console's JS + CSS gzipped, beside budgets.

Needs the database `bench/stats_bench.py --keep` leaves (default `mashangcha_bench`, one
city, 1,000,000 hazards) and a build of the pages (`make web`). The app runs on a free
loopback port over that database, under gunicorn with the deployed settings
(`gunicorn.conf.py`, APP_ENV=production) or, with `--server werkzeug`, under werkzeug's
threaded server in this process like the browser tests. First the charts' three API calls
are timed on their own; then Debian's Chromium opens `/console/` as the busiest district's
supervisor (the token placed in the tab's session as the login would), each run in a fresh
profile (nothing cached). `--waterfall` prints every request of each run up to the chart.

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/console_bench.py [--database D] [--runs 5] [--waterfall]
            [--server gunicorn|werkzeug] [--dist web/dist]
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import os
import statistics
import sys
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psycopg
from api_bench import ROOT, start_gunicorn, stop
from benchdb import libpq
from playwright.sync_api import sync_playwright
from sqlalchemy.engine import make_url
from stats_bench import DEFAULT_DATABASE, scopes
from werkzeug.serving import make_server

from miniprogram_api import create_app
from service.access.auth import issue_token
from service.bootstrap import install_listeners
from service.core.context import Context
from service.core.db import make_engine, make_session_factory
from service.core.settings import Settings
from service.directory.models import User

BUDGET_FIRST_CHART_MS = 1500.0  # issue 18
BUDGET_ASSETS_GZ_KB = 500.0  # this branch's own: Element Plus and ECharts on demand
DIST = Path(__file__).resolve().parents[1] / "web" / "dist"
CHROMIUM = "/usr/bin/chromium"
SECRET = "console-bench-secret-key-long-enough-0042"
PUBLIC_BASE_URL = "https://mashangcha.example.gov.cn"


def production_env(url: str, dist: Path) -> dict[str, str]:
    """The app's environment under gunicorn: production settings over the bench database."""
    return {
        **{k: v for k, v in os.environ.items() if k not in ("GUNICORN_CMD_ARGS", "REDIS_URL")},
        "APP_ENV": "production",
        "DATABASE_URL": url,
        "SECRET_KEY": SECRET,
        "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
        "WEB_DIST": str(dist),
        "STORAGE_BACKEND": "local",
        "MEDIA_ROOT": str(ROOT / "var" / "console_bench_media"),
        "WECHAT_APPID": "wx-bench",
        "WECHAT_SECRET": "bench-secret",
        "LOG_FORMAT": "json",
        "RATELIMIT_LOGIN": "1000/minute",
    }


def gz_kb(path: Path) -> float:
    return len(gzip.compress(path.read_bytes(), compresslevel=9)) / 1024


# The calls the dashboard's charts wait for (its default period: the current month).
CHART_CALLS = ["summary", "ranking?sort=reported", "trend?bucket=week"]


def api_latency(base: str, token: str, runs: int) -> None:
    """The charts' API calls over HTTP on the same server, warm: each alone, then the three
    at once as the page sends them, so the page's own time can be told from the API's."""

    def call(path: str) -> float:
        request = urllib.request.Request(
            f"{base}/api/v1/stats/{path}", headers={"Authorization": f"Bearer {token}"}
        )
        started = time.perf_counter()
        with urllib.request.urlopen(request) as response:
            response.read()
        return (time.perf_counter() - started) * 1000

    for path in CHART_CALLS:
        call(path)  # warm-up: pooled connection, PostgreSQL's cache
    alone = {path: statistics.median(call(path) for _ in range(runs)) for path in CHART_CALLS}
    together: list[float] = []
    with ThreadPoolExecutor(len(CHART_CALLS)) as pool:
        for _ in range(runs):
            started = time.perf_counter()
            list(pool.map(call, CHART_CALLS))
            together.append((time.perf_counter() - started) * 1000)
    each = ", ".join(f"{path.split('?')[0]} {ms:.0f} ms" for path, ms in alone.items())
    print(
        f"API over HTTP, warm, median of {runs}: {each} one at a time;"
        f" the three at once {statistics.median(together):.0f} ms"
    )


WATERFALL = """() => performance.getEntriesByType('navigation')
  .concat(performance.getEntriesByType('resource'))
  .map((e) => ({name: e.name, start: e.startTime, end: e.responseEnd, bytes: e.transferSize}))"""


def print_waterfall(  # type: ignore[no-untyped-def]
    page, first_chart_ms: float, served: dict[str, float]
) -> None:
    """Every request the page made, from navigation: when it started and ended, its size and
    how long the app took over it."""
    print(f"first chart at {first_chart_ms:.0f} ms")
    for entry in sorted(page.evaluate(WATERFALL), key=lambda e: e["start"]):
        parsed = urlparse(entry["name"])
        name = parsed.path + (f"?{parsed.query}" if parsed.query else "")
        late = " (after the chart)" if entry["start"] > first_chart_ms else ""
        app_ms = f"app {served[name]:5.0f} ms" if name in served else " " * 12
        print(
            f"  {entry['start']:6.0f} → {entry['end']:6.0f} ms {entry['bytes'] / 1024:7.1f} KB"
            f" {app_ms}  {name[:100]}{late}"
        )


def main() -> None:
    """Serve the app over the bench database and time the dashboard in Chromium."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database", default=DEFAULT_DATABASE)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--server",
        choices=["gunicorn", "werkzeug"],
        default="gunicorn",
        help="gunicorn as deployed (gunicorn.conf.py), or werkzeug's threaded server in this"
        " process (the browser tests'; the waterfall then shows the app's own time per request)",
    )
    parser.add_argument(
        "--dist", default=str(DIST), help="a build of the pages (to compare two builds)"
    )
    parser.add_argument(
        "--waterfall", action="store_true", help="print each run's requests up to the first chart"
    )
    args = parser.parse_args()
    server_url = os.environ.get("DATABASE_URL", "")
    if not server_url.startswith("postgresql"):
        raise SystemExit("DATABASE_URL must name a PostgreSQL server (postgresql+psycopg://…)")
    dist = Path(args.dist).resolve()
    if not (dist / "console" / "index.html").is_file():
        raise SystemExit("no build of the pages: run `make web` first")
    url = make_url(server_url).set(database=args.database).render_as_string(hide_password=False)
    try:
        with psycopg.connect(libpq(url)) as conn:
            row = conn.execute("SELECT count(*) FROM hazards").fetchone()
            hazards = row[0] if row else 0
    except psycopg.OperationalError:
        raise SystemExit(
            f"no database {args.database}: run bench/stats_bench.py --keep first"
        ) from None

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
    install_listeners()
    engine = make_engine(url)
    settings = Settings(
        app_env="test",
        database_url=url,
        secret_key=SECRET,
        public_base_url=PUBLIC_BASE_URL,
        web_dist=str(dist),
        ratelimit_login="1000/minute",
    )
    ctx = Context(settings=settings, session_factory=make_session_factory(engine))
    district = scopes(engine, "city")[0]  # the city data set: its busiest district
    with ctx.session_factory() as session:
        user = session.get(User, district.supervisor_id)
        assert user is not None
        token = issue_token(ctx, user)
        stored = {
            "token": token,
            "user": {
                "id": user.id,
                "username": user.username,
                "display_name": user.display_name,
                "role": str(user.role),
                "region_id": user.region_id,
                "phone": "",
            },
        }
    served: dict[str, float] = {}  # path?query → ms the app took (werkzeug only)
    if args.server == "gunicorn":
        log = ROOT / "var" / "console_bench_gunicorn.log"
        log.parent.mkdir(exist_ok=True)
        env = production_env(url, dist)
        gunicorn = start_gunicorn("app", "wsgi:app", env, log, "/api/v1/healthz")
        base = gunicorn.base_url
        stop_server = partial(stop, gunicorn)
    else:
        app = create_app(context=ctx)

        def timed_app(environ, start_response):  # type: ignore[no-untyped-def]
            started = time.perf_counter()
            try:
                return app(environ, start_response)
            finally:
                query = environ.get("QUERY_STRING")
                served[environ["PATH_INFO"] + (f"?{query}" if query else "")] = (
                    time.perf_counter() - started
                ) * 1000

        server = make_server("127.0.0.1", 0, timed_app, threaded=True)
        base = f"http://127.0.0.1:{server.server_port}"
        threading.Thread(target=server.serve_forever, daemon=True).start()
        stop_server = server.shutdown
    print(
        f"{hazards:,} hazards in {args.database}; dashboard of {district.name} as its supervisor;"
        f" served by {args.server}"
    )
    print(f"load average (1 min) before: {os.getloadavg()[0]:.1f}")  # other work skews it all

    script = f"sessionStorage.setItem('mashangcha.console', {json.dumps(json.dumps(stored))})"
    timings: list[float] = []
    loaded: dict[str, Path] = {}
    try:
        api_latency(base, token, runs=10)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
            )
            for _ in range(args.runs):
                context = browser.new_context(viewport={"width": 1440, "height": 900})
                context.add_init_script(script)
                page = context.new_page()

                def seen(response, page=page) -> None:  # type: ignore[no-untyped-def]
                    path = urlparse(response.url).path
                    if path.startswith("/assets/"):
                        loaded[path] = dist / path.lstrip("/")

                page.on("response", seen)
                started = time.perf_counter()
                page.goto(f"{base}/console/")
                page.wait_for_selector('.chart[data-drawn="yes"]', timeout=60_000)
                mark = page.evaluate(
                    "performance.getEntriesByName('first-chart-drawn')[0]?.startTime ?? null"
                )
                timings.append(mark if mark is not None else (time.perf_counter() - started) * 1000)
                if args.waterfall:
                    print_waterfall(page, timings[-1], served)
                context.close()
            browser.close()
    finally:
        stop_server()
        engine.dispose()

    js = sum(gz_kb(p) for p in loaded.values() if p.suffix == ".js")
    css = sum(gz_kb(p) for p in loaded.values() if p.suffix == ".css")
    first = statistics.median(timings)
    verdict = "ok" if first <= BUDGET_FIRST_CHART_MS else "OVER"
    print(
        f"first chart drawn with data: median {first:.0f} ms, max {max(timings):.0f} ms"
        f" over {len(timings)} cold loads (budget {BUDGET_FIRST_CHART_MS:.0f} ms): {verdict}"
    )
    size_verdict = "ok" if js + css <= BUDGET_ASSETS_GZ_KB else "OVER"
    print(
        f"console JS + CSS loaded by the dashboard, gzipped: {js:.0f} KB JS + {css:.0f} KB CSS"
        f" = {js + css:.0f} KB in {len(loaded)} files (budget {BUDGET_ASSETS_GZ_KB:.0f} KB):"
        f" {size_verdict}"
    )


if __name__ == "__main__":
    main()
