"""双重预防 figures per child region (or grid) of a scope: the completion-by-region view.

The same figures as `prevention.summary`, defined there, for each unit the scope breaks
down into (the units of `/stats/ranking`: child regions, the grids of a community, an
admin's top regions, an inspector's grids), counted by `prevention.by_unit_within` as the
ranking's `include=prevention` counts them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from service.access.scoping import Actor
from service.core.context import Context
from service.statistics.figures import (
    CODE_SEGMENT,
    ScopeInfo,
    StatsQuery,
    _children,
    _request,
    _scope_info,
)
from service.statistics.prevention import PreventionFigures, by_unit_within


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
            depth = None
            unit_key: dict[int, Any] = {u.id: u.id for u in units}
        else:
            depth = len(r.region.path) + CODE_SEGMENT if r.region else 1 + CODE_SEGMENT
            unit_key = {u.id: u.path for u in units}
        # Counted as the ranking's units are (and from the daily rollup where it serves).
        found = by_unit_within(r, kind, depth)
        rows = [
            PreventionUnitRow(
                unit.id,
                unit.code,
                unit.name,
                kind,
                found.get(unit_key[unit.id]) or PreventionFigures(),
            )
            for unit in units
        ]
        return PreventionByRegion(_scope_info(r.region, r.period), kind if units else None, rows)
