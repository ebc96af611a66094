"""The README's limits hold across processes (issue 15, classes 3 and 4): gunicorn with 2
workers, no REDIS_URL, on a database of the test's own (SQLite or PostgreSQL, as the
suite's), every request on a fresh connection. The lockout locks after exactly 5 wrong
passwords and stays locked on every worker; a client address gets exactly 60 scans a
minute; an account exactly 60 uploads a minute, however it spells `Bearer`.

Which worker answered is read from `X-Request-ID`, whose first half is random per process:
each test checks that both workers served it.
"""

from __future__ import annotations

import itertools
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path

import pytest
import requests
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.core import migrations, ratelimits
from service.core.context import Context
from service.core.db import make_engine, make_session_factory
from service.core.models import RateLimitSlot
from service.core.ratelimits import DatabaseStorage
from service.core.settings import PROJECT_ROOT, Settings
from tests.conftest import TEST_SECRET
from tests.factories import PASSWORD, build_world
from tests.hostile import plain_jpeg
from tests.livedb import throwaway_database

WRONG = "wrong-password"
ERROR_KEYS = {"status", "code", "message", "message_en", "errors"}
_clients = itertools.count(1)


@dataclass(frozen=True)
class Deployment:
    base: str
    usernames: dict[str, str]
    enterprise_id: int


@contextmanager
def own_database(suite_url: str, folder: Path) -> Iterator[str]:
    """A migrated database for this module only: its commits are real and stay out of the
    suite's database."""
    if suite_url.startswith("postgresql"):
        with throwaway_database(suite_url, "limits") as url:
            yield url
        return
    url = f"sqlite:///{folder / 'limits.db'}"
    migrations.upgrade(url)
    yield url


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def gunicorn(database_url: str, folder: Path) -> Iterator[str]:
    """gunicorn.conf.py with 2 workers, the default limits, behind one trusted proxy (so each
    request can name its client address in X-Forwarded-For)."""
    ours = {f.name.upper() for f in fields(Settings)} | {"GUNICORN_CMD_ARGS", "WEB_CONCURRENCY"}
    env = {k: v for k, v in os.environ.items() if k not in ours}
    env |= {
        "APP_ENV": "test",
        "DATABASE_URL": database_url,
        "SECRET_KEY": TEST_SECRET,
        "MEDIA_ROOT": str(folder / "media"),
        "LOG_FORMAT": "text",
        "TRUST_PROXY_HOPS": "1",
    }
    port = _free_port()
    command = [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py", "-w", "2"]
    command += ["--no-control-socket", "--bind", f"127.0.0.1:{port}", "wsgi:app"]
    log_path = folder / "gunicorn.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                pytest.fail(f"gunicorn exited with {process.returncode}:\n{log_path.read_text()}")
            try:
                if requests.get(f"{base}/api/v1/readyz", timeout=5).status_code == 200:
                    break
            except requests.RequestException:  # refused, or slow to answer on a busy machine
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"gunicorn not ready within 60 s:\n{log_path.read_text()}")
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        sys.stderr.write(log_path.read_text(errors="replace")[-20_000:])  # shown on failure


@pytest.fixture(scope="module")
def database(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with own_database(database_url, tmp_path_factory.mktemp("limits-db")) as url:
        yield url


@pytest.fixture(scope="module")
def deployment(database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    engine = make_engine(database)
    try:
        with Session(engine, expire_on_commit=False) as session:
            world = build_world(session)
    finally:
        engine.dispose()
    usernames = {
        "admin": world.admin.username,
        "district": world.district_supervisor.username,
        "street": world.street_supervisor.username,
        "inspector": world.inspector.username,
        "officer": world.officer.username,
        "reporter": world.reporter.username,
    }
    with gunicorn(database, tmp_path_factory.mktemp("limits-gunicorn")) as base:
        yield Deployment(base, usernames, world.enterprise_a.id)


def call(
    deployment: Deployment,
    method: str,
    path: str,
    *,
    client: str | None = None,
    headers: dict[str, str] | None = None,
    **kwargs: object,
) -> requests.Response:
    """One request on a connection of its own (closed after), from `client` (a new address
    unless given)."""
    if client is None:
        n = next(_clients)
        client = f"10.{n // 250 % 250}.{n % 250}.7"
    sent = {"Connection": "close", "X-Forwarded-For": client, **(headers or {})}
    return requests.request(method, deployment.base + path, headers=sent, timeout=60, **kwargs)


def login(deployment: Deployment, username: str, password: str, **kw: object) -> requests.Response:
    return call(
        deployment,
        "POST",
        "/api/v1/auth/login",
        json={"username": username, "password": password},
        **kw,
    )


def worker(response: requests.Response) -> str:
    """Which process answered: the random half of its request ids."""
    return response.headers["X-Request-ID"][:16]


def error(response: requests.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == ERROR_KEYS and body["code"] == code, body
    return body


@pytest.mark.parametrize("who", ["district", "nobody"])
def test_exactly_five_wrong_passwords_lock_a_username_on_every_worker(deployment, who):
    name = deployment.usernames.get(who, "no-such-user")
    answered_by = set()
    for _ in range(5):
        answer = login(deployment, name, WRONG)
        error(answer, 401, "invalid_credentials")
        answered_by.add(worker(answer))

    # Never flips back, whichever worker answers: at least 16 tries, more until both
    # workers have answered (which one accepts a connection is the kernel's choice, and on
    # a busy machine one worker can take a long run of them).
    attempt = 0
    while attempt < 16 or (len(answered_by) < 2 and attempt < 200):
        answer = login(deployment, name, PASSWORD if attempt % 2 else WRONG)
        body = error(answer, 429, "login_locked")
        assert body["message"] == "登录失败次数过多，账号已临时锁定，请 15 分钟后再试"
        assert 880 <= int(answer.headers["Retry-After"]) <= 900
        answered_by.add(worker(answer))
        attempt += 1

    assert len(answered_by) == 2, "both workers must have answered"


def test_attempts_at_once_cannot_share_the_last_failure_left(deployment):
    name = deployment.usernames["street"]
    for _ in range(4):
        error(login(deployment, name, WRONG), 401, "invalid_credentials")
    start = threading.Barrier(8)

    def attempt(_n: int) -> requests.Response:
        start.wait()
        return login(deployment, name, WRONG)

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(attempt, range(8)))

    assert sorted(a.status_code for a in answers) == [401] + [429] * 7
    assert len({worker(a) for a in answers}) == 2, "both workers must have answered"
    error(login(deployment, name, PASSWORD), 429, "login_locked")


def test_a_success_clears_the_count_for_every_worker(deployment):
    name = deployment.usernames["officer"]
    for _ in range(4):
        error(login(deployment, name, WRONG), 401, "invalid_credentials")
    assert login(deployment, name, PASSWORD).status_code == 200
    for _ in range(5):
        error(login(deployment, name, WRONG), 401, "invalid_credentials")
    error(login(deployment, name, PASSWORD), 429, "login_locked")


def _token(deployment: Deployment, who: str) -> str:
    answer = login(deployment, deployment.usernames[who], PASSWORD)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


def test_a_client_address_gets_exactly_sixty_scans_a_minute_across_workers(deployment):
    admin = {"Authorization": f"Bearer {_token(deployment, 'admin')}"}
    issued = call(
        deployment, "POST", f"/api/v1/enterprises/{deployment.enterprise_id}/qrcodes", headers=admin
    )
    assert issued.status_code == 201, issued.text
    path = f"/api/v1/scan/{issued.json()['token']}"
    address = "10.200.0.1"

    answers = [call(deployment, "GET", path, client=address) for _ in range(60)]
    over = call(deployment, "GET", path, client=address)

    assert [a.status_code for a in answers] == [200] * 60
    # One count for the address, whichever worker answered: 59, 58, … 0 left.
    assert [int(a.headers["X-RateLimit-Remaining"]) for a in answers] == list(range(59, -1, -1))
    error(over, 429, "rate_limited")
    assert 0 < int(over.headers["Retry-After"]) <= 60
    assert len({worker(a) for a in [*answers, over]}) == 2, "both workers must have answered"
    assert call(deployment, "GET", path, client="10.200.0.2").status_code == 200


def test_an_account_gets_exactly_sixty_uploads_a_minute_however_it_spells_bearer(deployment):
    token = _token(deployment, "inspector")
    spellings = [f"Bearer {token}", f"bearer {token}", f"Bearer   {token}", f"BEARER {token}"]

    def upload(authorization: str, n: int) -> requests.Response:
        photo = plain_jpeg(120 + n, 90)  # a new photo each time, not a retry of the last
        return call(
            deployment,
            "POST",
            "/api/v1/media",
            headers={"Authorization": authorization},
            files={"file": (f"p{n}.jpg", photo, "image/jpeg")},
        )

    answers = [upload(spellings[n % len(spellings)], n) for n in range(60)]
    over = upload(spellings[0], 60)

    assert [a.status_code for a in answers] == [201] * 60, [a.text for a in answers[-3:]]
    assert [int(a.headers["X-RateLimit-Remaining"]) for a in answers] == list(range(59, -1, -1))
    error(over, 429, "rate_limited")
    assert len({worker(a) for a in [*answers, over]}) == 2, "both workers must have answered"
    # Per account: another one still uploads.
    other = f"Bearer {_token(deployment, 'reporter')}"
    assert upload(other, 61).status_code == 201


def test_hits_taken_at_once_never_exceed_the_limit(database):
    """The storage itself, from 12 threads on their own connections at once: exactly the
    limit is taken, round after round."""
    engine = make_engine(database, pool_size=12)
    context = Context(
        settings=Settings(app_env="test", database_url=database, secret_key=TEST_SECRET),
        session_factory=make_session_factory(engine),
    )
    storage = DatabaseStorage(context_of=lambda: context)
    start = threading.Barrier(12)

    def hit(key: str) -> bool:
        start.wait()
        return storage.acquire_entry(key, 5, 60)

    try:
        with ThreadPoolExecutor(12) as pool:
            for round_ in range(5):
                key = f"test/threads/{round_}"
                taken = list(pool.map(hit, [key] * 12))
                assert taken.count(True) == 5, taken
                assert storage.get_moving_window(key, 5, 60)[1] == 5
    finally:
        engine.dispose()


def test_expired_hits_are_deleted(database, monkeypatch):
    engine = make_engine(database)
    context = Context(
        settings=Settings(app_env="test", database_url=database, secret_key=TEST_SECRET),
        session_factory=make_session_factory(engine),
    )
    storage = DatabaseStorage(context_of=lambda: context)
    try:
        assert storage.acquire_entry("test/purge/short", 5, 1)  # a one-second window
        time.sleep(1.1)
        monkeypatch.setattr(ratelimits, "_next_purge", 0.0)  # this process's purge is due
        assert storage.acquire_entry("test/purge/long", 5, 60)
        with engine.connect() as connection:
            keys = set(connection.scalars(select(RateLimitSlot.key)))
    finally:
        engine.dispose()

    assert "test/purge/long" in keys and "test/purge/short" not in keys
