"""双重预防 figures per child region (or grid) of a scope: the completion-by-region view.

The same figures as `prevention.summary`, defined there, for each unit the scope breaks
down into (the units of `/stats/ranking`: child regions, the grids of a community, an
admin's top regions, an inspector's grids), each counted in SQL with one grouped query per
kind of row (tasks, points, hazards).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from service.access.scoping import Actor
from service.core.context import Context
from service.directory.models import Enterprise, Point
from service.hazards.models import Hazard
from service.inspections.models import InspectionTask, TaskResult
from service.inspections.tasks import done_in_window_condition, out_of_control_condition
from service.statistics.figures import (
    CODE_SEGMENT,
    ScopeInfo,
    StatsQuery,
    _children,
    _count_if,
    _enterprise_filter,
    _request,
    _scope_info,
)
from service.statistics.prevention import PreventionFigures, _figures, _task_filter
from uploads_schema.vocabulary import HazardSource, TaskStatus

T = InspectionTask


@dataclass
class PreventionUnitRow:
    """One child region's (or grid's) 双重预防 figures."""

    unit_id: int
    unit_code: str
    unit_name: str
    unit_kind: str  # region or grid
    figures: PreventionFigures


@dataclass
class PreventionByRegion:
    scope: ScopeInfo
    unit_kind: str | None
    rows: list[PreventionUnitRow]


def by_region(ctx: Context, actor: Actor, query: StatsQuery) -> PreventionByRegion:
    """任务完成率, overdue tasks, 失控 points, 四色 and hazards by origin for each child region
    (or grid) of the scope, in the units' code order."""
    with _request(ctx, actor, query) as r:
        kind, units = _children(r.s, actor, r.region)
        if kind == "grid":
            task_key: Any = T.grid_id
            point_key: Any = Enterprise.grid_id
            hazard_key: Any = Hazard.grid_id
            unit_key = {u.id: u.id for u in units}
        else:
            depth = len(r.region.path) + CODE_SEGMENT if r.region else 1 + CODE_SEGMENT
            task_key = func.substr(T.region_path, 1, depth)
            point_key = func.substr(Enterprise.region_path, 1, depth)
            hazard_key = func.substr(Hazard.region_path, 1, depth)
            unit_key = {u.id: u.path for u in units}

        tasks: dict[Any, dict[str, int]] = {}
        task_rows = r.s.execute(
            select(
                task_key.label("unit"),
                func.count().label("due"),
                _count_if(done_in_window_condition()).label("in_window"),
                _count_if(T.status == TaskStatus.DONE).label("done"),
            )
            .where(*_task_filter(r))
            .group_by(task_key)
        )
        for row in task_rows:
            tasks[row.unit] = {
                "due": row.due,
                "in_window": row.in_window or 0,
                "done": row.done or 0,
            }

        points: dict[Any, dict[str, int]] = {}
        out = out_of_control_condition(Point.id, r.now)
        point_rows = r.s.execute(
            select(
                point_key.label("unit"),
                Point.risk_level.label("level"),
                func.count().label("n"),
                _count_if(out).label("out"),
            )
            .join(Enterprise, Enterprise.id == Point.enterprise_id)
            .where(Point.active, *_enterprise_filter(r.actor, r.query, r.region))
            .group_by(point_key, Point.risk_level)
        )
        for row in point_rows:
            counts = points.setdefault(row.unit, {})
            name = row.level.value if row.level is not None else "unassessed"
            counts[name] = counts.get(name, 0) + row.n
            counts["out"] = counts.get("out", 0) + (row.out or 0)

        by_checklist = Hazard.id.in_(
            select(TaskResult.hazard_id).where(TaskResult.hazard_id.is_not(None))
        )
        hazards = {
            row.unit: row
            for row in r.s.execute(
                select(
                    hazard_key.label("unit"),
                    func.count().label("all"),
                    _count_if(by_checklist).label("checklist"),
                    _count_if(Hazard.source == HazardSource.PUBLIC_TIP).label("tips"),
                )
                .where(*r.hazards())
                .group_by(hazard_key)
            )
        }

        rows = []
        for unit in units:
            k = unit_key[unit.id]
            figures = _figures(tasks.get(k, {}), points.get(k, {}))
            found = hazards.get(k)
            if found is not None:
                figures.hazards_by_checklist = found.checklist or 0
                figures.hazards_by_tips = found.tips or 0
                figures.hazards_other = found.all - figures.hazards_by_checklist - (found.tips or 0)
            rows.append(PreventionUnitRow(unit.id, unit.code, unit.name, kind, figures))
        return PreventionByRegion(_scope_info(r.region, r.period), kind if units else None, rows)
