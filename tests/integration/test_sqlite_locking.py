"""The embedded default's locking: on a SQLite file, units of work that write queue for the
write lock (and fail cleanly past the busy timeout), units that read never wait for one.

These run on a SQLite file of their own whatever DATABASE_URL says; the same promises
through HTTP are in test_concurrency.py."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from miniprogram_api import create_app
from service.access import auth
from service.core import db
from service.core.db import (
    DatabaseUnavailable,
    UnitOfWork,
    make_engine,
    make_session_factory,
    read_connection,
)
from service.core.settings import Settings
from tests.factories import PASSWORD, build_world
from tests.livedb import live_context


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'locking.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE counter (n INTEGER NOT NULL)"))
        conn.execute(text("INSERT INTO counter (n) VALUES (0)"))
    yield engine
    engine.dispose()


def _count(session: Session) -> int:
    return int(session.scalar(text("SELECT n FROM counter")) or 0)


def test_concurrent_writers_queue_and_none_loses_an_update(sqlite_engine: Engine) -> None:
    """Read-then-write units in 8 threads, 10 times each: every one succeeds and sees the
    previous one's commit (a deferred BEGIN made most of them fail: "database is locked")."""
    factory = make_session_factory(sqlite_engine)
    threads, rounds = 8, 10
    barrier = threading.Barrier(threads)
    failures: list[BaseException] = []

    def work() -> None:
        barrier.wait()
        for _ in range(rounds):
            try:
                with UnitOfWork(factory) as uow:
                    seen = _count(uow.session)
                    time.sleep(0.001)  # widen the window between the read and the write
                    uow.session.execute(text("UPDATE counter SET n = :n"), {"n": seen + 1})
                    uow.commit()
            except BaseException as exc:  # collected, asserted below
                failures.append(exc)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join(60)
    assert failures == []
    with UnitOfWork(factory, writes=False) as uow:
        assert _count(uow.session) == threads * rounds


def test_readers_do_not_wait_for_a_writer(sqlite_engine: Engine) -> None:
    """While a writer holds the lock, a read unit and a bare read connection answer at once
    with the last committed state."""
    factory = make_session_factory(sqlite_engine)
    with UnitOfWork(factory) as writer:
        writer.session.execute(text("UPDATE counter SET n = 41"))
        started = time.monotonic()
        with UnitOfWork(factory, writes=False) as reader:
            assert _count(reader.session) == 0
        with read_connection(factory) as connection:
            assert connection.scalar(text("SELECT n FROM counter")) == 0
        assert time.monotonic() - started < 1.0  # the busy timeout is 10 s
        writer.commit()
    with UnitOfWork(factory, writes=False) as reader:
        assert _count(reader.session) == 41


def test_a_writer_past_the_busy_timeout_is_a_clean_503(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A writer that cannot have the lock within the busy timeout fails as 'database
    unavailable' (503), having written nothing."""
    monkeypatch.setattr(db, "SQLITE_BUSY_TIMEOUT_SECONDS", 0.3)
    engine = make_engine(f"sqlite:///{tmp_path / 'busy.db'}")
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE counter (n INTEGER NOT NULL)"))
            conn.execute(text("INSERT INTO counter (n) VALUES (0)"))
        factory = make_session_factory(engine)
        with UnitOfWork(factory) as holder:
            holder.session.execute(text("UPDATE counter SET n = 1"))
            started = time.monotonic()
            with pytest.raises(DatabaseUnavailable), UnitOfWork(factory) as late:
                late.session.execute(text("UPDATE counter SET n = 2"))
                late.commit()
            assert 0.25 <= time.monotonic() - started < 5.0
        with UnitOfWork(factory, writes=False) as reader:
            assert _count(reader.session) == 0  # the holder left without commit
    finally:
        engine.dispose()


def test_a_unit_for_reads_cannot_commit() -> None:
    """A read unit never took the write lock, so it refuses to commit rather than risk it."""
    with (
        pytest.raises(RuntimeError, match="for reads cannot commit"),
        UnitOfWork(sessionmaker(), writes=False) as uow,
    ):
        uow.commit()


def test_a_password_login_holds_no_lock_while_it_checks_the_password(
    tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Argon2 takes a tenth of a second or more: a login checks the password before its write
    begins, so logging in does not hold up everyone's writes (and still succeeds)."""
    checking, release = threading.Event(), threading.Event()
    real_verify = auth.verify_password

    def slow_verify(password_hash: str | None, password: str) -> bool:
        checking.set()
        release.wait(10)
        return real_verify(password_hash, password)

    monkeypatch.setattr(auth, "verify_password", slow_verify)
    with live_context(f"sqlite:///{tmp_path / 'suite.db'}", settings, "login") as ctx:
        with ctx.session_factory() as session:
            world = build_world(session)
        client = create_app(context=ctx).test_client()
        admin = {"Authorization": f"Bearer {auth.issue_token(ctx, world.admin)}"}
        logins: list[int] = []
        login = threading.Thread(
            target=lambda: logins.append(
                client.post(
                    "/api/v1/auth/login", json={"username": "admin-t", "password": PASSWORD}
                ).status_code
            )
        )
        login.start()
        try:
            assert checking.wait(10)
            started = time.monotonic()
            issued = client.post(
                f"/api/v1/enterprises/{world.enterprise_a.id}/qrcodes", json={}, headers=admin
            )
            assert issued.status_code == 201, issued.get_json()
            assert time.monotonic() - started < 2.0  # not the busy timeout (10 s)
        finally:
            release.set()
            login.join(20)
        assert logins == [200]
