"""What keeps reads cheap: pooled connections pinged only after idling, lookups outside a
transaction, large list totals kept for a while; none of it may change an answer."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import pytest
from sqlalchemy import Engine, create_engine, event, select, text

from miniprogram_api import create_app
from service.access.auth import TokenClaims, issue_token
from service.core import db as db_module
from service.core import pagination
from service.core.clock import utcnow
from service.core.context import Context
from service.core.db import (
    DatabaseUnavailable,
    UnitOfWork,
    make_engine,
    make_lookup_factory,
    make_session_factory,
)
from service.core.settings import Settings
from service.directory.models import Region, User
from service.hazards import reads
from tests.factories import build_world, make_hazard, make_region
from tests.livedb import throwaway_database
from uploads_schema.vocabulary import Role


@pytest.fixture
def pg_url(database_url: str) -> str:
    if not database_url.startswith("postgresql"):
        pytest.skip("connection handling is checked on PostgreSQL (set DATABASE_URL)")
    return database_url


def test_a_pooled_connection_killed_while_idle_is_replaced_without_an_error(pg_url, monkeypatch):
    monkeypatch.setattr(db_module, "PING_AFTER_IDLE_SECONDS", 0.05)
    engine = make_engine(pg_url)
    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            pid = conn.scalar(text("SELECT pg_backend_pid()"))
        with admin.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        time.sleep(0.1)  # idle past the threshold: the checkout pings, finds it dead, replaces it
        with engine.connect() as conn:
            assert conn.scalar(text("SELECT pg_backend_pid()")) != pid
    finally:
        engine.dispose()
        admin.dispose()


def test_lookups_run_outside_a_transaction_and_units_of_work_inside_one(pg_url):
    engine = make_engine(pg_url)
    try:
        lookups = make_lookup_factory(engine)
        assert lookups is not None
        for factory, status in (
            (lookups, psycopg.pq.TransactionStatus.IDLE),
            (make_session_factory(engine), psycopg.pq.TransactionStatus.INTRANS),
        ):
            with UnitOfWork(factory) as uow:
                assert uow.session.scalar(text("SELECT 1")) == 1
                raw = uow.session.connection().connection.dbapi_connection
                assert raw.info.transaction_status == status
        lookups.kw["bind"].dispose()
        with engine.connect() as conn:  # the units of work's pool stays transactional
            conn.scalar(text("SELECT 1"))
            assert conn.in_transaction()
    finally:
        engine.dispose()


def test_lookups_may_keep_generic_plans_and_units_of_work_plan_with_real_parameters(pg_url):
    engine = make_engine(pg_url)
    try:
        lookups = make_lookup_factory(engine)
        assert lookups is not None
        show = text("SHOW plan_cache_mode")
        with UnitOfWork(lookups) as uow:
            assert uow.session.scalar(show) == "auto"
        with UnitOfWork(make_session_factory(engine)) as uow:
            assert uow.session.scalar(show) == "force_custom_plan"
        lookups.kw["bind"].dispose()
    finally:
        engine.dispose()


@dataclass
class LiveRead:
    ctx: Context
    claims: TokenClaims
    hazard_id: int
    admin: Engine  # outside the app's pools, to kill and alter

    def read(self) -> int:
        return reads.read_hazard(self.ctx, self.claims, self.hazard_id)[1].hazard.id


@pytest.fixture
def live_read(pg_url) -> Iterator[LiveRead]:
    """A throwaway database with one hazard, read once through the app's lookup pool."""
    with throwaway_database(pg_url, "liveread") as url:
        engine = make_engine(url)
        lookups = make_lookup_factory(engine)
        admin = create_engine(url, isolation_level="AUTOCOMMIT")
        try:
            ctx = Context(Settings(database_url=url), make_session_factory(engine))
            ctx.lookup_factory = lookups
            with ctx.uow() as uow:
                world = build_world(uow.session)
                hazard = make_hazard(uow.session, world.enterprise_a, created_at=utcnow())
                uow.commit()
                claims = TokenClaims(world.admin.id, Role.ADMIN, world.admin.token_version)
            live = LiveRead(ctx, claims, hazard.id, admin)
            assert live.read() == hazard.id
            yield live
        finally:
            lookups.kw["bind"].dispose()
            engine.dispose()
            admin.dispose()


def test_a_hazard_read_on_a_dead_connection_is_a_503_and_the_next_one_works(live_read, monkeypatch):
    monkeypatch.setattr(db_module, "PING_AFTER_IDLE_SECONDS", 3600.0)  # no ping to save it
    with live_read.admin.connect() as conn:  # kill the lookup pool's connection while in use
        conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
    with pytest.raises(DatabaseUnavailable):
        live_read.read()
    assert live_read.read() == live_read.hazard_id


def test_a_hazard_read_after_a_migration_changed_its_columns_recovers(live_read):
    with live_read.admin.connect() as conn:  # a column the prepared read returns changes type
        conn.execute(text("ALTER TABLE hazards ALTER COLUMN fix_note TYPE varchar(4000)"))
    with pytest.raises(DatabaseUnavailable):
        live_read.read()
    assert live_read.read() == live_read.hazard_id


def test_sqlite_has_no_lookup_sessions(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'lookup.db'}")
    assert make_lookup_factory(engine) is None
    engine.dispose()


def test_large_list_totals_are_kept_for_a_while_and_small_ones_stay_exact(db, monkeypatch):
    monkeypatch.setattr(pagination, "_totals", {})
    query = select(Region).order_by(Region.id)
    for _ in range(3):
        make_region(db)
    exact = pagination.paginate(db, query, 1, 2).total
    monkeypatch.setattr(pagination, "LARGE_TOTAL", exact)

    kept = pagination.paginate(db, query, 1, 2, total_key="regions").total
    make_region(db)
    assert pagination.paginate(db, query, 2, 2, total_key="regions").total == kept == exact
    assert pagination.paginate(db, query, 2, 2).total == exact + 1  # no key: always counted
    assert pagination.paginate(db, query, 2, 2, total_key="other filters").total == exact + 1

    monkeypatch.setattr(pagination, "TOTAL_TTL_SECONDS", 0.0)  # kept totals expire at once
    pagination.paginate(db, query, 1, 2, total_key="expiring")
    make_region(db)
    assert pagination.paginate(db, query, 1, 2, total_key="expiring").total == exact + 2

    monkeypatch.setattr(pagination, "TOTAL_TTL_SECONDS", 30.0)
    monkeypatch.setattr(pagination, "LARGE_TOTAL", exact + 10)  # now a small total: exact
    small = pagination.paginate(db, query, 1, 2, total_key="small").total
    make_region(db)
    assert pagination.paginate(db, query, 1, 2, total_key="small").total == small + 1


class _SilentHost:
    """A database host that accepts TCP connections and never answers (a hung server)."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.accepted: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                self.accepted.append(self._listener.accept()[0])
            except OSError:
                return

    def close(self) -> None:
        self._listener.close()
        for conn in self.accepted:
            conn.close()


@pytest.mark.parametrize("path", ["/api/v1/hazards/5", "/api/v1/hazards?page=2"])
def test_a_database_that_never_answers_is_a_503_after_the_connect_timeout_once(
    pg_url, settings, monkeypatch, path
):
    """The hot reads hand an outage to Flask, which answers it without connecting again."""
    monkeypatch.setattr(db_module, "CONNECT_TIMEOUT_SECONDS", 2)  # libpq's least
    host = _SilentHost()
    url = f"postgresql+psycopg://postgres@127.0.0.1:{host.port}/mashangcha"
    engine = make_engine(url)
    try:
        ctx = Context(settings.with_overrides(database_url=url), make_session_factory(engine))
        ctx.lookup_factory = make_lookup_factory(engine)
        token = issue_token(ctx, User(id=5, role=Role.SUPERVISOR, token_version=0))
        started = time.monotonic()
        response = (
            create_app(context=ctx)
            .test_client()
            .get(path, headers={"Authorization": f"Bearer {token}", "X-Request-ID": "req-outage01"})
        )
        waited = time.monotonic() - started
    finally:
        engine.dispose()
        host.close()
    assert response.status_code == 503
    assert response.json["code"] == "database_unavailable" and response.json["message"]
    assert response.headers["X-Request-ID"] == "req-outage01"
    assert len(host.accepted) == 1  # one attempt, not one by the hot path and one by Flask
    assert 2 <= waited < 4


@pytest.mark.parametrize(("query", "timeout"), [("", 5), ("?connect_timeout=12", "12")])
def test_the_connect_timeout_defaults_to_five_seconds_unless_the_url_says(query, timeout):
    engine = make_engine(f"postgresql+psycopg://postgres@127.0.0.1:1/mashangcha{query}")
    used: dict[str, object] = {}

    @event.listens_for(engine, "do_connect")
    def _capture(_dialect, _record, _args, params):  # type: ignore[no-untyped-def]
        used.update(params)
        raise ConnectionAbortedError("captured")  # no connection is needed

    with pytest.raises(ConnectionAbortedError):
        engine.connect()
    assert used["connect_timeout"] == timeout
