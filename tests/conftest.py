"""Shared fixtures: one migrated database per run, a rolled-back transaction per test.

The suite runs on SQLite by default and on PostgreSQL when DATABASE_URL names one.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from miniprogram_api import create_app
from service.access import auth
from service.access.auth import issue_token
from service.bootstrap import install_listeners, storage_for
from service.core import migrations
from service.core.context import Context
from service.core.db import make_engine
from service.core.settings import Settings
from service.directory.models import User
from tests.factories import World, build_world
from tests.fakes.wechat import FakeWeChat, start_fake_wechat, stop_fake_wechat
from tests.livedb import worker_database

# The S3 servers, for API and integration tests: moto's, and SeaweedFS (a real distributed one).
pytest_plugins = ["tests.fixtures_s3", "tests.fixtures_seaweed"]

TEST_SECRET = "test-secret-key-that-is-long-enough-1234"


# `make test` spreads the tests over pytest-xdist worker processes (`--dist loadgroup`).
# The tests under each of these paths stay together on one worker: they share what is
# costly to start once per worker (Chromium and the live server, a module's gunicorn), or
# start gunicorns or job consumers of their own and are kept from running two at once.
XDIST_GROUPS = {
    "tests/browser/": "browser",
    "tests/api/test_authorization_matrix.py": "authorization_matrix",
    # Builds the same world through the API: one worker builds it for both, one at a time.
    "tests/api/test_idempotent_writes.py": "authorization_matrix",
    "tests/integration/test_concurrency.py": "gunicorn",
    "tests/integration/test_faults.py": "gunicorn",
    "tests/integration/test_hostile_http.py": "gunicorn",
    "tests/integration/test_jobs_consumer.py": "gunicorn",
    "tests/integration/test_many_boxes.py": "gunicorn",
    "tests/integration/test_production_install.py": "gunicorn",
    "tests/integration/test_production_start.py": "gunicorn",
    "tests/integration/test_shared_limits.py": "gunicorn",
}


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the marks
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the tests of XDIST_GROUPS with their group."""
    for item in items:
        for prefix, group in XDIST_GROUPS.items():
            if item.nodeid.startswith(prefix):
                item.add_marker(pytest.mark.xdist_group(group))


def pytest_runtest_setup(item: pytest.Item) -> None:
    """On a `--dist loadgroup` worker, fail a grouped test that pytest-xdist did not take into
    its group (it tags the test's id with `@group`): with a pytest whose node ids it cannot
    tag (9.2 with pytest-xdist 3.8) the groups are silently ignored, and the browser and
    gunicorn tests run on both workers at once."""
    grouped = getattr(item.config.option, "loadgroup", False)  # set on xdist's workers
    if grouped and item.get_closest_marker("xdist_group") and "@" not in item.nodeid:
        pytest.fail(
            "pytest-xdist ignored this test's xdist_group: pin pytest and pytest-xdist "
            "as requirements.txt does",
            pytrace=False,
        )


def _is_postgres(url: str) -> bool:
    return url.startswith("postgresql")


@pytest.fixture(scope="session", autouse=True)
def no_env_file() -> Iterator[None]:
    """Processes the tests start (gunicorn, `flask`) never read a developer's `.env`: each
    test sets what it needs (tests of the file itself start theirs without this)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FLASK_SKIP_DOTENV", "1")
        yield


# Argon2id at its lowest cost for the suite's own process: the recommended parameters the
# app ships with take ~0.1-0.6 s a hash on the 2-core CI machine, and every login, new user
# and password change pays it. Processes the tests start (gunicorn, `flask`) keep the real
# parameters, and test_hardening checks those are the ones a fresh process hashes with.
CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashing() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(auth, "_hasher", CHEAP_HASHER)
        patch.setattr(auth, "_DUMMY_HASH", CHEAP_HASHER.hash("timing-equaliser"))
        yield


@pytest.fixture(scope="session", autouse=True)
def listeners() -> None:
    """What the composition root installs in every process (the rollup's session listener)."""
    install_listeners()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The suite's database: DATABASE_URL, else a fresh SQLite file (one per run).

    Under pytest-xdist each worker process gets a database of its own, since the `engine`
    fixture empties the schema: on PostgreSQL `<name>_<worker>` next to DATABASE_URL's (made
    and dropped here); on SQLite the worker's own temporary folder already separates them.
    """
    url = os.environ.get("DATABASE_URL")
    if not url:
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
        return
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker or not _is_postgres(url):
        yield url
        return
    with worker_database(url, worker) as worker_url:
        yield worker_url


@pytest.fixture(scope="session")
def is_postgres(database_url: str) -> bool:
    return _is_postgres(database_url)


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    if _is_postgres(database_url):
        # Start from an empty schema so the migrations are what builds it.
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    migrations.upgrade(database_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def fake_wechat() -> Iterator[FakeWeChat]:
    fake = start_fake_wechat()
    yield fake
    stop_fake_wechat(fake)


# What `make web` builds, in miniature: API tests need no Node build (the browser tests
# serve the real one).
STAND_IN_INDEX = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>码上查 · 隐患随手拍</title>
<script type="module" crossorigin src="/assets/h5-Tst0Hash.js"></script></head>
<body><div id="app"></div></body></html>
"""


@pytest.fixture(scope="session")
def web_dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A stand-in for web/dist: the H5 and console indexes and one hashed script."""
    dist = tmp_path_factory.mktemp("web-dist")
    (dist / "h5").mkdir()
    (dist / "h5" / "index.html").write_text(STAND_IN_INDEX)
    (dist / "console").mkdir()
    console = STAND_IN_INDEX.replace("隐患随手拍", "监管控制台")
    (dist / "console" / "index.html").write_text(console.replace("h5-", "console-"))
    (dist / "assets").mkdir()
    (dist / "assets" / "h5-Tst0Hash.js").write_text("document.title = 'ok'\n")
    return dist


@pytest.fixture
def settings(
    database_url: str, fake_wechat: FakeWeChat, tmp_path: Path, web_dist: Path
) -> Settings:
    return Settings(
        app_env="test",
        database_url=database_url,
        secret_key=TEST_SECRET,
        public_base_url="https://mashangcha.test",
        wechat_appid="wx-test-appid",
        wechat_secret="wx-test-secret",
        wechat_api_base=fake_wechat.url,
        wechat_timeout_seconds=3.0,
        media_root=str(tmp_path / "media"),
        web_dist=str(web_dist),
        # Jobs run inside the request that asks for them; tests/integration/test_jobs_*
        # run them on real consumers.
        jobs_immediate=True,
        jobs_queue_file=str(tmp_path / "jobs-queue.db"),
    )


@pytest.fixture
def connection(engine: Engine) -> Iterator:
    conn = engine.connect()
    outer = conn.begin()
    yield conn
    outer.rollback()
    conn.close()


@pytest.fixture
def session_factory(connection) -> sessionmaker[Session]:  # type: ignore[no-untyped-def]
    # Use cases commit to a SAVEPOINT; the outer transaction is rolled back after the test.
    return sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )


@pytest.fixture
def db(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session for arranging and checking data directly."""
    session = session_factory()
    yield session
    session.close()


@pytest.fixture
def ctx(settings: Settings, session_factory: sessionmaker[Session]) -> Context:
    return Context(
        settings=settings, session_factory=session_factory, storage=storage_for(settings)
    )


@pytest.fixture
def app(ctx: Context) -> Flask:
    return create_app(context=ctx)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def world(db: Session) -> World:
    return build_world(db)


@pytest.fixture
def auth_header(ctx: Context):  # type: ignore[no-untyped-def]
    """`auth_header(user)` → an Authorization header with a fresh token for that user."""

    def make(user: User) -> dict[str, str]:
        # Real time: tests that move ctx.clock must not hand out already-expired tokens.
        real = Context(settings=ctx.settings, session_factory=ctx.session_factory)
        return {"Authorization": f"Bearer {issue_token(real, user)}"}

    return make
