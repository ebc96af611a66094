"""Engine, sessions and the unit of work: one use case, one transaction."""

from __future__ import annotations

import time
from collections import namedtuple
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

import psycopg
from sqlalchemy import Connection, Dialect, Engine, Select, create_engine, event, make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from service.core.errors import ServiceUnavailable

SessionFactory = Callable[..., Session]  # a sessionmaker: takes Session's keyword arguments


class DatabaseUnavailable(ServiceUnavailable):
    code = "database_unavailable"
    message, message_en = "数据库暂时不可用，请稍后重试", "Database temporarily unavailable"


# Seconds to wait for PostgreSQL to accept a connection; `?connect_timeout=N` in
# DATABASE_URL overrides it.
CONNECT_TIMEOUT_SECONDS = 5


# SQLite has one writer at a time: a writing transaction waits this long for the lock before
# it fails (a 503). Writes take milliseconds; the longest (a 10,000-row import) seconds.
SQLITE_BUSY_TIMEOUT_SECONDS = 10

# The execution option by which a unit of work says it will write (see UnitOfWork).
WRITES = "mashangcha_writes"
_WRITING = {WRITES: True}


def make_engine(url: str, *, custom_plans: bool = True, **kwargs: Any) -> Engine:
    """Create an engine; SQLite gets real transactions, foreign keys and a busy timeout.

    On PostgreSQL, `custom_plans` plans every statement with its real parameters (see
    below); without it, statements psycopg has prepared may reuse a generic plan."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS}, **kwargs)
        _sqlite_pragmas(engine)
        return engine
    if url.startswith("postgresql") and "connect_timeout" not in make_url(url).query:
        # A database host that does not answer (a dead VM, a dropped route) is a 503 after
        # this long, not a request held until the kernel gives up on TCP (minutes).
        kwargs.setdefault("connect_args", {}).setdefault("connect_timeout", CONNECT_TIMEOUT_SECONDS)
    if url.startswith("postgresql") and custom_plans:
        # psycopg prepares statements after a few runs and PostgreSQL then may switch to a
        # generic plan, which ignores `region_path LIKE :prefix` and scans by date; plan
        # each execution with its real parameters instead.
        connect_args = kwargs.setdefault("connect_args", {})
        connect_args.setdefault("options", "-c plan_cache_mode=force_custom_plan")
    engine = create_engine(url, **kwargs)
    if not kwargs.get("pool_pre_ping"):
        _ping_when_idle(engine)
    return engine


# A pooled connection idle longer than this is pinged before use (the server may have
# closed it meanwhile). One in steady use is not: `pool_pre_ping` would spend a round trip
# on every checkout, two of a single read's nine. A connection that died unnoticed fails
# its statement, which answers 503 and makes the pool replace every older connection.
PING_AFTER_IDLE_SECONDS = 1.0


def _ping_when_idle(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    @event.listens_for(engine, "checkin")
    def _mark(dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        if time.monotonic() - record.info.get("idle_since", 0.0) <= PING_AFTER_IDLE_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:
            raise DisconnectionError() from exc  # the pool replaces it and checks out again


def _sqlite_pragmas(engine: Engine) -> None:
    # pysqlite's own transaction handling breaks SAVEPOINT and BEGIN; take it over
    # (the recipe from the SQLAlchemy SQLite dialect docs).
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    # A deferred BEGIN reads a snapshot and asks for the write lock at its first write; when
    # another connection has written meanwhile, SQLite refuses that upgrade at once ("database
    # is locked", no waiting). A transaction that will write takes the lock up front instead
    # and waits for it (the busy timeout), so writers queue; reads stay deferred and in WAL
    # mode never wait for a writer.
    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        writes = conn.get_execution_options().get(WRITES, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded values after commit, so results serialize afterwards."""
    return sessionmaker(bind=engine, expire_on_commit=False)


def make_lookup_factory(engine: Engine) -> sessionmaker[Session] | None:
    """Sessions for `Context.lookup` on PostgreSQL: outside a transaction (no BEGIN and
    ROLLBACK round trips), from their own pool whose connections may keep generic plans;
    None elsewhere, where lookups use ordinary transactions.

    Lookups are key lookups (the caller, one hazard). Planning the hazard read costs more
    than running it; a prepared statement's generic plan skips that, and key lookups have
    no parameter a generic plan could misjudge (unlike the statistics' path prefixes)."""
    if engine.dialect.name != "postgresql":
        return None
    lookups = make_engine(
        engine.url.render_as_string(hide_password=False),
        custom_plans=False,
        isolation_level="AUTOCOMMIT",
    )
    return make_session_factory(lookups)


def _engine_of(factory: SessionFactory) -> Engine | None:
    """The engine a sessionmaker binds to; None for sessions bound to one connection."""
    bind = getattr(factory, "kw", {}).get("bind")
    return bind if isinstance(bind, Engine) else None


@contextmanager
def read_connection(factory: SessionFactory) -> Iterator[Connection]:
    """A connection for a read of one statement, taken from the factory's engine without
    a session (building and closing one costs as much as a key lookup); a lost database
    is a clean 503, as in a unit of work. Sessions bound to something else than an engine
    (tests bind them to one outer connection) read through a unit of work instead."""
    bind = _engine_of(factory)
    if bind is None:
        with UnitOfWork(factory, writes=False) as uow:
            yield uow.session.connection()
        return
    try:
        with bind.connect() as connection:
            yield connection
    except DBAPIError as exc:
        if _is_connection_problem(exc):
            raise DatabaseUnavailable() from exc
        raise


@contextmanager
def snapshot_session(factory: SessionFactory) -> Iterator[Session]:
    """A read-only session whose statements all see one snapshot (REPEATABLE READ on
    PostgreSQL), for checks that compare two reads of a live database. Sessions bound to
    something else than an engine (tests) read in their own transaction."""
    bind = _engine_of(factory)
    if bind is not None and bind.dialect.name == "postgresql":
        with Session(bind.execution_options(isolation_level="REPEATABLE READ")) as session:
            yield session
        return
    with UnitOfWork(factory, writes=False) as uow:
        yield uow.session


class CommitHook(Protocol):
    """Told about every writing unit of work that commits while it is installed."""

    def before_commit(self, session: Session) -> None:
        """Add to the transaction about to commit (raising rolls it back)."""

    def committed(self) -> None:
        """The transaction did commit."""


# The hook of the current request or task, if any (see `commit_hook`).
_COMMIT_HOOK: ContextVar[CommitHook | None] = ContextVar("commit_hook", default=None)


@contextmanager
def commit_hook(hook: CommitHook) -> Iterator[None]:
    """Within the block, every unit of work that commits a write (bookkeeping aside) calls
    `hook` first, in its own transaction: the remembered Idempotency-Key of a write lands
    with the write or not at all (`service.core.idempotency`)."""
    token = _COMMIT_HOOK.set(hook)
    try:
        yield
    finally:
        _COMMIT_HOOK.reset(token)


class UnitOfWork:
    """`with UnitOfWork(factory) as uow: ...; uow.commit()`; leaving without commit rolls back.

    A unit says at the start whether it writes: on SQLite a writing unit takes the write lock
    when it begins (see `_sqlite_pragmas`), so concurrent writers queue instead of failing;
    one made with `writes=False` only reads and cannot commit. PostgreSQL is the same either
    way (its rows lock one by one). A `bookkeeping` unit (rate-limit hits, a remembered
    answer) is no part of the request's write: the commit hook skips it."""

    def __init__(
        self, session_factory: SessionFactory, *, writes: bool = True, bookkeeping: bool = False
    ) -> None:
        self._factory = session_factory
        self._writes = writes
        self._bookkeeping = bookkeeping
        self.session: Session

    def __enter__(self) -> UnitOfWork:
        self.session = (
            self._factory(execution_options=_WRITING) if self._writes else self._factory()
        )
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # close() rolls back anything uncommitted but, unlike rollback(), keeps loaded
        # attributes, so read-only use cases can return objects for serialization.
        try:
            self.session.close()
        except DBAPIError as close_error:
            # The connection died after the block's last statement (its backend killed
            # while idle in the transaction): the server has already discarded that
            # transaction, so there is nothing left to roll back; keep the block's outcome.
            if not _is_connection_problem(close_error):
                raise
        if isinstance(exc, OperationalError | DBAPIError) and _is_connection_problem(exc):
            raise DatabaseUnavailable() from exc

    def commit(self) -> None:
        """Commit; a lost connection becomes a clean 503 instead of a 500."""
        if not self._writes:
            # On SQLite its transaction did not take the write lock: a write could fail.
            raise RuntimeError("a unit of work made for reads cannot commit")
        hook = None if self._bookkeeping else _COMMIT_HOOK.get()
        try:
            if hook is not None:
                hook.before_commit(self.session)
            self.session.commit()
        except DBAPIError as exc:
            if _is_connection_problem(exc):
                raise DatabaseUnavailable() from exc
            raise
        if hook is not None:
            hook.committed()

    def flush(self) -> None:
        """Flush pending changes so ids are assigned and constraints checked."""
        self.session.flush()


_CONNECTION_SIGNS = (
    "could not connect",
    "server closed the connection",
    "terminating connection",
    "connection refused",
    "connection timed out",
    "timeout expired",  # connect_timeout (psycopg: "connection timeout expired")
    "database is locked",  # SQLite: the write lock not had within the busy timeout
)


def _is_connection_problem(exc: DBAPIError) -> bool:
    if exc.connection_invalidated:
        return True
    text = str(exc.orig).lower()
    return any(sign in text for sign in _CONNECTION_SIGNS)


class DirectStatement:
    """A read statement compiled once and, on PostgreSQL, run on the psycopg cursor under a
    SQLAlchemy connection, each value processed by its column's own SQLAlchemy type (enums,
    UTC datetimes), so rows read as SQLAlchemy's would.

    SQLAlchemy's execution of a ready statement costs a key lookup more than the database
    does — mostly result metadata rebuilt from psycopg's column descriptions on every call.
    Elsewhere (SQLite) the statement runs through SQLAlchemy as usual."""

    def __init__(self, statement: Select[Any]) -> None:
        self._statement = statement
        self._sql: tuple[str, dict[str, Any]] | None = None
        self._rows: tuple[list[Any], Any] | None = None  # value processors, row maker

    def first(self, connection: Connection, params: dict[str, Any]) -> Any | None:
        """The first row for these parameters, or None."""
        if connection.dialect.name != "postgresql":
            return connection.execute(self._statement, params).first()
        rows = self._run(connection, params, one=True)
        return rows[0] if rows else None

    def all(self, connection: Connection, params: dict[str, Any]) -> list[Any]:
        """Every row for these parameters."""
        if connection.dialect.name != "postgresql":
            return list(connection.execute(self._statement, params).all())
        return self._run(connection, params, one=False)

    def _run(self, connection: Connection, params: dict[str, Any], *, one: bool) -> list[Any]:
        dialect = connection.dialect
        if self._sql is None:
            expanded = self._statement.compile(dialect=dialect).construct_expanded_state(params)
            constants = {k: v for k, v in expanded.parameters.items() if k not in params}
            self._sql = (expanded.statement, constants)
        sql, constants = self._sql
        try:
            with connection.connection.driver_connection.cursor() as cursor:
                cursor.execute(sql, {**constants, **params}, prepare=True)
                found = cursor.fetchmany(1) if one else cursor.fetchall()
                if self._rows is None:  # the result types, as psycopg reports them, once
                    self._rows = self._row_reader(
                        dialect, [d.type_code for d in cursor.description]
                    )
        except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
            # What SQLAlchemy does for a lost connection: drop it from the pool; then 503.
            connection.invalidate(exc)
            raise DatabaseUnavailable() from exc
        except psycopg.errors.FeatureNotSupported as exc:
            # "cached plan must not change result type": a migration changed a column this
            # connection's prepared statement returns. Drop the connection (the next one
            # prepares afresh) and let the caller retry.
            connection.invalidate(exc)
            raise DatabaseUnavailable() from exc
        processors, make = self._rows
        rows = []
        for values in found:
            values = list(values)
            for index, process in processors:
                values[index] = process(values[index])
            rows.append(make(values))
        return rows

    def _row_reader(self, dialect: Dialect, type_codes: list[int]) -> tuple[list[Any], Any]:
        """The value processors by column position (only columns that have one), and the
        maker of a row from a list of values."""
        columns = list(self._statement.selected_columns)
        processors = [
            (index, column.type.dialect_impl(dialect).result_processor(dialect, code))
            for index, (column, code) in enumerate(zip(columns, type_codes, strict=True))
        ]
        row = namedtuple("Row", [column.key for column in columns])  # type: ignore[misc]
        return [(i, p) for i, p in processors if p is not None], row._make
