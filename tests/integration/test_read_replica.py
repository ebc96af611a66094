"""DATABASE_READ_URL: statistics and exports read the replica, everything else the primary.

The "replica" is a second database holding other hazards than the primary, so an answer
shows which one it came from (PostgreSQL only: a replica of SQLite is no setup we offer).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from miniprogram_api import create_app
from service.bootstrap import replica_factory_for
from service.core.context import Context
from service.core.db import make_engine, make_session_factory
from tests.factories import World, build_world, make_hazard
from tests.livedb import throwaway_database

REPLICA_HAZARDS = 3


@pytest.fixture(scope="module")
def replica_url(database_url: str) -> Iterator[str]:
    if not database_url.startswith("postgresql"):
        pytest.skip("a read replica is a PostgreSQL setup (DATABASE_URL names SQLite)")
    with throwaway_database(database_url, "replica") as url:
        yield url


@pytest.fixture
def replica_ctx(ctx: Context, replica_url: str) -> Iterator[Context]:
    """The test's context (the primary: the test's rolled-back transaction) with the replica
    wired from settings as the app's composition root does."""
    settings = replace(ctx.settings, database_read_url=replica_url)
    factory = replica_factory_for(settings)
    assert factory is not None
    yield replace(ctx, settings=settings, replica_factory=factory)
    factory.kw["bind"].dispose()  # type: ignore[attr-defined]


def _fill_replica(ctx: Context, replica_url: str) -> None:
    """A district of its own on the replica with REPLICA_HAZARDS hazards reported today."""
    engine = make_engine(replica_url)
    try:
        with make_session_factory(engine)() as session:
            world = build_world(session)
            for _ in range(REPLICA_HAZARDS):
                make_hazard(session, world.enterprise_a, created_at=ctx.now() - timedelta(hours=1))
            session.commit()
    finally:
        engine.dispose()


def test_statistics_and_exports_read_the_replica_when_one_is_set(
    replica_ctx: Context, replica_url: str, world: World, db: Session, auth_header
):
    _fill_replica(replica_ctx, replica_url)
    # The primary has no hazard at all; its admin asks (the caller is read on the primary).
    client: FlaskClient = create_app(context=replica_ctx).test_client()
    headers = auth_header(world.admin)

    summary = client.get("/api/v1/stats/summary", headers=headers)
    assert summary.status_code == 200, summary.get_json()
    assert summary.get_json()["figures"]["reported"] == REPLICA_HAZARDS

    export = client.get("/api/v1/stats/export.csv", headers=headers)
    assert export.status_code == 200
    rows = list(csv.reader(io.StringIO(export.data.decode("utf-8-sig"))))
    listed = rows[rows.index(["【隐患清单】"]) + 2 :]
    assert len(listed) == REPLICA_HAZARDS

    # Without DATABASE_READ_URL the same request reads the primary.
    primary_only = replace(replica_ctx, replica_factory=None)
    plain = create_app(context=primary_only).test_client()
    answer = plain.get("/api/v1/stats/summary", headers=headers).get_json()
    assert answer["figures"]["reported"] == 0


def test_readiness_names_the_replica(replica_ctx: Context):
    client = create_app(context=replica_ctx).test_client()
    body = client.get("/api/v1/readyz").get_json()
    assert body["checks"]["read_replica"] == "ok"
    assert "read_replica" not in (
        create_app(context=replace(replica_ctx, replica_factory=None))
        .test_client()
        .get("/api/v1/readyz")
        .get_json()["checks"]
    )


def test_a_context_without_a_read_url_has_no_replica(ctx: Context):
    assert replica_factory_for(ctx.settings) is None
