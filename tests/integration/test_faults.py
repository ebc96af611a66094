"""Nothing is lost (SPEC §5): 200 reports under gunicorn while storage and the database fail.

Real processes and sockets: gunicorn (4 gthread workers) on a throwaway PostgreSQL
database, moto's S3 server behind a TCP proxy the test cuts and restores, and 16 client
threads that retry every failed or timed-out request with the same photo and the same
`Idempotency-Key`, like the mini-program on a weak network.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from service.access.auth import issue_token
from service.core.context import Context
from service.core.db import make_engine, make_session_factory
from service.core.settings import PROJECT_ROOT, Settings
from service.hazards.models import Hazard, HazardMedia
from service.hazards.queries import verify_all_chains
from service.media.models import Media
from service.media.storage import MinioStorage
from tests.factories import World, build_world
from tests.fakes.tcp_proxy import TcpProxy
from tests.fixtures_s3 import S3_ACCESS_KEY, S3_SECRET_KEY
from tests.hostile import plain_jpeg
from tests.livedb import throwaway_database
from uploads_schema.vocabulary import MediaStatus

REPORTS = 200
CLIENTS = 16
CLIENT_TIMEOUT = 10.0  # seconds; every server-side dependency call gives up well before
RUN_BUDGET = 75.0  # seconds for all reports, retries included
STORAGE_CUT_SECONDS = 3.0
CUT_AFTER, KILL_AFTER = 40, 110  # reports finished before each fault, so both land mid-run
APP_NAME = "mashangcha-faults"  # application_name of the app's connections, to kill only them
CLEAN_503 = {"storage_unavailable", "database_unavailable"}
ERROR_KEYS = {"status", "code", "message", "message_en", "errors"}


@dataclass
class LiveDb:
    url: str
    name: str
    ctx: Context
    world: World


@pytest.fixture
def live_db(database_url: str, settings: Settings) -> Iterator[LiveDb]:
    """A throwaway, migrated PostgreSQL database holding build_world's data, dropped after."""
    if not database_url.startswith("postgresql"):
        pytest.skip(
            "the fault test needs PostgreSQL (set DATABASE_URL=postgresql+psycopg://…): "
            "it kills database backends under gunicorn, which SQLite does not have"
        )
    with throwaway_database(database_url, "faults") as url:
        engine = make_engine(url)
        try:
            ctx = Context(
                settings=settings.with_overrides(database_url=url),
                session_factory=make_session_factory(engine),
            )
            with ctx.session_factory() as session:
                world = build_world(session)
            yield LiveDb(url, make_url(url).database or "", ctx, world)
        finally:
            engine.dispose()


@pytest.fixture
def storage_proxy(s3_endpoint: str) -> Iterator[TcpProxy]:
    proxy = TcpProxy(s3_endpoint).start()
    yield proxy
    proxy.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _app_env(live: LiveDb, storage_endpoint: str, bucket: str) -> dict[str, str]:
    """The parent's environment minus every setting, plus this run's settings."""
    ours = {f.name.upper() for f in fields(Settings)} | {"GUNICORN_CMD_ARGS", "WEB_CONCURRENCY"}
    env = {k: v for k, v in os.environ.items() if k not in ours}
    high = "100000/minute"
    env.update(
        APP_ENV="test",
        DATABASE_URL=f"{live.url}?application_name={APP_NAME}",
        SECRET_KEY=live.ctx.settings.secret_key,
        PUBLIC_BASE_URL="https://mashangcha.test",
        STORAGE_BACKEND="minio",
        MINIO_ENDPOINT=storage_endpoint,
        MINIO_ACCESS_KEY=S3_ACCESS_KEY,
        MINIO_SECRET_KEY=S3_SECRET_KEY,
        MINIO_BUCKET=bucket,
        MINIO_REGION="us-east-1",  # presigning then needs no request to storage
        RATELIMIT_SCAN=high,
        RATELIMIT_LOGIN=high,
        RATELIMIT_UPLOAD=high,
        LOGIN_LOCKOUT=high,
        LOG_FORMAT="text",
    )
    return env


@contextmanager
def gunicorn(env: dict[str, str], log_path: Path) -> Iterator[str]:
    """Run the production gunicorn config with 4 workers; yield its base URL once ready.

    Its log goes to a file (a full pipe would block the workers) and is replayed on
    stderr, which pytest shows when the test fails.
    """
    base = f"http://127.0.0.1:{_free_port()}"
    command = [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py", "-w", "4"]
    # No control socket: its default path is shared by every gunicorn of this user.
    command += ["--no-control-socket", "--bind", base.removeprefix("http://"), "wsgi:app"]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        _wait_ready(process, base)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        _replay_log(log_path)


def _wait_ready(process: subprocess.Popen[bytes], base: str) -> None:
    deadline = time.monotonic() + 60  # a loaded 2-core machine, or parallel tests
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"gunicorn exited with {process.returncode} before it was ready")
        try:
            if requests.get(f"{base}/api/v1/readyz", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    pytest.fail("gunicorn was not ready within 60 s")


def _replay_log(log_path: Path) -> None:
    """Everything but access lines of successful requests (tracebacks, warnings, errors)."""
    lines = log_path.read_text(errors="replace").splitlines()
    noisy = [
        line
        for line in lines
        if not (line.startswith("127.0.0.1") and '" 20' in line)  # gunicorn's access log
        and not line.endswith("mashangcha.access: request")  # the app's, in text format
    ]
    sys.stderr.write(f"--- gunicorn log ({len(lines)} lines, access lines of 2xx left out) ---\n")
    sys.stderr.write("\n".join(noisy[-400:]) + "\n")


# --- the clients ---------------------------------------------------------------------------


@dataclass
class Answer:
    what: str
    status: int
    body: Any


@dataclass
class Sent:
    """One report as its client saw it succeed."""

    index: int
    media_ids: list[int]
    hazard_id: int
    number: str


class GaveUp(Exception):
    """A request kept failing past the run's budget."""


@dataclass
class Clients:
    """Every non-2xx answer, timeout and transport error the clients met, and their progress."""

    deadline: float
    failed: list[Answer] = field(default_factory=list)
    timeouts: list[str] = field(default_factory=list)
    transport_errors: list[str] = field(default_factory=list)
    attempts: int = 0
    finished: int = 0
    lock: threading.Condition = field(default_factory=threading.Condition)

    def attempt(self, what: str, method: str, url: str, **kwargs: Any) -> Any | None:
        """One request on a fresh connection; the JSON of a 2xx answer, else None (recorded)."""
        with self.lock:
            self.attempts += 1
        try:
            response = requests.request(method, url, timeout=CLIENT_TIMEOUT, **kwargs)
        except requests.Timeout as exc:
            with self.lock:
                self.timeouts.append(f"{what}: {exc}")
            return None
        except requests.ConnectionError as exc:
            with self.lock:
                self.transport_errors.append(f"{what}: {exc}")
            return None
        if 200 <= response.status_code < 300:
            return response.json()
        try:
            body = response.json()
        except ValueError:
            body = response.text[:500]
        with self.lock:
            self.failed.append(Answer(what, response.status_code, body))
        return None

    def until_success(self, what: str, method: str, url: str, **kwargs: Any) -> Any:
        """Retry the very same request, backing off a little, until it succeeds."""
        pause = 0.1
        while (result := self.attempt(what, method, url, **kwargs)) is None:
            if time.monotonic() > self.deadline:
                raise GaveUp(what)
            time.sleep(pause)
            pause = min(pause * 2, 1.0)
        return result

    def report_done(self) -> None:
        with self.lock:
            self.finished += 1
            self.lock.notify_all()

    def wait_finished(self, count: int) -> None:
        with self.lock:
            if not self.lock.wait_for(
                lambda: self.finished >= count, timeout=max(0.0, self.deadline - time.monotonic())
            ):
                pytest.fail(f"only {self.finished} of {count} reports finished within the budget")


def _photos() -> list[list[bytes]]:
    """1–2 small photos per report, each a different image (so a distinct sha256)."""
    photos, n = [], 0
    for index in range(REPORTS):
        batch = []
        for _ in range(1 + index % 2):
            batch.append(plain_jpeg(120 + n % 100, 90 + n // 100, quality=80))
            n += 1
        photos.append(batch)
    return photos


def _kill_app_backends(database_url: str, name: str) -> int:
    """pg_terminate_backend every connection the app holds to its database, at once."""
    admin = create_engine(database_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            return int(
                conn.scalar(
                    text(
                        "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) "
                        "FROM pg_stat_activity WHERE datname = :db AND application_name = :app"
                    ),
                    {"db": name, "app": APP_NAME},
                )
            )
    finally:
        admin.dispose()


def _is_clean_503(answer: Answer) -> bool:
    body = answer.body
    return (
        answer.status == 503
        and isinstance(body, dict)
        and set(body) == ERROR_KEYS
        and body["status"] == 503
        and body["code"] in CLEAN_503
        and isinstance(body["message"], str)
        and bool(body["message"])
        and isinstance(body["message_en"], str)
        and isinstance(body["errors"], dict)
    )


# --- the test ------------------------------------------------------------------------------


def test_reports_survive_storage_and_database_faults_without_loss_or_duplicates(
    live_db: LiveDb, storage_proxy: TcpProxy, s3_endpoint: str, database_url: str, tmp_path
):
    world, ctx = live_db.world, live_db.ctx
    bucket = f"faults-{uuid.uuid4().hex[:12]}"
    reporters = [
        world.reporter,
        world.inspector,
        world.officer,
        world.street_supervisor,
        world.district_supervisor,
    ]
    auth = [{"Authorization": f"Bearer {issue_token(ctx, user)}"} for user in reporters]
    photos = _photos()
    env = _app_env(live_db, storage_proxy.endpoint, bucket)
    started = time.monotonic()

    with gunicorn(env, tmp_path / "gunicorn.log") as base:
        admin = {"Authorization": f"Bearer {issue_token(ctx, world.admin)}"}
        issued = requests.post(
            f"{base}/api/v1/enterprises/{world.enterprise_a.id}/qrcodes",
            json={},
            headers=admin,
            timeout=CLIENT_TIMEOUT,
        )
        assert issued.status_code == 201, issued.text
        qr_token = issued.json()["token"]
        clients = Clients(deadline=time.monotonic() + RUN_BUDGET)

        def report(index: int) -> Sent:
            headers = auth[index % len(auth)]
            media_ids = [
                clients.until_success(
                    f"upload {index}.{k}",
                    "POST",
                    f"{base}/api/v1/media",
                    files={"file": (f"r{index}-{k}.jpg", data, "image/jpeg")},
                    headers=headers,
                )["id"]
                for k, data in enumerate(photos[index])
            ]
            body = {
                "qr_token": qr_token,
                "category": "electrical",
                "description": f"配电箱电缆外皮破损 #{index}",
                "media_ids": media_ids,
            }
            answer = clients.until_success(
                f"report {index}",
                "POST",
                f"{base}/api/v1/hazards",
                data=json.dumps(body, ensure_ascii=False).encode(),  # the same bytes each time
                headers={
                    **headers,
                    "Content-Type": "application/json",
                    "Idempotency-Key": f"faults-{index}",
                },
            )
            clients.report_done()
            hazard = answer["hazard"]
            return Sent(index, media_ids, hazard["id"], hazard["number"])

        with ThreadPoolExecutor(CLIENTS) as pool:
            futures = [pool.submit(report, i) for i in range(REPORTS)]
            clients.wait_finished(CUT_AFTER)
            storage_proxy.cut()  # storage unreachable: connections reset, new ones refused
            time.sleep(STORAGE_CUT_SECONDS)
            storage_proxy.restore()
            clients.wait_finished(KILL_AFTER)
            killed = _kill_app_backends(database_url, live_db.name)
            sent = [future.result() for future in futures]  # a GaveUp surfaces here
        run_seconds = time.monotonic() - started

    codes = Counter(
        a.body.get("code") if isinstance(a.body, dict) else None for a in clients.failed
    )
    sys.stderr.write(
        f"{REPORTS} reports in {run_seconds:.1f} s, {clients.attempts} requests, "
        f"non-2xx by code {dict(codes)}, {storage_proxy.refused} storage connections refused, "
        f"{killed} database backends killed\n"
    )
    # Both faults really happened.
    assert storage_proxy.refused > 0 and codes["storage_unavailable"] > 0
    assert killed > 0
    # Every failure was a clean, retryable 503 in the error shape: no 500, no hang, no reset.
    assert [a for a in clients.failed if not _is_clean_503(a)] == []
    # The app bounds every dependency call (storage 5 s, a refused or killed connection
    # fails at once), so a client timeout means a hung request: none is allowed.
    assert clients.timeouts == []
    assert clients.transport_errors == []  # a worker crash or a dropped request shows here

    _assert_nothing_lost(ctx, sent)
    _assert_objects_stored(s3_endpoint, bucket, ctx, sent)


def _assert_nothing_lost(ctx: Context, sent: list[Sent]) -> None:
    photos_sent = {media_id: s.hazard_id for s in sent for media_id in s.media_ids}
    assert len(photos_sent) == sum(len(s.media_ids) for s in sent)  # no id answered twice
    assert len({s.hazard_id for s in sent}) == REPORTS  # each report has its own hazard
    with ctx.session_factory() as session:
        assert session.scalar(select(func.count(Hazard.id))) == REPORTS
        numbers = session.scalars(select(Hazard.number)).all()
        assert len(set(numbers)) == REPORTS
        assert sorted(numbers) == sorted(s.number for s in sent)
        attached = session.execute(select(HazardMedia.media_id, HazardMedia.hazard_id)).all()
        # Every photo sent is attached exactly once, to the hazard its report created.
        assert len(attached) == len({media_id for media_id, _ in attached})
        assert dict(attached) == photos_sent
        not_attached = session.scalars(
            select(Media.id)
            .join(HazardMedia, HazardMedia.media_id == Media.id)
            .where(Media.status != MediaStatus.ATTACHED)
        ).all()
        assert not_attached == []
    checked, breaks = verify_all_chains(ctx)
    assert (checked, breaks) == (REPORTS, [])


def _assert_objects_stored(endpoint: str, bucket: str, ctx: Context, sent: list[Sent]) -> None:
    """Through the S3 server itself, not the proxy: each attached photo and thumbnail exist."""
    storage = MinioStorage(
        endpoint=endpoint,
        access_key=S3_ACCESS_KEY,
        secret_key=S3_SECRET_KEY,
        bucket=bucket,
        region="us-east-1",
        create_bucket=False,
    )
    media_ids = [media_id for s in sent for media_id in s.media_ids]
    with ctx.session_factory() as session:
        rows = session.scalars(select(Media).where(Media.id.in_(media_ids))).all()
    assert len(rows) == len(media_ids)
    for media in rows:
        assert storage.stat(media.key).size == media.size_bytes
        assert storage.exists(media.thumb_key)
