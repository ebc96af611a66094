"""排查任务日汇总: `task_daily`, the tasks per unit and China day their window ends, and how
many of them were done (within the window, at all): what 任务完成率 adds up.

A unit is the task's region path cut to street level, as for the hazards' rollup
(service.statistics.rollup), so a city, district or street is a set of whole units. Kept in
the same transaction as every task write (`generate` adds its new tasks, `submit_task` its
done one); writes that bypass them (COPY) must be followed by `rebuild` (`flask stats
rebuild-rollup`, which refills the hazard rollups too; `flask stats check-rollup` and the daily
`rollup_check` compare it with `differences`).

A day's tasks are all due once the day is over; today's are not all due yet, so the
statistics count today's windows live.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, case, func, select
from sqlalchemy.orm import Session

from service.core.clock import china_date, china_date_sql
from service.inspections.models import InspectionTask, task_daily
from service.statistics.rollup import UNIT_LENGTH, add_to_rows, refill
from uploads_schema.vocabulary import TaskStatus

T = InspectionTask
COUNTERS = ("tasks", "done_in_window", "done")

Key = tuple[str, date]


def unit_of(region_path: str) -> str:
    """The rollup unit of a task's region path."""
    return region_path[:UNIT_LENGTH]


def add(session: Session, deltas: dict[Key, dict[str, int]]) -> None:
    """Add counters to their rows (creating them), keys in order: concurrent writers lock
    shared rows in the same order and cannot deadlock."""
    rows = [
        {"unit_path": unit, "day": day, **{c: counts.get(c, 0) for c in COUNTERS}}
        for (unit, day), counts in sorted(deltas.items())
        if any(counts.values())
    ]
    if not rows:
        return
    # Five parameters a row: a slice stays far below either database's limit.
    add_to_rows(session.connection(), task_daily, rows, COUNTERS, 2000)


def created(session: Session, window_end: datetime, region_paths: Iterable[str]) -> None:
    """New tasks of one window (one per region path given)."""
    day = china_date(window_end)
    per_unit = Counter(unit_of(path) for path in region_paths)
    add(session, {(unit, day): {"tasks": n} for unit, n in per_unit.items()})


def done(session: Session, task: InspectionTask) -> None:
    """A task just done (at `task.done_at`)."""
    assert task.done_at is not None
    in_window = int(task.done_at < task.window_end)
    key = (unit_of(task.region_path), china_date(task.window_end))
    add(session, {key: {"done": 1, "done_in_window": in_window}})


# ── recomputed from the tasks ────────────────────────────────────────────────────


def grouped(dialect: str) -> Select[Any]:
    """`task_daily` as a GROUP BY over the tasks (unit_path, day, then COUNTERS)."""
    # Here, not on top: the tasks module keeps the rollup as it writes, so imports this one.
    from service.inspections.tasks import done_in_window_condition

    def count_if(condition: ColumnElement[bool]) -> Any:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    unit = func.substr(T.region_path, 1, UNIT_LENGTH).label("unit_path")
    day = china_date_sql(T.window_end, dialect).label("day")
    return (
        select(
            unit,
            day,
            func.count().label("tasks"),
            count_if(done_in_window_condition()).label("done_in_window"),
            count_if(T.status == TaskStatus.DONE).label("done"),
        )
        .group_by(unit, day)
        .order_by(unit, day)
    )


def rebuild(session: Session) -> int:
    """Refill `task_daily` from the tasks in the session's transaction; returns its rows."""
    dialect = session.get_bind().dialect.name
    return refill(session, (task_daily, ["unit_path", "day", *COUNTERS], grouped(dialect)))


@dataclass(frozen=True)
class Difference:
    """A counter of `task_daily` that disagrees with the tasks."""

    unit_path: str
    day: date
    counter: str
    stored: int
    recomputed: int


def differences(session: Session) -> list[Difference]:
    """Every counter where task_daily and a GROUP BY over the tasks disagree (rows of zeros
    count as absent)."""
    connection = session.connection()

    def rows(statement: Select[Any]) -> dict[Key, dict[str, int]]:
        out = {}
        for row in connection.execute(statement).mappings():
            day = row["day"] if isinstance(row["day"], date) else date.fromisoformat(row["day"])
            out[(row["unit_path"], day)] = {c: int(row[c]) for c in COUNTERS}
        return out

    stored = rows(select(task_daily))
    recomputed = rows(grouped(session.get_bind().dialect.name))
    zero = dict.fromkeys(COUNTERS, 0)
    found = []
    for key in sorted(stored.keys() | recomputed.keys()):
        a, b = stored.get(key, zero), recomputed.get(key, zero)
        found += [Difference(*key, c, a[c], b[c]) for c in COUNTERS if a[c] != b[c]]
    return found
