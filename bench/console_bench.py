"""The console's district dashboard on the statistics bench database: time from navigation
to the first chart drawn with data, and the console's JS + CSS gzipped, beside budgets.

Needs the database `bench/stats_bench.py --keep` leaves (default `mashangcha_bench`, one
city, 1,000,000 hazards) and a build of the pages (`make web`). The app runs on a free
loopback port (werkzeug, threaded, like the browser tests) over that database; Debian's
Chromium opens `/console/` as the busiest district's supervisor (the token placed in the
tab's session as the login would), each run in a fresh profile (nothing cached).

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/console_bench.py [--runs 5]
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
from pathlib import Path
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psycopg
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


def gz_kb(path: Path) -> float:
    return len(gzip.compress(path.read_bytes(), compresslevel=9)) / 1024


def main() -> None:
    """Serve the app over the bench database and time the dashboard in Chromium."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database", default=DEFAULT_DATABASE)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    server_url = os.environ.get("DATABASE_URL", "")
    if not server_url.startswith("postgresql"):
        raise SystemExit("DATABASE_URL must name a PostgreSQL server (postgresql+psycopg://…)")
    if not (DIST / "console" / "index.html").is_file():
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
    server = make_server("127.0.0.1", 0, lambda e, s: [], threaded=True)
    base = f"http://127.0.0.1:{server.server_port}"
    settings = Settings(
        app_env="test",
        database_url=url,
        secret_key="console-bench-secret-key-long-enough-0042",
        public_base_url=base,
        web_dist=str(DIST),
        ratelimit_login="1000/minute",
    )
    ctx = Context(settings=settings, session_factory=make_session_factory(engine))
    district = scopes(engine)[0]
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
    server.app = create_app(context=ctx)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    print(f"{hazards:,} hazards in {args.database}; dashboard of {district.name} as its supervisor")

    script = f"sessionStorage.setItem('mashangcha.console', {json.dumps(json.dumps(stored))})"
    timings: list[float] = []
    loaded: dict[str, Path] = {}
    try:
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
                        loaded[path] = DIST / path.lstrip("/")

                page.on("response", seen)
                started = time.perf_counter()
                page.goto(f"{base}/console/")
                page.wait_for_selector('.chart[data-drawn="yes"]', timeout=60_000)
                mark = page.evaluate(
                    "performance.getEntriesByName('first-chart-drawn')[0]?.startTime ?? null"
                )
                timings.append(mark if mark is not None else (time.perf_counter() - started) * 1000)
                context.close()
            browser.close()
    finally:
        server.shutdown()
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
