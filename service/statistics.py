"""Supervisor statistics: closure rates, rankings, trends, the 重大隐患 台账.

Every figure is aggregated in SQL (GROUP BY over the region path prefix and indexed
columns); hazards are never loaded into Python to be counted. Definitions (README,
"Statistics") are exactly these queries.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Float,
    Select,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    select,
)
from sqlalchemy.orm import Session

from service.context import Context
from service.errors import PermissionDenied, ValidationFailed
from service.hazards import OPEN_STATUSES, hazard_scope
from service.models import (
    Checkin,
    Enterprise,
    Grid,
    Hazard,
    HazardLevel,
    HazardStatus,
    Industry,
    Region,
    RegionLevel,
    Role,
)
from service.regions import _visible_region
from service.scoping import Actor, enterprise_scope, grid_scope, region_scope
from uploads_schema.vocabulary import Bucket, Figure

CHINA = ZoneInfo("Asia/Shanghai")
CODE_SEGMENT = 13  # 12-digit area code + "/"

__all__ = ["Bucket", "Figure", "StatsQuery", "major_hazards", "ranking", "summary", "trend"]


@dataclass(frozen=True)
class StatsQuery:
    """Scope and period of a statistics request."""

    region_id: int | None = None
    grid_id: int | None = None
    enterprise_id: int | None = None
    industry: Industry | None = None
    level: HazardLevel | None = None
    date_from: date | None = None  # local (China) dates, both inclusive
    date_to: date | None = None


@dataclass
class Period:
    start: datetime  # UTC, inclusive
    end: datetime  # UTC, exclusive
    first_day: date
    last_day: date


@dataclass
class Figures:
    """The figures of SPEC §4 for one scope and period."""

    reported: int = 0
    rejected: int = 0
    valid: int = 0
    closed: int = 0
    open: int = 0
    overdue: int = 0
    closed_on_time: int = 0
    rectification_rate: float | None = None  # 整改率 = closed / valid
    on_time_rate: float | None = None  # 按期整改率 = closed by the original deadline / valid
    mean_hours_to_close: float | None = None
    p90_hours_to_close: float | None = None
    reopen_count: int = 0
    enterprises_checked: int = 0
    enterprises_active: int = 0
    coverage: float | None = None  # 检查覆盖率 = checked / active enterprises


@dataclass
class ScopeInfo:
    region_id: int | None
    region_code: str | None
    region_name: str
    period: Period


@dataclass
class Summary:
    scope: ScopeInfo
    figures: Figures
    generated_at: datetime


@dataclass
class RankingRow:
    rank: int
    unit_id: int
    unit_code: str
    unit_name: str
    unit_kind: str  # "region" or "grid"
    figures: Figures


@dataclass
class Ranking:
    scope: ScopeInfo
    sort: Figure
    rows: list[RankingRow] = field(default_factory=list)


@dataclass
class TrendPoint:
    bucket: str  # "2026-11" or the Monday "2026-11-16"
    figures: Figures


@dataclass
class Trend:
    scope: ScopeInfo
    bucket: Bucket
    points: list[TrendPoint] = field(default_factory=list)


def _rate(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def period_of(query: StatsQuery, now: datetime) -> Period:
    """The period in UTC; defaults to the current month in China time."""
    today = now.astimezone(CHINA).date()
    first = query.date_from or today.replace(day=1)
    if query.date_to is not None:
        last = query.date_to
    else:
        next_month = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
        last = next_month - timedelta(days=1)
    if last < first:
        raise ValidationFailed(errors={"to": ["结束日期早于开始日期 / `to` is before `from`"]})
    if (last - first).days > 3 * 366:
        raise ValidationFailed(errors={"to": ["统计期间最长三年 / at most three years"]})
    start = datetime.combine(first, time.min, CHINA)
    end = datetime.combine(last + timedelta(days=1), time.min, CHINA)
    return Period(start=start, end=end, first_day=first, last_day=last)


def _require_staff(actor: Actor) -> None:
    if actor.role is Role.REPORTER:
        raise PermissionDenied("统计数据仅对工作人员开放", "Statistics are for staff")


def _scope_region(s: Session, actor: Actor, query: StatsQuery) -> Region | None:
    """The region whose subtree is asked for, if any (in the actor's scope, else 404)."""
    if query.region_id is not None:
        return _visible_region(s, actor, query.region_id)
    if actor.role is Role.SUPERVISOR and actor.region_id is not None:
        return s.get(Region, actor.region_id)
    return None


def _scope_implied(actor: Actor, region: Region | None) -> bool:
    # A supervisor's region inside their own subtree already is their scope; repeating the
    # LIKE makes the planner square its selectivity and pick poor plans.
    return (
        region is not None
        and actor.role is Role.SUPERVISOR
        and bool(actor.region_path)
        and region.path.startswith(actor.region_path or "")
    )


def _hazard_filter(
    s: Session,
    actor: Actor,
    query: StatsQuery,
    region: Region | None,
    period: Period | None,
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if not _scope_implied(actor, region):
        conditions.append(hazard_scope(actor))
    if period is not None:
        conditions += [Hazard.created_at >= period.start, Hazard.created_at < period.end]
    if region is not None:
        # One index probe per region path of the subtree, each bounded by the period; a
        # LIKE prefix cannot bound created_at, and generic plans ignore it altogether.
        subtree = select(Region.path).where(Region.path.like(f"{region.path}%"))
        conditions.append(Hazard.region_path.in_(subtree))
    if query.grid_id is not None:
        conditions.append(Hazard.grid_id == query.grid_id)
    if query.enterprise_id is not None:
        conditions.append(Hazard.enterprise_id == query.enterprise_id)
    if query.level is not None:
        conditions.append(Hazard.level == query.level)
    if query.industry is not None:
        conditions.append(
            Hazard.enterprise_id.in_(
                select(Enterprise.id).where(Enterprise.industry == query.industry)
            )
        )
    return conditions


def _enterprise_filter(
    actor: Actor, query: StatsQuery, region: Region | None
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [Enterprise.active.is_(True)]
    if not _scope_implied(actor, region):
        conditions.append(enterprise_scope(actor))
    if region is not None:
        conditions.append(Enterprise.region_path.like(f"{region.path}%"))
    if query.grid_id is not None:
        conditions.append(Enterprise.grid_id == query.grid_id)
    if query.enterprise_id is not None:
        conditions.append(Enterprise.id == query.enterprise_id)
    if query.industry is not None:
        conditions.append(Enterprise.industry == query.industry)
    return conditions


def _hours_to_close(s: Session) -> ColumnElement[float]:
    if s.get_bind().dialect.name == "postgresql":
        # date_part returns float; EXTRACT returns numeric since PostgreSQL 14 (slower).
        seconds = func.date_part("epoch", Hazard.closed_at - Hazard.created_at)
    else:
        seconds = (func.julianday(Hazard.closed_at) - func.julianday(Hazard.created_at)) * 86400.0
    return cast(seconds, Float) / 3600.0


def _aggregates(s: Session, now: datetime) -> list[Any]:
    status = Hazard.status

    def count_if(condition: ColumnElement[bool]) -> Any:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    closed = status == HazardStatus.CLOSED
    return [
        func.count(Hazard.id).label("reported"),
        count_if(status == HazardStatus.REJECTED).label("rejected"),
        count_if(closed).label("closed"),
        count_if(status.in_(OPEN_STATUSES)).label("open"),
        count_if(status.in_(OPEN_STATUSES) & (Hazard.deadline < now)).label("overdue"),
        count_if(closed & (Hazard.closed_at <= Hazard.original_deadline)).label("on_time"),
        func.avg(case((closed, _hours_to_close(s)))).label("mean_hours"),
        func.coalesce(func.sum(Hazard.reopen_count), 0).label("reopens"),
    ]


def _p90(s: Session, conditions: list[ColumnElement[bool]], group: Any | None) -> dict[Any, float]:
    """Nearest-rank 90th percentile of hours to close, per group (or overall under None)."""
    hours = _hours_to_close(s).label("h")
    key = (group if group is not None else literal("all")).label("k")
    closed = and_(*conditions, Hazard.status == HazardStatus.CLOSED)
    if s.get_bind().dialect.name == "postgresql":
        rows = s.execute(
            select(key, func.percentile_disc(0.9).within_group(hours)).where(closed).group_by(key)
        ).all()
    else:
        inner = (
            select(
                key,
                hours,
                func.row_number().over(partition_by=key, order_by=hours).label("rn"),
                func.count().over(partition_by=key).label("n"),
            )
            .where(closed)
            .subquery()
        )
        rows = s.execute(
            select(inner.c.k, func.min(inner.c.h))
            .where(inner.c.rn * 10 >= inner.c.n * 9)
            .group_by(inner.c.k)
        ).all()
    return {k: round(float(v), 2) for k, v in rows if v is not None}


def _figures(row: Any, p90: float | None, checked: int, active: int) -> Figures:
    reported, rejected = int(row.reported), int(row.rejected)
    valid = reported - rejected
    closed, on_time = int(row.closed), int(row.on_time)
    return Figures(
        reported=reported,
        rejected=rejected,
        valid=valid,
        closed=closed,
        open=int(row.open),
        overdue=int(row.overdue),
        closed_on_time=on_time,
        rectification_rate=_rate(closed, valid),
        on_time_rate=_rate(on_time, valid),
        mean_hours_to_close=round(float(row.mean_hours), 2) if row.mean_hours is not None else None,
        p90_hours_to_close=p90,
        reopen_count=int(row.reopens),
        enterprises_checked=checked,
        enterprises_active=active,
        coverage=_rate(checked, active),
    )


def _coverage(
    s: Session,
    actor: Actor,
    query: StatsQuery,
    region: Region | None,
    period: Period,
    group_enterprise: Any | None = None,
) -> tuple[dict[Any, int], dict[Any, int]]:
    """(enterprises with ≥1 check-in in the period, active enterprises) per group key."""
    conditions = _enterprise_filter(actor, query, region)
    key = (group_enterprise if group_enterprise is not None else literal("all")).label("k")
    active = dict(
        s.execute(select(key, func.count(Enterprise.id)).where(*conditions).group_by(key)).all()
    )
    # One probe per enterprise into ix_checkins_enterprise_created.
    visited = (
        exists()
        .where(Checkin.enterprise_id == Enterprise.id)
        .where(Checkin.created_at >= period.start, Checkin.created_at < period.end)
    )
    checked = dict(
        s.execute(
            select(key, func.count(Enterprise.id)).where(*conditions, visited).group_by(key)
        ).all()
    )
    return checked, active


def _scope_info(region: Region | None, period: Period) -> ScopeInfo:
    return ScopeInfo(
        region_id=region.id if region else None,
        region_code=region.code if region else None,
        region_name=region.name if region else "全部",
        period=period,
    )


def summary(ctx: Context, actor: Actor, query: StatsQuery) -> Summary:
    """The figures for a scope and period."""
    _require_staff(actor)
    now = ctx.now()
    period = period_of(query, now)
    with ctx.uow() as uow:
        s = uow.session
        region = _scope_region(s, actor, query)
        conditions = _hazard_filter(s, actor, query, region, period)
        row = s.execute(select(*_aggregates(s, now)).where(*conditions)).one()
        p90 = _p90(s, conditions, None).get("all")
        checked, active = _coverage(s, actor, query, region, period)
        figures = _figures(row, p90, checked.get("all", 0), active.get("all", 0))
        return Summary(_scope_info(region, period), figures, now)


def _children(s: Session, actor: Actor, region: Region | None) -> tuple[str, list[Any]]:
    """The units a scope breaks down into, each visible to the actor: child regions, grids of
    a community, or (no region given) the top regions for an admin, the inspector's grids."""
    grids = select(Grid).where(grid_scope(actor)).order_by(Grid.code)
    regions = select(Region).where(region_scope(actor)).order_by(Region.code)
    if region is None:
        if actor.role is Role.ADMIN:
            return "region", list(s.scalars(regions.where(Region.parent_id.is_(None))))
        return "grid", list(s.scalars(grids)) if actor.role is Role.INSPECTOR else []
    if region.level is RegionLevel.COMMUNITY:
        return "grid", list(s.scalars(grids.where(Grid.region_id == region.id)))
    return "region", list(s.scalars(regions.where(Region.parent_id == region.id)))


def ranking(
    ctx: Context, actor: Actor, query: StatsQuery, sort: Figure = Figure.RECTIFICATION_RATE
) -> Ranking:
    """The figures of every child region (or grid) of the scope, ranked by one figure."""
    _require_staff(actor)
    now = ctx.now()
    period = period_of(query, now)
    with ctx.uow() as uow:
        s = uow.session
        region = _scope_region(s, actor, query)
        kind, units = _children(s, actor, region)
        conditions = _hazard_filter(s, actor, query, region, period)
        if kind == "grid":
            hazard_key: Any = Hazard.grid_id
            enterprise_key: Any = Enterprise.grid_id
            unit_key = {u.id: u.id for u in units}
        else:
            depth = len(region.path) + CODE_SEGMENT if region else 1 + CODE_SEGMENT
            hazard_key = func.substr(Hazard.region_path, 1, depth)
            enterprise_key = func.substr(Enterprise.region_path, 1, depth)
            unit_key = {u.id: u.path for u in units}
        rows = {
            r.k: r
            for r in s.execute(
                select(hazard_key.label("k"), *_aggregates(s, now)).where(*conditions).group_by("k")
            )
        }
        p90 = _p90(s, conditions, hazard_key)
        checked, active = _coverage(s, actor, query, region, period, enterprise_key)
        empty = s.execute(select(*_aggregates(s, now)).where(literal(False))).one()
        result = []
        for unit in units:
            k = unit_key[unit.id]
            figures = _figures(rows.get(k, empty), p90.get(k), checked.get(k, 0), active.get(k, 0))
            result.append((unit, figures))
    result.sort(key=lambda pair: _sort_key(pair[1], sort, pair[0].code))
    ranked = [
        RankingRow(
            rank=i,
            unit_id=unit.id,
            unit_code=unit.code,
            unit_name=unit.name,
            unit_kind=kind,
            figures=figures,
        )
        for i, (unit, figures) in enumerate(result, start=1)
    ]
    return Ranking(_scope_info(region, period), sort, ranked)


# Figures where less is better rank ascending; None (no data) always ranks last.
_ASCENDING = {Figure.OPEN, Figure.OVERDUE, Figure.MEAN_HOURS_TO_CLOSE}


def _sort_key(figures: Figures, sort: Figure, code: str) -> tuple[int, float, str]:
    value = getattr(figures, sort.value)
    if value is None:
        return (1, 0.0, code)
    return (0, value if sort in _ASCENDING else -value, code)


def _bucket_expr(s: Session, bucket: Bucket) -> ColumnElement[str]:
    if s.get_bind().dialect.name == "postgresql":
        local = func.timezone("Asia/Shanghai", Hazard.created_at)
        if bucket is Bucket.MONTH:
            return func.to_char(local, "YYYY-MM")
        return func.to_char(func.date_trunc("week", local), "YYYY-MM-DD")
    if bucket is Bucket.MONTH:
        return func.strftime("%Y-%m", Hazard.created_at, "+8 hours")
    # the Monday of the week: move to the next Sunday (or stay), then back six days
    return func.date(Hazard.created_at, "+8 hours", "weekday 0", "-6 days")


def trend(ctx: Context, actor: Actor, query: StatsQuery, bucket: Bucket = Bucket.WEEK) -> Trend:
    """Reported / closed / rates per week or per month of the period."""
    _require_staff(actor)
    now = ctx.now()
    period = period_of(query, now)
    with ctx.uow() as uow:
        s = uow.session
        region = _scope_region(s, actor, query)
        conditions = _hazard_filter(s, actor, query, region, period)
        key = _bucket_expr(s, bucket)
        rows = s.execute(
            select(key.label("k"), *_aggregates(s, now))
            .where(*conditions)
            .group_by("k")
            .order_by("k")
        ).all()
        p90 = _p90(s, conditions, key)
    points = [TrendPoint(str(r.k), _figures(r, p90.get(r.k), 0, 0)) for r in rows]
    for point in points:  # coverage is a per-period figure, not per bucket
        point.figures.enterprises_active = 0
        point.figures.coverage = None
    return Trend(_scope_info(region, period), bucket, points)


@dataclass
class MajorHazardRow:
    hazard: Hazard
    enterprise_name: str
    overdue: bool


def major_hazards(ctx: Context, actor: Actor, query: StatsQuery) -> list[MajorHazardRow]:
    """一单四制 台账: 重大隐患 reported in the period or still open, with plan and deadline."""
    _require_staff(actor)
    now = ctx.now()
    period = period_of(query, now)
    with ctx.uow() as uow:
        s = uow.session
        region = _scope_region(s, actor, query)
        conditions = _hazard_filter(s, actor, query, region, None)
        in_period = and_(Hazard.created_at >= period.start, Hazard.created_at < period.end)
        rows = s.execute(
            select(Hazard, Enterprise.name)
            .join(Enterprise, Enterprise.id == Hazard.enterprise_id)
            .where(
                Hazard.level == HazardLevel.MAJOR,
                *conditions,
                in_period | Hazard.status.in_(OPEN_STATUSES),
            )
            .order_by(Hazard.created_at, Hazard.id)
            .limit(5000)
        ).all()
    return [
        MajorHazardRow(
            hazard=h,
            enterprise_name=name,
            overdue=h.status in OPEN_STATUSES and h.deadline is not None and h.deadline < now,
        )
        for h, name in rows
    ]


def hazard_rows(
    ctx: Context, actor: Actor, query: StatsQuery, batch: int = 1000
) -> Iterator[tuple[Hazard, str, str]]:
    """Every hazard of the scope and period for export (no reporter), streamed in batches."""
    _require_staff(actor)
    now = ctx.now()
    period = period_of(query, now)
    with ctx.uow() as uow:
        s = uow.session
        region = _scope_region(s, actor, query)
        conditions = _hazard_filter(s, actor, query, region, period)
        statement: Select[Any] = (
            select(Hazard, Enterprise.name, Grid.name)
            .join(Enterprise, Enterprise.id == Hazard.enterprise_id)
            .join(Grid, Grid.id == Hazard.grid_id)
            .where(*conditions)
            .order_by(Hazard.created_at, Hazard.id)
            .execution_options(yield_per=batch)
        )
        for row in s.execute(statement):
            yield row[0], row[1], row[2]
