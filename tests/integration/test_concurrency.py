"""Real concurrent requests against gunicorn (2 workers × 4 threads) on the suite's kind of
database: a throwaway PostgreSQL database, or a fresh SQLite file (the embedded default).
One verification of a fix wins and the others are a clean 409; report numbers stay unique.

Each race is run for many rounds: a lost race shows up in some rounds only.
"""

from __future__ import annotations

import io
import itertools
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import create_engine, func, select, text

from service.access.auth import issue_token
from service.core.context import Context
from service.core.settings import Settings
from service.directory.models import User
from service.hazards.models import Hazard, HazardEvent
from service.hazards.queries import verify_all_chains
from tests.api.hazard_helpers import in_days
from tests.factories import World, build_world
from tests.hostile import plain_jpeg
from tests.live_server import app_env, gunicorn
from tests.livedb import live_context
from uploads_schema.vocabulary import HazardAction, HazardStatus

VERIFY_ROUNDS = 20
REPORT_ROUNDS = 5
REPORTERS = 8
TIMEOUT = 30.0  # seconds per request; a writer waits for SQLite's lock well within it
ERROR_KEYS = {"status", "code", "message", "message_en", "errors"}
_shade = itertools.count(1)


@dataclass
class Live:
    """gunicorn on a database of its own, with build_world's people in it."""

    base: str
    ctx: Context
    world: World

    def headers(self, user: User) -> dict[str, str]:
        return {"Authorization": f"Bearer {issue_token(self.ctx, user)}"}

    def post(self, path: str, user: User, **kwargs: Any) -> requests.Response:
        return requests.post(
            f"{self.base}/api/v1{path}", headers=self.headers(user), timeout=TIMEOUT, **kwargs
        )

    def upload(self, user: User) -> int:
        """A distinct photo (each call a different image); its media id."""
        n = next(_shade)
        photo = plain_jpeg(320 + n % 50, 240 + n // 50 % 50)
        answer = self.post("/media", user, files={"file": (f"p{n}.jpg", io.BytesIO(photo))})
        assert answer.status_code == 201, answer.text
        return int(answer.json()["id"])


@pytest.fixture
def live(database_url: str, settings: Settings, tmp_path: Path) -> Iterator[Live]:
    with live_context(database_url, settings, "conc") as ctx:
        with ctx.session_factory() as session:
            world = build_world(session)
        high = "100000/minute"
        env = app_env(
            APP_ENV="test",
            DATABASE_URL=ctx.settings.database_url,
            SECRET_KEY=ctx.settings.secret_key,
            PUBLIC_BASE_URL="https://mashangcha.test",
            MEDIA_ROOT=str(tmp_path / "media"),
            RATELIMIT_SCAN=high,
            RATELIMIT_LOGIN=high,
            RATELIMIT_UPLOAD=high,
            LOG_FORMAT="text",
        )
        with gunicorn(env, tmp_path / "gunicorn.log", workers=2, threads=4) as base:
            yield Live(base, ctx, world)


def _race(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run the callables at the same instant in threads; return their results in order."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)
    failures: list[BaseException] = []

    def run(i: int, call: Callable[[], Any]) -> None:
        barrier.wait()
        try:
            results[i] = call()
        except BaseException as exc:  # re-raised in the test's thread
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT * 3)
    if failures:
        raise failures[0]
    return results


def _awaiting_verification(live: Live, qr_token: str) -> int:
    """A hazard reported, assigned and fixed through the API; its id."""
    world = live.world
    media = live.upload(world.inspector)
    reported = live.post(
        "/hazards",
        world.inspector,
        json={"qr_token": qr_token, "category": "fire", "description": "x", "media_ids": [media]},
    )
    assert reported.status_code == 201, reported.text
    hid = reported.json()["hazard"]["id"]
    assigned = live.post(
        f"/hazards/{hid}/assign",
        world.inspector,
        json={"assignee_id": world.officer.id, "deadline": in_days(3)},
    )
    assert assigned.status_code == 200, assigned.text
    fix = live.upload(world.officer)
    submitted = live.post(
        f"/hazards/{hid}/submit-fix", world.officer, json={"note": "done", "media_ids": [fix]}
    )
    assert submitted.status_code == 200, submitted.text
    assert submitted.json()["status"] == "verifying"
    return int(hid)


def _issue_code(live: Live) -> str:
    issued = live.post(
        f"/enterprises/{live.world.enterprise_a.id}/qrcodes", live.world.admin, json={}
    )
    assert issued.status_code == 201, issued.text
    return str(issued.json()["token"])


def test_inspectors_verifying_one_fix_at_once_get_one_200_and_409s(live: Live) -> None:
    """SPEC §3: verifiers at the same instant yield exactly one success and clean 409s, never
    a double transition nor a 503 (SQLite: a deferred transaction losing its lock upgrade)."""
    world = live.world
    qr_token = _issue_code(live)
    verifiers = [world.inspector, world.district_supervisor, world.street_supervisor]
    hazard_ids = []
    for _ in range(VERIFY_ROUNDS):
        hid = _awaiting_verification(live, qr_token)
        hazard_ids.append(hid)

        def verify(user: User, hid: int = hid) -> Callable[[], requests.Response]:
            return lambda: live.post(f"/hazards/{hid}/verify", user, json={"passed": True})

        answers = _race([verify(user) for user in verifiers])
        statuses = sorted(answer.status_code for answer in answers)
        assert statuses == [200, 409, 409], [(a.status_code, a.text[:200]) for a in answers]
        for answer in answers:
            if answer.status_code == 409:
                body = answer.json()
                assert set(body) == ERROR_KEYS and body["code"] == "invalid_transition", body
            else:
                assert answer.json()["status"] == "closed"

    with live.ctx.session_factory() as s:
        passes = dict(
            s.execute(
                select(HazardEvent.hazard_id, func.count(HazardEvent.id))
                .where(HazardEvent.action == HazardAction.PASS)
                .group_by(HazardEvent.hazard_id)
            ).all()
        )
        assert passes == dict.fromkeys(hazard_ids, 1)
        for hazard in s.scalars(select(Hazard).where(Hazard.id.in_(hazard_ids))):
            assert hazard.status is HazardStatus.CLOSED
            assert hazard.version == 4  # report 1, assign 2, fix 3, one pass 4
    checked, breaks = verify_all_chains(live.ctx)
    assert (checked, breaks) == (VERIFY_ROUNDS, [])


def test_concurrent_uploads_and_reports_all_succeed_with_unique_numbers(live: Live) -> None:
    """Reporters at the same instant (each uploading a photo, then reporting) all succeed,
    and the day's numbers run 0001, 0002, … without a gap or a repeat."""
    world = live.world
    qr_token = _issue_code(live)

    def report() -> tuple[int, str]:
        media = live.upload(world.inspector)
        answer = live.post(
            "/hazards",
            world.inspector,
            json={
                "qr_token": qr_token,
                "category": "fire",
                "description": "x",
                "media_ids": [media],
            },
        )
        if answer.status_code != 201:
            return answer.status_code, answer.text[:200]
        return 201, answer.json()["hazard"]["number"]

    numbers: list[str] = []
    for _ in range(REPORT_ROUNDS):
        results = _race([report] * REPORTERS)
        assert [status for status, _ in results] == [201] * REPORTERS, results
        numbers += [number for _, number in results]
    assert sorted(n[-4:] for n in numbers) == [
        f"{i:04d}" for i in range(1, REPORT_ROUNDS * REPORTERS + 1)
    ]
    with live.ctx.session_factory() as s:
        assert s.scalar(select(func.count(Hazard.id))) == REPORT_ROUNDS * REPORTERS


@pytest.fixture
def live_ctx(database_url: str, settings: Settings) -> Iterator[Context]:
    """A throwaway PostgreSQL database whose commits are real."""
    if not database_url.startswith("postgresql"):
        pytest.skip("kills a PostgreSQL backend (set DATABASE_URL); SQLite has none")
    with live_context(database_url, settings, "conc") as live:
        yield live


def test_a_connection_killed_between_statements_is_not_an_error_on_leaving(live_ctx):
    """The backend dies while the unit of work is idle: closing it must not raise (was a 500)."""
    admin = create_engine(live_ctx.settings.database_url, isolation_level="AUTOCOMMIT")
    try:
        with live_ctx.uow() as uow:
            pid = uow.session.scalar(text("SELECT pg_backend_pid()"))
            with admin.connect() as conn:
                conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        with live_ctx.uow() as uow:  # the pool hands out a fresh connection
            assert uow.session.scalar(select(func.count(Hazard.id))) == 0
    finally:
        admin.dispose()
