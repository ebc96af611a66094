"""Twins racing under one Idempotency-Key, on real commits (a throwaway database): threads
send the same write at once; exactly one write happens, and every answer is either that
write's (replayed) or a clean 409 `idempotency_in_progress`, never a second object nor
another error."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from miniprogram_api import create_app
from miniprogram_api.idempotency import REPLAYED_HEADER
from service.access.auth import issue_token
from service.core.context import Context
from service.core.settings import Settings
from service.directory.models import Point, Region
from service.risks.models import Assessment
from tests.factories import World, build_world
from tests.livedb import live_context

THREADS = 6
ROUNDS = 5
ERROR_KEYS = {"status", "code", "message", "message_en", "errors"}


@pytest.fixture
def live(database_url: str, settings: Settings) -> Iterator[tuple[Flask, Context, World]]:
    with live_context(database_url, settings, "idem") as ctx:
        with ctx.session_factory() as session:
            world = build_world(session)
            session.commit()
        yield create_app(context=ctx), ctx, world


def _race(app: Flask, path: str, body: dict[str, Any], headers: dict[str, str]) -> list[Any]:
    start = threading.Barrier(THREADS)
    answers: list[Any] = [None] * THREADS

    def send(index: int) -> None:
        client = app.test_client()
        start.wait()
        answers[index] = client.post(path, json=body, headers=headers)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return answers


def _one_write_many_replays(answers: list[Any], created: int) -> None:
    assert None not in answers
    done = [a for a in answers if a.status_code == 201]
    refused = [a for a in answers if a.status_code != 201]
    assert created == 1, [(a.status_code, a.get_data(as_text=True)[:200]) for a in answers]
    assert done, [a.status_code for a in answers]
    assert len({a.get_data() for a in done}) == 1  # one answer, replayed alike
    assert sum(REPLAYED_HEADER not in a.headers for a in done) <= 1
    for answer in refused:
        assert answer.status_code == 409, answer.get_data(as_text=True)
        body = answer.get_json()
        assert set(body) == ERROR_KEYS and body["code"] == "idempotency_in_progress"


def test_twins_under_one_key_write_once(live: tuple[Flask, Context, World]) -> None:
    app, ctx, world = live
    headers_of = {"Authorization": f"Bearer {issue_token(ctx, world.admin)}"}
    for n in range(ROUNDS):
        body = {
            "code": f"{870000000000 + n}",
            "name": "并发社区",
            "level": "community",
            "parent_id": world.street_a.id,
        }
        headers = {**headers_of, "Idempotency-Key": f"race-region-{n}"}
        answers = _race(app, "/api/v1/regions", body, headers)
        with ctx.read() as uow:
            created = uow.session.scalar(
                select(func.count()).select_from(Region).where(Region.code == body["code"])
            )
        _one_write_many_replays(answers, created or 0)


def test_twins_of_a_write_without_a_unique_field_write_once(
    live: tuple[Flask, Context, World],
) -> None:
    """An assessment has no unique field of its own: only the key's record stops the twin."""
    app, ctx, world = live
    headers_of = {"Authorization": f"Bearer {issue_token(ctx, world.admin)}"}
    with ctx.uow() as uow:
        point = Point(enterprise_id=world.enterprise_a.id, name="并发风险点")
        uow.session.add(point)
        uow.commit()
    path = f"/api/v1/points/{point.id}/assessments"
    for n in range(ROUNDS):
        body = {"method": "lec", "inputs": {"l": 3, "e": 6, "c": (1, 3, 7, 15, 40, 100)[n]}}
        headers = {**headers_of, "Idempotency-Key": f"race-assessment-{n}"}
        answers = _race(app, path, body, headers)
        with ctx.read() as uow:
            created = uow.session.scalar(select(func.count()).select_from(Assessment))
        _one_write_many_replays(answers, (created or 0) - n)
