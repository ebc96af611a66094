"""The Idempotency-Key mechanism's promises beyond replay (tests/api/test_idempotent_writes.py
has the route table): errors are not remembered, keys are scoped, answers are sealed."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from miniprogram_api.idempotency import REPLAYED_HEADER
from service.core import idempotency as core_idempotency
from service.core.models import IdempotencyRecord
from service.directory.models import Region
from tests.api.helpers import assert_error


def _region(n: int, parent_id: int) -> dict[str, Any]:
    return {
        "code": f"{890000000000 + n}",
        "name": "新社区",
        "level": "community",
        "parent_id": parent_id,
    }


def _records(db: Any) -> int:
    return len(db.scalars(select(IdempotencyRecord)).all())


def test_an_error_is_not_remembered_so_a_retry_may_succeed(client, world, auth_header, db) -> None:  # type: ignore[no-untyped-def]
    h = {**auth_header(world.admin), "Idempotency-Key": "first-try-fails"}
    body = _region(1, world.street_a.id)
    # The parent is still missing at the first try (another tab creates it meanwhile).
    failed = client.post("/api/v1/regions", json={**body, "parent_id": 999999}, headers=h)
    assert failed.status_code in (404, 422)
    assert _records(db) == 0
    ok = client.post("/api/v1/regions", json=body, headers=h)
    assert ok.status_code == 201 and REPLAYED_HEADER not in ok.headers


def test_keys_are_scoped_to_the_caller_and_the_route(client, world, auth_header) -> None:  # type: ignore[no-untyped-def]
    key = {"Idempotency-Key": "same-key"}
    admin = {**auth_header(world.admin), **key}
    first = client.post("/api/v1/regions", json=_region(2, world.street_a.id), headers=admin)
    assert first.status_code == 201
    # Another route under the same key is another request, not a reuse.
    grid = {"code": "G-IDEM-1", "name": "网格", "region_id": first.json["id"]}
    other_route = client.post("/api/v1/grids", json=grid, headers=admin)
    assert other_route.status_code == 201 and REPLAYED_HEADER not in other_route.headers
    # Another caller's key never answers with the admin's outcome.
    other_caller = client.post(
        "/api/v1/regions",
        json=_region(2, world.street_a.id),
        headers={**auth_header(world.inspector), **key},
    )
    assert other_caller.status_code == 403


def test_a_key_longer_than_128_characters_is_refused(client, world, auth_header) -> None:  # type: ignore[no-untyped-def]
    h = {**auth_header(world.admin), "Idempotency-Key": "k" * 129}
    response = client.post("/api/v1/regions", json=_region(3, world.street_a.id), headers=h)
    assert_error(response, 422, "validation_error")


def test_a_remembered_answer_is_sealed_with_the_clients_key(client, world, auth_header, db) -> None:  # type: ignore[no-untyped-def]
    """A password reset's answer is a new password: the database holds it only sealed."""
    h = {**auth_header(world.admin), "Idempotency-Key": "reset-officer-once"}
    path = f"/api/v1/users/{world.officer.id}/reset-password"
    first = client.post(path, headers=h)
    assert first.status_code == 200
    again = client.post(path, headers=h)
    assert again.get_json() == first.get_json() and again.headers[REPLAYED_HEADER] == "true"
    (record,) = db.scalars(select(IdempotencyRecord)).all()
    stored = json.dumps(record.extra) + record.key
    assert "reset-officer-once" not in stored
    for value in first.get_json().values():
        if isinstance(value, str) and len(value) > 3:
            assert value not in stored


def test_a_write_without_a_key_is_not_remembered(client, world, auth_header, db) -> None:  # type: ignore[no-untyped-def]
    h = auth_header(world.admin)
    for n in (4, 5):
        assert (
            client.post(
                "/api/v1/regions", json=_region(n, world.street_a.id), headers=h
            ).status_code
            == 201
        )
    assert _records(db) == 0


def test_a_write_refused_by_the_database_gives_its_own_error_under_a_key(
    client, world, auth_header
) -> None:  # type: ignore[no-untyped-def]
    """A duplicate is the write's own error, the same with a key as without one."""
    h = auth_header(world.admin)
    body = _region(6, world.street_a.id)
    assert client.post("/api/v1/regions", json=body, headers=h).status_code == 201
    plain = client.post("/api/v1/regions", json=body, headers=h)
    keyed = client.post(
        "/api/v1/regions", json=body, headers={**h, "Idempotency-Key": "duplicate-region"}
    )
    assert plain.status_code >= 400
    assert (keyed.status_code, keyed.get_json()) == (plain.status_code, plain.get_json())


def test_a_write_that_fails_at_commit_leaves_neither_the_write_nor_the_key(
    client, world, auth_header, db
) -> None:  # type: ignore[no-untyped-def]
    """The key's record is part of the write's transaction: a failed commit drops both, and
    the retry under the same key does the work."""

    def lose_the_database(session: Session) -> None:
        raise OperationalError("COMMIT", {}, Exception("server closed the connection"))

    h = {**auth_header(world.admin), "Idempotency-Key": "commit-fails"}
    body = _region(7, world.street_a.id)
    event.listen(Session, "before_commit", lose_the_database)
    try:
        failed = client.post("/api/v1/regions", json=body, headers=h)
    finally:
        event.remove(Session, "before_commit", lose_the_database)
    assert_error(failed, 503)
    assert _records(db) == 0
    assert db.scalar(select(Region).where(Region.code == body["code"])) is None
    retried = client.post("/api/v1/regions", json=body, headers=h)
    assert retried.status_code == 201 and REPLAYED_HEADER not in retried.headers
    assert _records(db) == 1


def test_a_twin_of_a_write_still_in_flight_waits_then_gets_409(
    client, world, auth_header, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """The first write committed but its answer is not stored yet (here: never): its twin
    waits briefly, then answers 409, and the work is not done twice."""
    monkeypatch.setattr(core_idempotency, "answer", lambda *args: None)
    monkeypatch.setattr(core_idempotency, "WAIT_SECONDS", 0.2)
    h = {**auth_header(world.admin), "Idempotency-Key": "still-in-flight"}
    body = _region(8, world.street_a.id)
    assert client.post("/api/v1/regions", json=body, headers=h).status_code == 201
    twin = client.post("/api/v1/regions", json=body, headers=h)
    error = assert_error(twin, 409, "idempotency_in_progress")
    assert "处理中" in error["message"]


def test_a_write_whose_answer_was_lost_says_so_and_is_not_done_again(
    client, world, auth_header, db, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """The process died between the write's commit and storing its answer (here: the answer
    is never stored, and the record is a few minutes old): a retry with the key is told the
    write was saved and to reload, at once, and does not make a second region."""
    monkeypatch.setattr(core_idempotency, "answer", lambda *args: None)
    h = {**auth_header(world.admin), "Idempotency-Key": "answer-lost"}
    body = _region(9, world.street_a.id)
    assert client.post("/api/v1/regions", json=body, headers=h).status_code == 201
    record = db.scalar(select(IdempotencyRecord))
    record.created_at -= core_idempotency.STALE + timedelta(seconds=1)
    db.commit()
    retried = client.post("/api/v1/regions", json=body, headers=h)
    error = assert_error(retried, 409, "idempotency_outcome_lost")
    assert "已经保存" in error["message"] and "刷新" in error["message"]
    assert len(db.scalars(select(Region).where(Region.code == body["code"])).all()) == 1
