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

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select

from service.access.scoping import Actor, charge_condition, subtree
from service.core.context import Context
from service.directory.models import Enterprise, Point
from service.hazards.models import Hazard
from service.inspections.models import InspectionTask, TaskResult
from service.inspections.tasks import (
    TASK_PLACE,
    done_in_window_condition,
    out_of_control_condition,
)
from service.statistics.figures import (
    ScopeInfo,
    StatsQuery,
    _count_if,
    _enterprise_filter,
    _rate,
    _Request,
    _request,
    _scope_implied,
    _scope_info,
)
from uploads_schema.vocabulary import HazardSource, RiskColor, TaskStatus

T = InspectionTask


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
    points_by_level: dict[str, int] = field(default_factory=dict)  # red … blue, unassessed
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
        conditions.append(subtree(T.region_path, region.path))
    if q.grid_id is not None:
        conditions.append(T.grid_id == q.grid_id)
    if q.enterprise_id is not None:
        conditions.append(T.enterprise_id == q.enterprise_id)
    if q.industry is not None:
        conditions.append(
            T.enterprise_id.in_(select(Enterprise.id).where(Enterprise.industry == q.industry))
        )
    return conditions


def _task_counts(r: _Request, by_enterprise: bool) -> dict[Any, dict[str, int]]:
    columns = [
        func.count().label("due"),
        _count_if(done_in_window_condition()).label("in_window"),
        _count_if(T.status == TaskStatus.DONE).label("done"),
    ]
    query = select(*columns).where(*_task_filter(r))
    if by_enterprise:
        query = query.add_columns(T.enterprise_id).group_by(T.enterprise_id)
    found = {}
    for row in r.s.execute(query):
        found[row.enterprise_id if by_enterprise else None] = {
            "due": row.due,
            "in_window": row.in_window or 0,
            "done": row.done or 0,
        }
    return found


def _point_counts(r: _Request, by_enterprise: bool) -> dict[Any, dict[str, int]]:
    level = Point.risk_level
    out = out_of_control_condition(Point.id, r.now)
    query = (
        select(level.label("level"), func.count().label("n"), _count_if(out).label("out"))
        .join(Enterprise, Enterprise.id == Point.enterprise_id)
        .where(Point.active, *_enterprise_filter(r.actor, r.query, r.region))
        .group_by(level)
    )
    if by_enterprise:
        query = query.add_columns(Point.enterprise_id).group_by(Point.enterprise_id)
    found: dict[Any, dict[str, int]] = {}
    for row in r.s.execute(query):
        counts = found.setdefault(row.enterprise_id if by_enterprise else None, {})
        name = row.level.value if row.level is not None else "unassessed"
        counts[name] = counts.get(name, 0) + row.n
        counts["out"] = counts.get("out", 0) + (row.out or 0)
    return found


def _figures(tasks: dict[str, int], points: dict[str, int]) -> PreventionFigures:
    levels = [c.value for c in RiskColor] + ["unassessed"]
    by_level = {name: points.get(name, 0) for name in levels}
    due, in_window, done = tasks.get("due", 0), tasks.get("in_window", 0), tasks.get("done", 0)
    return PreventionFigures(
        tasks_due=due,
        tasks_done_in_window=in_window,
        tasks_done_late=done - in_window,
        tasks_overdue=due - done,
        completion_rate=_rate(in_window, due),
        points=sum(by_level.values()),
        points_by_level=by_level,
        points_out_of_control=points.get("out", 0),
    )


def summary(ctx: Context, actor: Actor, query: StatsQuery) -> PreventionSummary:
    """任务完成率, overdue tasks, hazards by origin, 风险四色分布 and 失控 points."""
    with _request(ctx, actor, query) as r:
        figures = _figures(
            _task_counts(r, False).get(None, {}), _point_counts(r, False).get(None, {})
        )
        by_checklist = Hazard.id.in_(
            select(TaskResult.hazard_id).where(TaskResult.hazard_id.is_not(None))
        )
        tip = Hazard.source == HazardSource.PUBLIC_TIP
        row = r.s.execute(
            select(
                func.count().label("all"),
                _count_if(by_checklist).label("checklist"),
                _count_if(tip).label("tips"),
            ).where(*r.hazards())
        ).one()
        figures.hazards_by_checklist = row.checklist or 0
        figures.hazards_by_tips = row.tips or 0
        # A hazard found by a checklist is never a tip: tasks are done by staff.
        figures.hazards_other = row.all - figures.hazards_by_checklist - figures.hazards_by_tips
        return PreventionSummary(_scope_info(r.region, r.period), figures, r.now)


def by_enterprise(ctx: Context, actor: Actor, query: StatsQuery) -> list[EnterpriseRow]:
    """Each enterprise of the scope with points or tasks: its 四色 counts, 失控 points and
    task completion in the period, by name."""
    with _request(ctx, actor, query) as r:
        tasks = _task_counts(r, True)
        points = _point_counts(r, True)
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
