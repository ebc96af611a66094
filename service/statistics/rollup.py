"""隐患日汇总: `hazard_daily`, the statistics' counters per unit, China day of report and level,
and `hazard_monthly`, the same per calendar month (its rows are sums of the daily ones).

A unit is the hazard's region path cut to street level (region trees start at a city and
every level is one code deeper), so any city, district or street is a set of whole units.
The table is kept in the same transaction as every hazard write: after each flush, each
new, changed or deleted hazard subtracts its old contribution and adds its new one. Writes
that bypass the ORM (COPY, bulk UPDATE) must be followed by `rebuild`.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    Float,
    Select,
    Table,
    case,
    cast,
    delete,
    event,
    func,
    inspect,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, UOWTransaction

from service.core.clock import china_date, china_date_sql
from service.hazards.deadlines import is_on_time, on_time_condition
from service.hazards.models import Hazard
from service.statistics.models import HOUR_BUCKETS, HOUR_EDGES, hazard_daily, hazard_monthly
from uploads_schema.vocabulary import OPEN_STATUSES, HazardLevel, HazardStatus

UNIT_LENGTH = 1 + 3 * 13  # "/city/district/street/", each a 12-digit code and "/"
COUNTERS = (
    "reported",
    "rejected",
    "closed",
    "open",
    "closed_on_time",
    "reopens",
    "close_seconds",
    *HOUR_BUCKETS,
)
KEY_COLUMNS = ("unit_path", "day", "level")
# The hazard columns a contribution reads; each is mapped with active_history=True.
TRACKED = (
    "status",
    "level",
    "created_at",
    "region_path",
    "closed_at",
    "original_deadline",
    "fix_submitted_at",
    "reopen_count",
)

Key = tuple[str, date, HazardLevel]
Counters = dict[str, float]


@dataclass(frozen=True)
class Facts:
    """What of a hazard the rollup counts."""

    status: HazardStatus
    level: HazardLevel
    created_at: datetime
    region_path: str
    closed_at: datetime | None
    original_deadline: datetime | None
    fix_submitted_at: datetime | None
    reopen_count: int


def hour_bucket(hours: float) -> int:
    """Index of the histogram bucket holding `hours` (edges are inclusive upper bounds)."""
    return bisect_left(HOUR_EDGES, hours)


def bucket_edge(index: int) -> float:
    """The figure reported for a bucket: its upper edge, the lower one for the open last."""
    return float(HOUR_EDGES[min(index, len(HOUR_EDGES) - 1)])


def contribution(facts: Facts) -> tuple[Key, Counters]:
    """The key and counters one hazard adds to `hazard_daily`."""
    counters: Counters = dict.fromkeys(COUNTERS, 0)
    status = HazardStatus(facts.status)  # the column also takes plain strings
    counters["reported"] = 1
    counters["rejected"] = int(status is HazardStatus.REJECTED)
    counters["open"] = int(status in OPEN_STATUSES)
    counters["reopens"] = facts.reopen_count or 0
    if status is HazardStatus.CLOSED:
        counters["closed"] = 1
        counters["closed_on_time"] = int(
            is_on_time(status, facts.fix_submitted_at, facts.original_deadline)
        )
        if facts.closed_at is not None:
            seconds = (facts.closed_at - facts.created_at).total_seconds()
            counters["close_seconds"] = seconds
            counters[HOUR_BUCKETS[hour_bucket(seconds / 3600)]] = 1
    day = china_date(facts.created_at)
    return (facts.region_path[:UNIT_LENGTH], day, HazardLevel(facts.level)), counters


# ── kept by the session ───────────────────────────────────────────────────────────


def _old_value(hazard: Hazard, name: str) -> Any:
    history = inspect(hazard).attrs[name].history
    if history.deleted:
        return history.deleted[0]
    if history.unchanged:
        return history.unchanged[0]
    if history.added:  # set over a loaded None (active_history loads it first)
        return None
    return getattr(hazard, name)  # neither loaded nor changed: the stored value is the old one


def _facts(hazard: Hazard, old: bool) -> Facts:
    values = {n: _old_value(hazard, n) if old else getattr(hazard, n) for n in TRACKED}
    return Facts(**values)


def _add(deltas: dict[Key, Counters], facts: Facts, sign: int) -> None:
    key, counters = contribution(facts)
    total = deltas.setdefault(key, dict.fromkeys(COUNTERS, 0))
    for name, value in counters.items():
        total[name] += sign * value


def after_flush(session: Session, _context: UOWTransaction) -> None:
    """Apply the flushed hazards' changes to `hazard_daily`, in the flush's transaction."""
    deltas: dict[Key, Counters] = {}
    for obj in session.new:
        if isinstance(obj, Hazard):
            _add(deltas, _facts(obj, old=False), +1)
    for obj in session.dirty:
        if isinstance(obj, Hazard) and obj not in session.deleted:
            _add(deltas, _facts(obj, old=True), -1)
            _add(deltas, _facts(obj, old=False), +1)
    for obj in session.deleted:
        if isinstance(obj, Hazard):
            _add(deltas, _facts(obj, old=True), -1)
    apply_deltas(session, deltas)


UPSERT_ROWS = 500


def apply_deltas(session: Session, deltas: dict[Key, Counters]) -> None:
    """Add counters to their daily rows and to their months' rows (creating them); keys in
    order, so concurrent writers lock shared rows in the same order and cannot deadlock."""
    monthly: dict[Key, Counters] = {}
    for (unit, day, level), counters in deltas.items():
        total = monthly.setdefault((unit, day.replace(day=1), level), dict.fromkeys(COUNTERS, 0))
        for name, value in counters.items():
            total[name] += value
    # The connection, not session.execute: an ORM statement would try to flush again.
    connection = session.connection()
    _upsert(connection, hazard_daily, deltas)
    _upsert(connection, hazard_monthly, monthly)


def _upsert(connection: Connection, table: Table, deltas: dict[Key, Counters]) -> None:
    unit, period, level = (c.name for c in table.primary_key.columns)
    rows = [
        {unit: key[0], period: key[1], level: key[2], **counters}
        for key, counters in sorted(deltas.items())
        if any(counters.values())
    ]
    # Each row takes some thirty parameters.
    add_to_rows(connection, table, rows, COUNTERS, UPSERT_ROWS)


def add_to_rows(
    connection: Connection,
    table: Table,
    rows: Sequence[dict[str, Any]],
    counters: Sequence[str],
    per_statement: int,
) -> None:
    """Add each row's `counters` to the table's row of the same primary key, creating it.

    Rows go in the order given, which callers sort by key: concurrent writers then lock
    shared rows in the same order and cannot deadlock. They go `per_statement` at a time,
    still in order: one statement has at most 32,767 (SQLite) or 65,535 (PostgreSQL)
    parameters. Both rollups (hazards here, tasks in service.inspections.rollup) add this way.
    """
    key = [c.name for c in table.primary_key.columns]
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    for start in range(0, len(rows), per_statement):
        insert = dialect.insert(table).values(list(rows[start : start + per_statement]))
        connection.execute(
            insert.on_conflict_do_update(
                index_elements=key,
                set_={name: table.c[name] + insert.excluded[name] for name in counters},
            )
        )


_installed = False


def install() -> None:
    """Keep `hazard_daily` in step for every session (idempotent)."""
    global _installed
    if not _installed:
        event.listen(Session, "after_flush", after_flush)
        _installed = True


# ── recomputed from the hazards ───────────────────────────────────────────────────


def close_seconds(dialect: str) -> ColumnElement[float]:
    """Seconds from report to close, in SQL (NULL unless closed_at is set)."""
    if dialect == "postgresql":
        return func.date_part("epoch", Hazard.closed_at - Hazard.created_at)
    # julianday keeps milliseconds; rounding drops its floating-point noise.
    days = func.julianday(Hazard.closed_at) - func.julianday(Hazard.created_at)
    return cast(func.round(days * 86400.0, 3), Float)


def grouped(dialect: str) -> Select[Any]:
    """`hazard_daily` as a GROUP BY over the hazards (key columns, then COUNTERS)."""

    def count_if(condition: ColumnElement[bool]) -> Any:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    status = Hazard.status
    timed = (status == HazardStatus.CLOSED) & Hazard.closed_at.is_not(None)
    hours = close_seconds(dialect) / 3600.0
    buckets = []
    for i, name in enumerate(HOUR_BUCKETS):
        condition = timed
        if i > 0:
            condition = condition & (hours > HOUR_EDGES[i - 1])
        if i < len(HOUR_EDGES):
            condition = condition & (hours <= HOUR_EDGES[i])
        buckets.append(count_if(condition).label(name))
    unit = func.substr(Hazard.region_path, 1, UNIT_LENGTH).label("unit_path")
    day = china_date_sql(Hazard.created_at, dialect).label("day")
    return (
        select(
            unit,
            day,
            Hazard.level.label("level"),
            func.count(Hazard.id).label("reported"),
            count_if(status == HazardStatus.REJECTED).label("rejected"),
            count_if(status == HazardStatus.CLOSED).label("closed"),
            count_if(status.in_(OPEN_STATUSES)).label("open"),
            count_if(on_time_condition()).label("closed_on_time"),
            func.coalesce(func.sum(Hazard.reopen_count), 0).label("reopens"),
            func.coalesce(func.sum(case((timed, close_seconds(dialect)), else_=0.0)), 0.0).label(
                "close_seconds"
            ),
            *buckets,
        )
        .group_by(unit, day, Hazard.level)
        .order_by(unit, day, Hazard.level)  # a region's rows start out close together
    )


def rebuild(session: Session) -> int:
    """Refill `hazard_daily` from the hazards in the session's transaction; returns rows."""
    dialect = session.get_bind().dialect.name
    return refill(
        session,
        (hazard_daily, [*KEY_COLUMNS, *COUNTERS], grouped(dialect)),
        (hazard_monthly, ["unit_path", "month", "level", *COUNTERS], months_of_days(dialect)),
    )


Fill = tuple[Table, Sequence[str], Select[Any]]


def refill(session: Session, first: Fill, *then: Fill) -> int:
    """Empty rollup tables and fill each from its SELECT (its columns in order), in the
    session's transaction and in the order given (a later SELECT may read an earlier
    table); returns the first table's rows. Both rollups rebuild this way.

    On PostgreSQL the first table is locked first: writers' upserts wait until the refill
    commits, then add their changes on top; without the lock one could insert a key between
    the DELETE and the INSERT (and a writer adds to the first table before any other).
    """
    fills = (first, *then)
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"LOCK TABLE {first[0].name} IN SHARE ROW EXCLUSIVE MODE")
    for table, _, _ in fills:
        connection.execute(delete(table))
    for table, columns, statement in fills:
        connection.execute(table.insert().from_select(list(columns), statement))
    return int(connection.execute(select(func.count()).select_from(first[0])).scalar_one())


def _month(dialect: str, day: Any) -> ColumnElement[Any]:
    if dialect == "postgresql":
        return cast(func.date_trunc("month", day), Date)
    return func.date(day, "start of month")


def months_of_days(dialect: str) -> Select[Any]:
    """`hazard_monthly` as a GROUP BY over `hazard_daily` (key columns, then COUNTERS)."""
    month = _month(dialect, hazard_daily.c.day).label("month")
    return (
        select(
            hazard_daily.c.unit_path,
            month,
            hazard_daily.c.level,
            *(func.sum(hazard_daily.c[name]).label(name) for name in COUNTERS),
        )
        .group_by(hazard_daily.c.unit_path, month, hazard_daily.c.level)
        .order_by(hazard_daily.c.unit_path, month, hazard_daily.c.level)
    )


@dataclass(frozen=True)
class Difference:
    """A counter of `hazard_daily` that disagrees with the hazards."""

    unit_path: str
    day: date
    level: str
    counter: str
    stored: float
    recomputed: float


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def differences(session: Session) -> list[Difference]:
    """Every counter where hazard_daily and a GROUP BY over the hazards disagree, or
    hazard_monthly and the sums of the daily rows (rows of zeros count as absent);
    close_seconds within a millisecond per closed hazard."""
    dialect = session.get_bind().dialect.name
    connection = session.connection()

    def rows(statement: Select[Any], period: str) -> dict[tuple[str, date, str], dict[str, float]]:
        out = {}
        for row in connection.execute(statement).mappings():
            level = str(HazardLevel(row["level"]).value)
            out[(row["unit_path"], _as_date(row[period]), level)] = {
                name: float(row[name]) for name in COUNTERS
            }
        return out

    days = _compare(rows(select(hazard_daily), "day"), rows(grouped(dialect), "day"), "")
    months = rows(select(hazard_monthly), "month")
    return days + _compare(months, rows(months_of_days(dialect), "month"), "monthly ")


def _compare(stored: dict[Any, Any], recomputed: dict[Any, Any], table: str) -> list[Difference]:
    zero = dict.fromkeys(COUNTERS, 0.0)
    found = []
    for key in sorted(stored.keys() | recomputed.keys()):
        a, b = stored.get(key, zero), recomputed.get(key, zero)
        for name in COUNTERS:
            tolerance = 0.001 * max(1.0, b["closed"]) if name == "close_seconds" else 0.0
            if abs(a[name] - b[name]) > tolerance:
                found.append(Difference(*key, table + name, a[name], b[name]))
    return found
