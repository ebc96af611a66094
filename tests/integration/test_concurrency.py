"""Real concurrent transactions on PostgreSQL: one verification wins, numbers stay unique."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, func, select, text

from miniprogram_api import create_app
from service.access.auth import issue_token
from service.core.context import Context
from service.hazards.models import Hazard, HazardEvent
from tests.api.hazard_helpers import in_days, scan_token, upload
from tests.factories import build_world
from tests.livedb import live_context
from uploads_schema.vocabulary import HazardAction


@pytest.fixture
def live_ctx(database_url: str, settings) -> Iterator[Context]:
    """A throwaway PostgreSQL database whose commits are real, for true concurrency."""
    if not database_url.startswith("postgresql"):
        pytest.skip("concurrency is checked on PostgreSQL (set DATABASE_URL); SQLite serializes")
    with live_context(database_url, settings, "conc") as live:
        yield live


def _race(calls):
    """Run the callables at the same instant in threads; return their results in order."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(i, call):
        barrier.wait()
        results[i] = call()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


def test_two_inspectors_verifying_at_once_yield_one_success_and_one_409(live_ctx):
    session = live_ctx.session_factory()
    world = build_world(session)
    session.close()
    app = create_app(context=live_ctx)
    client = app.test_client()

    def hdr(user):
        return {"Authorization": f"Bearer {issue_token(live_ctx, user)}"}

    token = scan_token(client, hdr(world.admin), world.enterprise_a.id)
    media = upload(client, hdr(world.inspector))
    hazard = client.post(
        "/api/v1/hazards",
        json={"qr_token": token, "category": "fire", "description": "x", "media_ids": [media]},
        headers=hdr(world.inspector),
    ).json["hazard"]
    hid = hazard["id"]
    client.post(
        f"/api/v1/hazards/{hid}/assign",
        json={"assignee_id": world.officer.id, "deadline": in_days(3)},
        headers=hdr(world.inspector),
    )
    fix = upload(client, hdr(world.officer))
    submitted = client.post(
        f"/api/v1/hazards/{hid}/submit-fix",
        json={"note": "done", "media_ids": [fix]},
        headers=hdr(world.officer),
    )
    assert submitted.json["status"] == "verifying"

    def verify(user):
        return lambda: (
            app.test_client()
            .post(f"/api/v1/hazards/{hid}/verify", json={"passed": True}, headers=hdr(user))
            .status_code
        )

    statuses = _race(
        [
            verify(world.inspector),
            verify(world.district_supervisor),
            verify(world.street_supervisor),
        ]
    )
    assert sorted(statuses) == [200, 409, 409]
    with live_ctx.session_factory() as s:
        passes = s.scalar(
            select(func.count(HazardEvent.id)).where(
                HazardEvent.hazard_id == hid, HazardEvent.action == HazardAction.PASS
            )
        )
        assert passes == 1
        assert s.get(Hazard, hid).version == 4  # report 1, assign 2, fix 3, one pass 4


def test_concurrent_reports_get_unique_numbers(live_ctx):
    session = live_ctx.session_factory()
    world = build_world(session)
    session.close()
    app = create_app(context=live_ctx)
    client = app.test_client()
    headers = {"Authorization": f"Bearer {issue_token(live_ctx, world.inspector)}"}
    token = scan_token(
        client,
        {"Authorization": f"Bearer {issue_token(live_ctx, world.admin)}"},
        world.enterprise_a.id,
    )
    photos = [upload(client, headers) for _ in range(8)]

    def report(media_id):
        def call():
            response = app.test_client().post(
                "/api/v1/hazards",
                json={
                    "qr_token": token,
                    "category": "fire",
                    "description": "x",
                    "media_ids": [media_id],
                },
                headers=headers,
            )
            return response.status_code, response.get_json()["hazard"]["number"]

        return call

    results = _race([report(m) for m in photos])
    assert [status for status, _ in results] == [201] * 8
    numbers = sorted(number for _, number in results)
    assert len(set(numbers)) == 8
    assert [n[-4:] for n in numbers] == [f"{i:04d}" for i in range(1, 9)]


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
