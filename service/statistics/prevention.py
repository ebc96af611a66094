"""双重预防 figures, in SQL, scoped and filtered like the hazard statistics.

For a scope (region subtree, grid, enterprise, industry) and a period (China dates):
- tasks due: tasks whose window ended in the period, and by now;
- 任务完成率 = tasks done within their window (`done_at < window_end`) / tasks due;
- overdue tasks: tasks due that are still not done (now); done late: done after the window;
- hazards reported in the period found by checklists (linked from a task result), by
  public tips (source 群众举报), and otherwise;
- now: the active risk points by level (风险四色分布; unassessed apart) and those 失控.
Per enterprise, the same point and task counts (the 四色 list of each enterprise).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import ColumnElement, func, literal, select

from service.access.scoping import Actor, charge_condition, subtree
from service.core.clock import china_date, china_midnight
from service.core.context import Context
from service.directory.models import Enterprise, Point, Region
from service.hazards.models import Hazard
from service.inspections.models import InspectionTask, TaskResult, task_daily
from service.inspections.tasks import (
    TASK_PLACE,
    done_in_window_condition,
    out_of_control_condition,
)
from service.statistics.figures import (
    ScopeInfo,
    StatsQuery,
    _bucket_expr,
    _count_if,
    _day_bucket_expr,
    _enterprise_filter,
    _rate,
    _Request,
    _request,
    _scope_implied,
    _scope_info,
    _unit_prefix,
)
from service.statistics.rollup import UNIT_LENGTH
from uploads_schema.vocabulary import Bucket, HazardSource, RiskColor, TaskStatus

T = InspectionTask
ALL = "all"  # the group key when nothing is grouped


def _no_points() -> dict[str, int]:
    return {c.value: 0 for c in RiskColor} | {"unassessed": 0}


@dataclass
class PreventionFigures:
    tasks_due: int = 0
    tasks_done_in_window: int = 0
    tasks_done_late: int = 0
    tasks_overdue: int = 0
    completion_rate: float | None = None  # 任务完成率
    hazards_by_checklist: int = 0
    hazards_by_tips: int = 0
    hazards_other: int = 0
    points: int = 0
    # red … blue, unassessed: every level, 0 for a unit without points (the schema's keys)
    points_by_level: dict[str, int] = field(default_factory=_no_points)
    points_out_of_control: int = 0


@dataclass
class PreventionSummary:
    scope: ScopeInfo
    figures: PreventionFigures
    generated_at: datetime


@dataclass
class EnterpriseRow:
    """One enterprise's 四色 counts and its task completion."""

    enterprise_id: int
    enterprise_name: str
    figures: PreventionFigures


def _task_filter(r: _Request) -> list[ColumnElement[bool]]:
    q, region = r.query, r.region
    conditions: list[ColumnElement[bool]] = [
        T.window_end >= r.period.start,
        T.window_end < r.period.end,
        T.window_end <= r.now,
    ]
    if not _scope_implied(r.actor, region):
        conditions.append(charge_condition(r.actor, TASK_PLACE))
    if region is not None:
        # One index probe per region path of the subtree, each bounded by the window ends
        # (as the hazards' filter does): a LIKE prefix cannot bound them, so it would read
        # the subtree's whole history.
        paths = select(Region.path).where(subtree(Region.path, region.path))
        conditions.append(T.region_path.in_(paths))
    if q.grid_id is not None:
        conditions.append(T.grid_id == q.grid_id)
    if q.enterprise_id is not None:
        conditions.append(T.enterprise_id == q.enterprise_id)
    if q.industry is not None:
        conditions.append(
            T.enterprise_id.in_(select(Enterprise.id).where(Enterprise.industry == q.industry))
        )
    return conditions


Counts = dict[Any, dict[str, int]]


def _add_counts(into: Counts, key: Any, due: int, in_window: int, done: int) -> None:
    counts = into.setdefault(key, {"due": 0, "in_window": 0, "done": 0})
    counts["due"] += int(due or 0)
    counts["in_window"] += int(in_window or 0)
    counts["done"] += int(done or 0)


def _live_task_counts(
    r: _Request, group: Any | None, more: list[ColumnElement[bool]], into: Counts
) -> None:
    key = (group if group is not None else literal(ALL)).label("k")
    query = (
        select(
            key,
            func.count().label("due"),
            _count_if(done_in_window_condition()).label("in_window"),
            _count_if(T.status == TaskStatus.DONE).label("done"),
        )
        .where(*_task_filter(r), *more)
        .group_by(key)
    )
    for row in r.s.execute(query):
        _add_counts(into, row.k, row.due, row.in_window, row.done)


def _task_counts(
    r: _Request,
    group: Any | None = None,
    rollup_group: Callable[[Any], Any] | None = None,
    *,
    use_rollup: bool = False,
) -> Counts:
    """Tasks due, done within their window and done, per group (or under ALL): whole days
    before today from the daily rollup (`rollup_group` builds the group from its columns),
    today's windows that have ended live; or every task live (`group` over the tasks)."""
    found: Counts = {}
    if not use_rollup:
        _live_task_counts(r, group, [], found)
        return found
    today = china_date(r.now)
    first, last = r.period.first_day, min(r.period.last_day, today - timedelta(days=1))
    if first <= last:
        daily = task_daily.c
        conditions = [daily.day >= first, daily.day <= last]
        if r.region is not None:
            # Units are region paths down to streets, so the subtree is a path prefix.
            conditions.append(subtree(daily.unit_path, r.region.path))
        key = (rollup_group(daily) if rollup_group is not None else literal(ALL)).label("k")
        rows = r.s.execute(
            select(
                key,
                func.sum(daily.tasks).label("due"),
                func.sum(daily.done_in_window).label("in_window"),
                func.sum(daily.done).label("done"),
            )
            .where(*conditions)
            .group_by(key)
        )
        for row in rows:
            _add_counts(found, row.k, row.due, row.in_window, row.done)
    if r.period.first_day <= today <= r.period.last_day:
        _live_task_counts(r, group, [T.window_end >= china_midnight(today)], found)
    return {k: v for k, v in found.items() if v["due"]}


def _point_counts(r: _Request, group: Any | None = None) -> Counts:
    """Active points of the scope's active enterprises now, per level, and those 失控,
    per group over the points and their enterprise (or under ALL)."""
    level = Point.risk_level
    out = out_of_control_condition(Point.id, r.now)
    key = (group if group is not None else literal(ALL)).label("k")
    query = (
        select(key, level.label("level"), func.count().label("n"), _count_if(out).label("out"))
        .join(Enterprise, Enterprise.id == Point.enterprise_id)
        .where(Point.active, *_enterprise_filter(r.actor, r.query, r.region))
        .group_by(key, level)
    )
    found: Counts = {}
    for row in r.s.execute(query):
        counts = found.setdefault(row.k, {})
        name = row.level.value if row.level is not None else "unassessed"
        counts[name] = counts.get(name, 0) + row.n
        counts["out"] = counts.get("out", 0) + (row.out or 0)
    return found


def _hazard_origins(r: _Request, group: Any | None = None) -> Counts:
    """Hazards of the scope and period per group: all, found by checklists, from tips."""
    by_checklist = Hazard.id.in_(
        select(TaskResult.hazard_id).where(TaskResult.hazard_id.is_not(None))
    )
    key = (group if group is not None else literal(ALL)).label("k")
    rows = r.s.execute(
        select(
            key,
            func.count().label("all"),
            _count_if(by_checklist).label("checklist"),
            _count_if(Hazard.source == HazardSource.PUBLIC_TIP).label("tips"),
        )
        .where(*r.hazards())
        .group_by(key)
    )
    return {
        row.k: {"all": int(row.all), "checklist": int(row.checklist), "tips": int(row.tips)}
        for row in rows
    }


def _figures(
    tasks: dict[str, int], points: dict[str, int], origins: dict[str, int] | None = None
) -> PreventionFigures:
    by_level = {name: points.get(name, 0) for name in _no_points()}
    due, in_window, done = tasks.get("due", 0), tasks.get("in_window", 0), tasks.get("done", 0)
    origins = origins or {}
    by_checklist, tips = origins.get("checklist", 0), origins.get("tips", 0)
    return PreventionFigures(
        tasks_due=due,
        tasks_done_in_window=in_window,
        tasks_done_late=done - in_window,
        tasks_overdue=due - done,
        completion_rate=_rate(in_window, due),
        hazards_by_checklist=by_checklist,
        hazards_by_tips=tips,
        # A hazard found by a checklist is never a tip: tasks are done by staff.
        hazards_other=origins.get("all", 0) - by_checklist - tips,
        points=sum(by_level.values()),
        points_by_level=by_level,
        points_out_of_control=points.get("out", 0),
    )


def figures_within(r: _Request) -> PreventionFigures:
    """The scope's figures, inside a statistics request."""
    tasks = _task_counts(r, use_rollup=r.rollup_serves())
    return _figures(
        tasks.get(ALL, {}), _point_counts(r).get(ALL, {}), _hazard_origins(r).get(ALL, {})
    )


def by_unit_within(r: _Request, kind: str, depth: int | None) -> dict[Any, PreventionFigures]:
    """The figures per child unit of a ranking, keyed as the ranking keys its units: a
    region's path cut to `depth`, or a grid's id."""
    if kind == "grid":
        tasks = _task_counts(r, T.grid_id)
        points = _point_counts(r, Enterprise.grid_id)
        origins = _hazard_origins(r, Hazard.grid_id)
    else:
        assert depth is not None
        tasks = _task_counts(
            r,
            func.substr(T.region_path, 1, depth),
            partial(_unit_prefix, depth=depth),
            use_rollup=depth <= UNIT_LENGTH and r.rollup_serves(),
        )
        points = _point_counts(r, func.substr(Enterprise.region_path, 1, depth))
        origins = _hazard_origins(r, func.substr(Hazard.region_path, 1, depth))
    keys = set(tasks) | set(points) | set(origins)
    return {k: _figures(tasks.get(k, {}), points.get(k, {}), origins.get(k, {})) for k in keys}


def by_bucket_within(r: _Request, bucket: Bucket) -> dict[str, PreventionFigures]:
    """Task and hazard-origin figures per week (its Monday) or month of the period: tasks
    by the China day their window ended, hazards by the day reported. Points are a "now"
    figure, not per bucket: left at zero."""
    tasks = _task_counts(
        r,
        _bucket_expr(r.s, bucket, T.window_end),
        lambda c: _day_bucket_expr(r.s, bucket, c.day),
        use_rollup=r.rollup_serves(),
    )
    origins = _hazard_origins(r, _bucket_expr(r.s, bucket))
    keys = set(tasks) | set(origins)
    return {str(k): _figures(tasks.get(k, {}), {}, origins.get(k, {})) for k in keys}


def summary(ctx: Context, actor: Actor, query: StatsQuery) -> PreventionSummary:
    """任务完成率, overdue tasks, hazards by origin, 风险四色分布 and 失控 points."""
    with _request(ctx, actor, query) as r:
        return PreventionSummary(_scope_info(r.region, r.period), figures_within(r), r.now)


def by_enterprise(ctx: Context, actor: Actor, query: StatsQuery) -> list[EnterpriseRow]:
    """Each enterprise of the scope with points or tasks: its 四色 counts, 失控 points and
    task completion in the period, by name."""
    with _request(ctx, actor, query) as r:
        tasks = _task_counts(r, T.enterprise_id)
        points = _point_counts(r, Point.enterprise_id)
        ids = set(tasks) | set(points)
        names: dict[int, str] = {}
        if ids:
            found = r.s.execute(
                select(Enterprise.id, Enterprise.name).where(Enterprise.id.in_(ids))
            )
            names = {e: name for e, name in found}
        rows = [
            EnterpriseRow(e, names[e], _figures(tasks.get(e, {}), points.get(e, {}))) for e in ids
        ]
        return sorted(rows, key=lambda row: (row.enterprise_name, row.enterprise_id))
