"""Supervisor statistics: closure rates, rankings, trends, the 重大隐患 台账.

Every figure is aggregated in SQL; hazards are never loaded into Python to be counted.
Two paths give the same figures (README, "Statistics"): the daily rollup `hazard_daily`
(service.rollup) serves whole regions down to streets for staff whose scope is the region
itself; everything else (grids, enterprises, industries, communities, inspectors and
officers) is a GROUP BY over the hazards. The "now" figures (overdue, awaiting verification,
verification late) and coverage are always live.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    ColumnElement,
    DateTime,
    Select,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    select,
    text,
    union_all,
)
from sqlalchemy.orm import Session, aliased

from service.access.scoping import (
    Actor,
    enterprise_scope,
    grid_scope,
    hazard_scope,
    region_scope,
    subtree,
)
from service.core.clock import china_date, china_midnight, china_time_sql
from service.core.context import Context
from service.core.errors import PermissionDenied, ValidationFailed
from service.directory.models import Enterprise, Grid, Point, Region, User
from service.directory.regions import scope_region
from service.hazards.deadlines import (
    awaiting_verification_condition,
    is_overdue,
    on_time_condition,
    overdue_condition,
    verification_late_condition,
)
from service.hazards.models import Hazard, HazardEvent
from service.hazards.queries import SEE_REPORTERS
from service.inspections.models import Checkin
from service.statistics import rollup
from service.statistics.models import HOUR_BUCKETS, hazard_daily, hazard_monthly
from uploads_schema.vocabulary import (
    OPEN_STATUSES,
    Bucket,
    Figure,
    HazardAction,
    HazardLevel,
    HazardStatus,
    Industry,
    RegionLevel,
    Role,
)

if TYPE_CHECKING:
    from service.statistics.prevention import PreventionFigures

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
    overdue: int = 0  # 逾期: rectifying past the current deadline, now
    awaiting_verification: int = 0  # 待验收: a fix waiting for the verifier, now
    verification_late: int = 0  # 验收超时: … for longer than VERIFY_WITHIN_HOURS
    closed_on_time: int = 0  # 按期销号: the accepted fix submitted by the original deadline
    rectification_rate: float | None = None  # 整改率 = closed / valid
    on_time_rate: float | None = None  # 按期整改率 = closed_on_time / valid
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
    source: str = "live"  # which path answered: "rollup" or "live"
    prevention: PreventionFigures | None = None  # 双重预防, when asked for


@dataclass
class RankingRow:
    rank: int
    unit_id: int
    unit_code: str
    unit_name: str
    unit_kind: str  # "region" or "grid"
    figures: Figures
    prevention: PreventionFigures | None = None


@dataclass
class Ranking:
    scope: ScopeInfo
    sort: Figure
    rows: list[RankingRow] = field(default_factory=list)
    source: str = "live"


@dataclass
class TrendPoint:
    bucket: str  # "2026-11" or the Monday "2026-11-16"
    figures: Figures
    prevention: PreventionFigures | None = None


@dataclass
class Trend:
    scope: ScopeInfo
    bucket: Bucket
    points: list[TrendPoint] = field(default_factory=list)
    source: str = "live"


def _rate(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def period_of(query: StatsQuery, now: datetime) -> Period:
    """The period in UTC; defaults to the current month in China time."""
    today = china_date(now)
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
    start = china_midnight(first)
    end = china_midnight(last + timedelta(days=1))
    return Period(start=start, end=end, first_day=first, last_day=last)


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
        paths = select(Region.path).where(subtree(Region.path, region.path))
        conditions.append(Hazard.region_path.in_(paths))
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
        conditions.append(subtree(Enterprise.region_path, region.path))
    if query.grid_id is not None:
        conditions.append(Enterprise.grid_id == query.grid_id)
    if query.enterprise_id is not None:
        conditions.append(Enterprise.id == query.enterprise_id)
    if query.industry is not None:
        conditions.append(Enterprise.industry == query.industry)
    return conditions


# Switched off by tests to check that both paths give the same figures.
USE_ROLLUP = True


@dataclass
class _Request:
    """What every statistics use case starts from: the caller, their query, the period and
    the region asked for (already checked to be in the caller's scope)."""

    s: Session
    actor: Actor
    query: StatsQuery
    now: datetime
    period: Period
    region: Region | None
    verify_within_hours: int

    def now_figures(self) -> list[Any]:
        """The "now" counts (overdue, awaiting verification, late), labelled for `_Counts`."""
        return [
            _count_if(overdue_condition(self.now)).label("overdue"),
            _count_if(awaiting_verification_condition()).label("awaiting_verification"),
            _count_if(verification_late_condition(self.now, self.verify_within_hours)).label(
                "verification_late"
            ),
        ]

    def hazards(self, *, in_period: bool = True) -> list[ColumnElement[bool]]:
        """Conditions selecting the hazards of the scope (and period)."""
        period = self.period if in_period else None
        return _hazard_filter(self.s, self.actor, self.query, self.region, period)

    def rollup_serves(self) -> bool:
        """Whole units of hazard_daily, for a caller who sees all of them: an admin, or a
        supervisor asking about (part of) their own region; filters it keeps (level) only."""
        q, region = self.query, self.region
        return (
            USE_ROLLUP
            and (self.actor.role is Role.ADMIN or _scope_implied(self.actor, region))
            and (region is None or len(region.path) <= rollup.UNIT_LENGTH)
            and q.grid_id is None
            and q.enterprise_id is None
            and q.industry is None
        )


@contextmanager
def _request(ctx: Context, actor: Actor, query: StatsQuery) -> Iterator[_Request]:
    """Staff only; the period; one read transaction; the scope region (404 outside scope)."""
    if actor.role is Role.REPORTER:
        raise PermissionDenied("统计数据仅对工作人员开放", "Statistics are for staff")
    now = ctx.now()
    period = period_of(query, now)
    # Statistics may lag the primary by the replica's delay: they never read their own write.
    with ctx.read(replica=True) as uow:
        s = uow.session
        if _dialect(s) == "postgresql":
            # These statements take milliseconds: starting parallel workers for them costs
            # more than it saves and, on a small server, lengthens the tail.
            s.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))
        region = scope_region(s, actor, query.region_id)
        yield _Request(s, actor, query, now, period, region, ctx.settings.verify_within_hours)


@dataclass
class _Counts:
    """The additive counts behind the figures of one group, from either path."""

    reported: int = 0
    rejected: int = 0
    closed: int = 0
    open: int = 0
    overdue: int = 0
    awaiting_verification: int = 0
    verification_late: int = 0
    closed_on_time: int = 0
    reopens: int = 0
    timed: int = 0  # closed hazards with a closed_at, over which hours are taken
    close_seconds: float = 0.0
    p90_hours: float | None = None


def _dialect(s: Session) -> str:
    return s.get_bind().dialect.name


def _count_if(condition: ColumnElement[bool]) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _live_counts(r: _Request, group: Any | None) -> dict[Any, _Counts]:
    """Counts per group (or under "all") by a GROUP BY over the hazards."""
    status, conditions = Hazard.status, r.hazards()
    closed = status == HazardStatus.CLOSED
    timed = closed & Hazard.closed_at.is_not(None)
    key = (group if group is not None else literal("all")).label("k")
    rows = r.s.execute(
        select(
            key,
            func.count(Hazard.id).label("reported"),
            _count_if(status == HazardStatus.REJECTED).label("rejected"),
            _count_if(closed).label("closed"),
            _count_if(status.in_(OPEN_STATUSES)).label("open"),
            *r.now_figures(),
            _count_if(on_time_condition()).label("on_time"),
            func.coalesce(func.sum(Hazard.reopen_count), 0).label("reopens"),
            _count_if(timed).label("timed"),
            func.sum(case((timed, rollup.close_seconds(_dialect(r.s))))).label("seconds"),
        )
        .where(*conditions)
        .group_by(key)
    ).all()
    p90 = _live_p90(r.s, conditions, group)
    return {
        row.k: _Counts(
            reported=int(row.reported),
            rejected=int(row.rejected),
            closed=int(row.closed),
            open=int(row.open),
            overdue=int(row.overdue),
            awaiting_verification=int(row.awaiting_verification),
            verification_late=int(row.verification_late),
            closed_on_time=int(row.on_time),
            reopens=int(row.reopens),
            timed=int(row.timed),
            close_seconds=float(row.seconds or 0.0),
            p90_hours=p90.get(row.k),
        )
        for row in rows
    }


def _live_p90(
    s: Session, conditions: list[ColumnElement[bool]], group: Any | None
) -> dict[Any, float]:
    """The nearest-rank 90th percentile of hours to close per group, as its bucket's edge."""
    hours = (rollup.close_seconds(_dialect(s)) / 3600.0).label("h")
    key = (group if group is not None else literal("all")).label("k")
    closed = and_(*conditions, Hazard.status == HazardStatus.CLOSED, Hazard.closed_at.is_not(None))
    if _dialect(s) == "postgresql":
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
    # Bucketing is monotone: the edge of the percentile is the histogram's answer.
    return {k: rollup.bucket_edge(rollup.hour_bucket(float(v))) for k, v in rows if v is not None}


def _next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def _rollup_rows(r: _Request, whole_months: bool) -> Any:
    """The rollup rows of the scope and period as (unit_path, day, level, counters): the
    period's whole calendar months from hazard_monthly (`day` their first day) and the
    days around them from hazard_daily; only daily rows unless `whole_months`."""

    def rows(table: Any, period: Any, first: date, last: date) -> Select[Any]:
        conditions = [period >= first, period <= last]
        if r.region is not None:
            # Units are region paths down to streets, so the subtree is a path prefix.
            conditions.append(subtree(table.c.unit_path, r.region.path))
        if r.query.level is not None:
            conditions.append(table.c.level == r.query.level)
        return select(
            table.c.unit_path,
            period.label("day"),
            table.c.level,
            *(table.c[name] for name in rollup.COUNTERS),
        ).where(*conditions)

    first, last = r.period.first_day, r.period.last_day
    months_from = first if first.day == 1 else _next_month(first)
    after = last + timedelta(days=1)
    months_until = after if after.day == 1 else last.replace(day=1)  # after the whole months
    if not whole_months or months_from >= months_until:
        return rows(hazard_daily, hazard_daily.c.day, first, last).subquery("units")
    parts = [rows(hazard_monthly, hazard_monthly.c.month, months_from, months_until - timedelta(1))]
    if first < months_from:
        parts.append(rows(hazard_daily, hazard_daily.c.day, first, months_from - timedelta(1)))
    if months_until <= last:
        parts.append(rows(hazard_daily, hazard_daily.c.day, months_until, last))
    return union_all(*parts).subquery("units")


def _histogram_p90(buckets: list[int]) -> float | None:
    """The edge of the bucket holding the nearest-rank 90th percentile."""
    n = sum(buckets)
    rank = (9 * n + 9) // 10  # the smallest rank with at least 90 % at or below it
    seen = 0
    for i, count in enumerate(buckets):
        seen += count
        if n and seen >= rank:
            return rollup.bucket_edge(i)
    return None


def _rollup_counts(
    r: _Request,
    group_of: Callable[[Any], Any] | None,
    live_group: Any | None,
    whole_months: bool,
) -> dict[Any, _Counts]:
    """Counts per group from the rollup (`group_of` builds the group from its row's
    columns); the "now" figures from the open hazards (live)."""
    units = _rollup_rows(r, whole_months)
    key = (group_of(units.c) if group_of is not None else literal("all")).label("k")
    sums = [func.coalesce(func.sum(units.c[c]), 0).label(c) for c in rollup.COUNTERS]
    rows = r.s.execute(
        select(key, *sums)
        .group_by(key)
        .having(func.sum(units.c.reported) > 0)  # rows emptied by moves count as none
    ).all()
    live_key = (live_group if live_group is not None else literal("all")).label("k")
    # Each "now" figure counts open hazards: the open set lets the partial index of open
    # hazards serve, a small slice of a year.
    now = {
        row.k: row
        for row in r.s.execute(
            select(live_key, *r.now_figures())
            .where(*r.hazards(), Hazard.status.in_(OPEN_STATUSES))
            .group_by(live_key)
        ).all()
    }
    out = {}
    for row in rows:
        buckets = [int(getattr(row, b)) for b in HOUR_BUCKETS]
        live = now.get(row.k)
        out[row.k] = _Counts(
            reported=int(row.reported),
            rejected=int(row.rejected),
            closed=int(row.closed),
            open=int(row.open),
            overdue=int(live.overdue) if live else 0,
            awaiting_verification=int(live.awaiting_verification) if live else 0,
            verification_late=int(live.verification_late) if live else 0,
            closed_on_time=int(row.closed_on_time),
            reopens=int(row.reopens),
            timed=sum(buckets),
            close_seconds=float(row.close_seconds),
            p90_hours=_histogram_p90(buckets),
        )
    return out


def _counts(
    r: _Request,
    use_rollup: bool,
    group: Any | None,
    rollup_group: Callable[[Any], Any] | None = None,
    *,
    by_day: bool = False,
) -> dict[Any, _Counts]:
    """Counts per group, from the rollup (whole months from the monthly rows unless the
    groups need days) or from the hazards."""
    if use_rollup:
        return _rollup_counts(r, rollup_group, group, whole_months=not by_day)
    return _live_counts(r, group)


def _figures(c: _Counts, checked: int, active: int) -> Figures:
    valid = c.reported - c.rejected
    mean = round(c.close_seconds / c.timed / 3600.0, 2) if c.timed else None
    return Figures(
        reported=c.reported,
        rejected=c.rejected,
        valid=valid,
        closed=c.closed,
        open=c.open,
        overdue=c.overdue,
        awaiting_verification=c.awaiting_verification,
        verification_late=c.verification_late,
        closed_on_time=c.closed_on_time,
        rectification_rate=_rate(c.closed, valid),
        on_time_rate=_rate(c.closed_on_time, valid),
        mean_hours_to_close=mean,
        p90_hours_to_close=c.p90_hours,
        reopen_count=c.reopens,
        enterprises_checked=checked,
        enterprises_active=active,
        coverage=_rate(checked, active),
    )


def _coverage(
    r: _Request, group_enterprise: Any | None = None
) -> tuple[dict[Any, int], dict[Any, int]]:
    """(enterprises with ≥1 check-in in the period, active enterprises) per group key."""
    conditions = _enterprise_filter(r.actor, r.query, r.region)
    key = (group_enterprise if group_enterprise is not None else literal("all")).label("k")
    active = dict(
        r.s.execute(select(key, func.count(Enterprise.id)).where(*conditions).group_by(key)).all()
    )
    # One probe per enterprise into ix_checkins_enterprise_created.
    visited = (
        exists()
        .where(Checkin.enterprise_id == Enterprise.id)
        .where(Checkin.created_at >= r.period.start, Checkin.created_at < r.period.end)
    )
    checked = dict(
        r.s.execute(
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


def _source(use_rollup: bool) -> str:
    return "rollup" if use_rollup else "live"


def _prevention() -> Any:
    # Imported when asked for: the 双重预防 figures build on this module.
    from service.statistics import prevention

    return prevention


def summary(
    ctx: Context, actor: Actor, query: StatsQuery, *, with_prevention: bool = False
) -> Summary:
    """The figures for a scope and period (and the 双重预防 ones, when asked for)."""
    with _request(ctx, actor, query) as r:
        use_rollup = r.rollup_serves()
        counts = _counts(r, use_rollup, None).get("all", _Counts())
        checked, active = _coverage(r)
        figures = _figures(counts, checked.get("all", 0), active.get("all", 0))
        result = Summary(_scope_info(r.region, r.period), figures, r.now, _source(use_rollup))
        if with_prevention:
            result.prevention = _prevention().figures_within(r)
        return result


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


def _unit_prefix(columns: Any, depth: int) -> Any:
    """A rollup row's child region: its unit path cut to the child's depth."""
    return func.substr(columns.unit_path, 1, depth)


def ranking(
    ctx: Context,
    actor: Actor,
    query: StatsQuery,
    sort: Figure = Figure.RECTIFICATION_RATE,
    *,
    with_prevention: bool = False,
) -> Ranking:
    """The figures of every child region (or grid) of the scope, ranked by one figure (and
    each unit's 双重预防 figures, when asked for)."""
    depth: int | None = None
    with _request(ctx, actor, query) as r:
        region = r.region
        kind, units = _children(r.s, actor, region)
        use_rollup = False
        rollup_key: Callable[[Any], Any] | None = None
        if kind == "grid":
            hazard_key: Any = Hazard.grid_id
            enterprise_key: Any = Enterprise.grid_id
            unit_key = {u.id: u.id for u in units}
        else:
            depth = len(region.path) + CODE_SEGMENT if region else 1 + CODE_SEGMENT
            hazard_key = func.substr(Hazard.region_path, 1, depth)
            enterprise_key = func.substr(Enterprise.region_path, 1, depth)
            unit_key = {u.id: u.path for u in units}
            # Child regions down to streets are whole units of the rollup.
            use_rollup = depth <= rollup.UNIT_LENGTH and r.rollup_serves()
            rollup_key = partial(_unit_prefix, depth=depth)
        counts = _counts(r, use_rollup, hazard_key, rollup_key)
        checked, active = _coverage(r, enterprise_key)
        result = []
        prevention = _prevention().by_unit_within(r, kind, depth) if with_prevention else {}
        for unit in units:
            k = unit_key[unit.id]
            figures = _figures(counts.get(k, _Counts()), checked.get(k, 0), active.get(k, 0))
            more = (
                prevention.get(k) or _prevention().PreventionFigures() if with_prevention else None
            )
            result.append((unit, figures, more))
    result.sort(key=lambda row: _sort_key(row[1], sort, row[0].code))
    ranked = [
        RankingRow(
            rank=i,
            unit_id=unit.id,
            unit_code=unit.code,
            unit_name=unit.name,
            unit_kind=kind,
            figures=figures,
            prevention=more,
        )
        for i, (unit, figures, more) in enumerate(result, start=1)
    ]
    return Ranking(_scope_info(region, r.period), sort, ranked, _source(use_rollup))


# Figures where less is better rank ascending; None (no data) always ranks last.
_ASCENDING = {
    Figure.OPEN,
    Figure.OVERDUE,
    Figure.AWAITING_VERIFICATION,
    Figure.VERIFICATION_LATE,
    Figure.MEAN_HOURS_TO_CLOSE,
}


def _sort_key(figures: Figures, sort: Figure, code: str) -> tuple[int, float, str]:
    value = getattr(figures, sort.value)
    if value is None:
        return (1, 0.0, code)
    return (0, value if sort in _ASCENDING else -value, code)


def _bucket_expr(s: Session, bucket: Bucket, moment: Any = None) -> ColumnElement[str]:
    """The bucket name of a stored time (by default the hazard's report), in China time."""
    local = china_time_sql(Hazard.created_at if moment is None else moment, _dialect(s))
    if _dialect(s) == "postgresql":
        if bucket is Bucket.MONTH:
            return func.to_char(local, "YYYY-MM")
        return func.to_char(func.date_trunc("week", local), "YYYY-MM-DD")
    if bucket is Bucket.MONTH:
        return func.strftime("%Y-%m", local)
    # the Monday of the week: move to the next Sunday (or stay), then back six days
    return func.date(local, "weekday 0", "-6 days")


def _day_bucket_expr(s: Session, bucket: Bucket, day: Any) -> ColumnElement[str]:
    """The same bucket names from a rollup row's China day (a month's: its first day)."""
    if _dialect(s) == "postgresql":
        if bucket is Bucket.MONTH:
            return func.to_char(day, "YYYY-MM")
        return func.to_char(func.date_trunc("week", cast(day, DateTime)), "YYYY-MM-DD")
    if bucket is Bucket.MONTH:
        return func.strftime("%Y-%m", day)
    return func.date(day, "weekday 0", "-6 days")


def trend(
    ctx: Context,
    actor: Actor,
    query: StatsQuery,
    bucket: Bucket = Bucket.WEEK,
    *,
    with_prevention: bool = False,
) -> Trend:
    """Reported / closed / rates per week or per month of the period (and the 双重预防
    task and hazard-origin figures, when asked for)."""
    with _request(ctx, actor, query) as r:
        use_rollup = r.rollup_serves()
        counts = _counts(
            r,
            use_rollup,
            _bucket_expr(r.s, bucket),
            lambda c: _day_bucket_expr(r.s, bucket, c.day),
            by_day=bucket is Bucket.WEEK,
        )
        prevention = _prevention().by_bucket_within(r, bucket) if with_prevention else {}
    # coverage is a per-period figure, not per bucket
    buckets = {str(k): counts[k] for k in counts}
    points = [
        TrendPoint(k, _figures(buckets.get(k, _Counts()), 0, 0), prevention.get(k))
        for k in sorted(buckets.keys() | prevention.keys())
    ]
    if with_prevention:
        empty = _prevention().PreventionFigures
        for point in points:
            point.prevention = point.prevention or empty()
    return Trend(_scope_info(r.region, r.period), bucket, points, _source(use_rollup))


@dataclass
class MajorHazardRow:
    hazard: Hazard
    enterprise_name: str
    overdue: bool


def major_hazards(ctx: Context, actor: Actor, query: StatsQuery) -> list[MajorHazardRow]:
    """一单四制 台账: 重大隐患 reported in the period or still open, with plan and deadline."""
    with _request(ctx, actor, query) as r:
        period, now = r.period, r.now
        in_period = and_(Hazard.created_at >= period.start, Hazard.created_at < period.end)
        rows = r.s.execute(
            select(Hazard, Enterprise.name)
            .join(Enterprise, Enterprise.id == Hazard.enterprise_id)
            .where(
                Hazard.level == HazardLevel.MAJOR,
                *r.hazards(in_period=False),
                in_period | Hazard.status.in_(OPEN_STATUSES),
            )
            .order_by(Hazard.created_at, Hazard.id)
            .limit(5000)
        ).all()
    return [
        MajorHazardRow(
            hazard=h,
            enterprise_name=name,
            overdue=is_overdue(h.status, h.deadline, now),
        )
        for h, name in rows
    ]


@dataclass(frozen=True, slots=True)
class LedgerRow:
    """One hazard as an office files it (台账): never the reporter."""

    id: int
    number: str
    enterprise_name: str
    credit_code: str
    grid_name: str
    point_name: str | None
    source: Any
    category: Any
    level: Any
    description: str
    status: Any
    created_at: datetime
    assignee_name: str | None
    deadline: datetime | None
    original_deadline: datetime | None
    plan: dict[str, Any] | None
    fix_note: str | None
    fix_submitted_at: datetime | None
    verifier_name: str | None
    verify_note: str | None
    closed_at: datetime | None
    supervised: bool
    reopen_count: int
    overdue: bool


# How an enterprise sees who verified: the role, never the name.
VERIFIER_ROLES = {Role.INSPECTOR.value: "网格员", Role.SUPERVISOR.value: "监管人员"}


def hazard_rows(
    ctx: Context, actor: Actor, query: StatsQuery, batch: int = 1000
) -> Iterator[LedgerRow]:
    """Every hazard of the scope and period for the 台账 (no reporter), streamed in batches:
    plain columns, no ORM objects, so a district's year streams in constant memory. Offices
    see the verifier's name, enterprise roles the verifier's role."""
    assignee, verifier = aliased(User), aliased(User)
    verification = aliased(HazardEvent)
    # The latest verification (pass or fail) by its per-hazard sequence: one probe of the
    # (hazard_id, seq) index per hazard.
    latest_verification = (
        select(HazardEvent.id)
        .where(
            HazardEvent.hazard_id == Hazard.id,
            HazardEvent.action.in_((HazardAction.PASS, HazardAction.FAIL)),
        )
        .order_by(HazardEvent.seq.desc())
        .limit(1)
        .correlate(Hazard)
        .scalar_subquery()
    )
    columns = (
        Hazard.id, Hazard.number, Enterprise.name, Enterprise.credit_code, Grid.name,
        Point.name, Hazard.source, Hazard.category, Hazard.level, Hazard.description,
        Hazard.status, Hazard.created_at, assignee.display_name, Hazard.deadline,
        Hazard.original_deadline, Hazard.plan, Hazard.fix_note, Hazard.fix_submitted_at,
        verifier.display_name, verification.note, Hazard.closed_at, Hazard.supervised,
        Hazard.reopen_count, verification.actor_role,
    )  # fmt: skip
    with _request(ctx, actor, query) as r:
        statement: Select[Any] = (
            select(*columns)
            .join(Enterprise, Enterprise.id == Hazard.enterprise_id)
            .join(Grid, Grid.id == Hazard.grid_id)
            .outerjoin(Point, Point.id == Hazard.point_id)
            .outerjoin(assignee, assignee.id == Hazard.assignee_id)
            .outerjoin(verification, verification.id == latest_verification)
            .outerjoin(verifier, verifier.id == verification.actor_id)
            .where(*r.hazards())
            .order_by(Hazard.created_at, Hazard.id)
            .execution_options(yield_per=batch)
        )
        now, names_staff = r.now, actor.role in SEE_REPORTERS
        for row in r.s.execute(statement):
            values = list(row[:-1])
            if not names_staff and values[18] is not None:
                # 举报人信息保护: enterprise roles learn no office staff's name (an inspector who
                # verifies here may have reported elsewhere); they get the verifier's role.
                values[18] = VERIFIER_ROLES.get(row[-1] or "", "检查人员")
            yield LedgerRow(*values, overdue=is_overdue(row[10], row[13], now))
