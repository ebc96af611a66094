"""Browser tests: Debian's Chromium driven by Playwright against the app under a real server.

`make chromium` (run by `make test`) installs /usr/bin/chromium; Playwright cannot download
a browser of its own here. The app runs under werkzeug's threaded server on a free loopback
port, on a database of its own (a throwaway PostgreSQL database when DATABASE_URL names
one, else a fresh SQLite file) holding `build_world`'s data: what a page writes is
committed for real, so it is not rolled back between tests.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    expect,
    sync_playwright,
)
from sqlalchemy import Engine
from werkzeug.serving import BaseWSGIServer, make_server

from miniprogram_api import create_app
from service.access.auth import issue_token
from service.bootstrap import storage_for
from service.core import migrations
from service.core.context import Context
from service.core.db import make_engine, make_lookup_factory, make_session_factory
from service.core.settings import Settings
from service.directory.models import User
from tests.factories import World, build_world
from tests.livedb import throwaway_database

CHROMIUM = Path("/usr/bin/chromium")
# --no-sandbox: the tests run as root. The rest keep Chromium off the network, which this
# machine closes (Playwright already turns off most background traffic).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-sync"]
LIVE_SECRET = "browser-tests-secret-key-long-enough-0042"
# Playwright's 5 s for an expectation is short for the 2-core machine running the suite
# beside other work (Swagger UI renders ~60 operations); a passing check returns at once.
expect.set_options(timeout=20_000)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One headless Chromium for the whole run."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make chromium` installs Debian's chromium")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def live_database_url(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated database for the live server, apart from the rolled-back test database."""
    if database_url.startswith("postgresql"):
        with throwaway_database(database_url, "browser") as url:
            yield url
        return
    url = f"sqlite:///{tmp_path_factory.mktemp('live-db') / 'live.db'}"
    migrations.upgrade(url)
    yield url


@dataclass
class LiveServer:
    """The app under a real HTTP server: its base URL, service context and data."""

    url: str
    ctx: Context
    world: World

    def token(self, user: User) -> str:
        """A fresh access token for `user`, as the login endpoint would issue it."""
        return issue_token(self.ctx, user)


def _settings(database_url: str, base_url: str, media_root: Path, queue: Path) -> Settings:
    return Settings(
        app_env="test",
        database_url=database_url,
        secret_key=LIVE_SECRET,
        public_base_url=base_url,  # local photo links point at the live server itself
        media_root=str(media_root),
        # A job asked of the live server is queued in a file of the run, not the project's.
        jobs_queue_file=str(queue),
        # Every test logs in from 127.0.0.1, a few seconds apart: the production 20 a minute
        # per address would refuse the suite's own logins (no browser test is about it).
        ratelimit_login="600/minute",
    )


@pytest.fixture(scope="session")
def live_server(
    live_database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """The app served on a free loopback port (werkzeug, one thread per request)."""
    # Port 0: the kernel picks a free port when binding, so no other process can take it
    # between choosing and binding. The app, which needs the URL, is set in afterwards.
    server: BaseWSGIServer = make_server("127.0.0.1", 0, _not_ready, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    settings = _settings(
        live_database_url,
        url,
        tmp_path_factory.mktemp("live-media"),
        tmp_path_factory.mktemp("live-jobs") / "queue.db",
    )
    engine: Engine = make_engine(live_database_url)
    lookups = make_lookup_factory(engine)  # PostgreSQL: a pool of its own, as in production
    try:
        ctx = Context(
            settings=settings,
            session_factory=make_session_factory(engine),
            lookup_factory=lookups,
            storage=storage_for(settings),
        )
        with ctx.session_factory() as session:
            world = build_world(session)
        server.app = create_app(context=ctx)
        thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
        thread.start()
        try:
            yield LiveServer(url, ctx, world)
        finally:
            server.shutdown()
            thread.join(10)
    finally:
        server.server_close()
        engine.dispose()
        if lookups is not None:
            lookups.kw["bind"].dispose()


def _not_ready(environ, start_response):  # type: ignore[no-untyped-def]
    start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
    return [b"starting"]


@dataclass
class PageProblems:
    """What a working page never shows: console errors, uncaught exceptions, CSP violations."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    csp_violations: list[str] = field(default_factory=list)

    def all(self) -> list[str]:
        """Every problem seen so far, each one line."""
        return self.console_errors + self.page_errors + self.csp_violations


# Runs in every document before its own scripts; a CSP does not apply to it.
_REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.reportCspViolation(`${event.effectiveDirective} blocked ${event.blockedURI || "inline"}`
    + ` at ${event.sourceFile || event.documentURI}:${event.lineNumber}`);
});
"""


@pytest.fixture
def browser_context(browser: Browser) -> Iterator[BrowserContext]:
    """A fresh browser profile (no cookies, storage or cache) for one test."""
    context = browser.new_context(locale="zh-CN")
    yield context
    context.close()


@pytest.fixture
def page_problems(browser_context: BrowserContext) -> PageProblems:
    """Problems of every page of this test's browser context, collected as they happen."""
    problems = PageProblems()

    def csp_violation(text: str) -> None:
        problems.csp_violations.append(text)

    def console(message: ConsoleMessage) -> None:
        if message.type == "error":
            problems.console_errors.append(f"{message.text} ({message.location['url']})")

    def watch(page: Page) -> None:
        page.on("console", console)
        page.on("pageerror", lambda error: problems.page_errors.append(str(error)))

    browser_context.expose_function("reportCspViolation", csp_violation)
    browser_context.add_init_script(_REPORT_CSP_VIOLATIONS)
    browser_context.on("page", watch)
    return problems


@pytest.fixture
def page(browser_context: BrowserContext, page_problems: PageProblems) -> Page:
    """A page in this test's browser context, its problems collected in `page_problems`."""
    return browser_context.new_page()
