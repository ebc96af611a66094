"""Hazard queries: loading in the caller's scope, list filters, events, receipts, chain checks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from service.access.scoping import Actor, hazard_scope, subtree
from service.core.clock import period_end, period_start
from service.core.context import Context
from service.core.errors import NotFound
from service.directory.models import Enterprise, Point
from service.directory.regions import _visible_region
from service.hazards import workflow
from service.hazards.deadlines import overdue_condition
from service.hazards.models import Hazard, HazardEvent
from service.hazards.rules import (
    ReceiptNotFound,
    receipt_hash,
)
from uploads_schema.vocabulary import (
    HazardAction,
    HazardCategory,
    HazardLevel,
    HazardSource,
    HazardStatus,
    Role,
)

# --- scope and loading -------------------------------------------------------------------------


def _load(session: Session, actor: Actor, hazard_id: int, *, lock: bool = False) -> Hazard:
    query = select(Hazard).where(Hazard.id == hazard_id, hazard_scope(actor))
    if lock:
        # Serializes concurrent transitions of one hazard (PostgreSQL; SQLite locks the file).
        query = query.with_for_update(of=Hazard)
    hazard = session.scalar(query)
    if hazard is None:
        raise NotFound("隐患不存在", "Hazard not found")
    return hazard


# 举报人信息保护: the roles that may know who reported (besides the reporter).
SEE_REPORTERS = frozenset({Role.ADMIN, Role.SUPERVISOR, Role.INSPECTOR})


def may_know_reporter(actor: Actor, hazard: Hazard) -> bool:
    """举报人信息保护: enterprise roles never learn who reported; offices and the reporter may."""
    return actor.role in SEE_REPORTERS or actor.user_id == hazard.reporter_id


def shows_reporter(actor: Actor, hazard: Hazard) -> bool:
    """Is there a reporter to show this caller (not for anonymous reports)?"""
    return hazard.reporter_id is not None and may_know_reporter(actor, hazard)


@dataclass
class HazardFilters:
    status: list[HazardStatus] | None = None
    level: HazardLevel | None = None
    category: HazardCategory | None = None
    source: HazardSource | None = None
    enterprise_id: int | None = None
    region_id: int | None = None
    grid_id: int | None = None
    overdue: bool | None = None
    supervised: bool | None = None
    # A China date (from its start; `to` includes the whole day) or a timestamp (`to` exclusive)
    date_from: date | datetime | None = None
    date_to: date | datetime | None = None
    q: str | None = None  # a number, or text in the description or the enterprise's name


def list_conditions(
    s: Session, actor: Actor, filters: HazardFilters, now: datetime
) -> list[ColumnElement[bool]]:
    """What a hazard list selects: the caller's scope and the filters (a region filter
    outside the caller's scope is 404)."""
    f = filters
    conditions = [hazard_scope(actor)]
    if f.status:
        conditions.append(Hazard.status.in_(f.status))
    for column, value in (
        (Hazard.level, f.level),
        (Hazard.category, f.category),
        (Hazard.source, f.source),
        (Hazard.enterprise_id, f.enterprise_id),
        (Hazard.grid_id, f.grid_id),
    ):
        if value is not None:
            conditions.append(column == value)
    if f.supervised is not None:
        conditions.append(Hazard.supervised.is_(f.supervised))
    if f.overdue is not None:
        overdue = overdue_condition(now)
        conditions.append(overdue if f.overdue else ~overdue)
    if f.date_from is not None:
        conditions.append(Hazard.created_at >= period_start(f.date_from))
    if f.date_to is not None:
        conditions.append(Hazard.created_at < period_end(f.date_to))
    if f.q:
        named = select(Enterprise.id).where(Enterprise.name.contains(f.q, autoescape=True))
        conditions.append(
            or_(
                Hazard.number == f.q.strip().upper(),
                Hazard.description.contains(f.q, autoescape=True),
                Hazard.enterprise_id.in_(named),
            )
        )
    if f.region_id is not None:
        region = _visible_region(s, actor, f.region_id)
        conditions.append(subtree(Hazard.region_path, region.path))
    return conditions


@dataclass(frozen=True)
class EventView:
    """One event of a hazard's history as a caller may see it."""

    seq: int
    action: HazardAction
    from_status: HazardStatus | None
    to_status: HazardStatus
    actor_id: int | None
    actor_role: str | None
    note: str
    data: dict[str, Any]
    created_at: datetime
    prev_hash: str | None
    hash: str | None


@dataclass
class EventLog:
    events: list[EventView]
    chain_ok: bool
    breaks: list[workflow.ChainBreak]


def _event_view(event: HazardEvent, *, knows_reporter: bool) -> EventView:
    # 举报人信息保护 against anything shown: an event's hash covers its actor's id and role,
    # and ids are small integers, so from the hashes of the chain (each event's prev_hash is
    # the one before) whoever may not know the reporter could find them by hashing every
    # candidate. Such callers get the chain's verdict without its hashes, and the report
    # event without its actor.
    hidden = not knows_reporter and event.action is HazardAction.REPORT
    return EventView(
        seq=event.seq,
        action=event.action,
        from_status=event.from_status,
        to_status=event.to_status,
        actor_id=None if hidden else event.actor_id,
        actor_role=None if hidden else event.actor_role,
        note=event.note,
        data=event.data,
        created_at=event.created_at,
        prev_hash=event.prev_hash if knows_reporter else None,
        hash=event.hash if knows_reporter else None,
    )


def list_events(ctx: Context, actor: Actor, hazard_id: int) -> EventLog:
    """The hazard's history with its hash chain and whether it verifies."""
    with ctx.read() as uow:
        s = uow.session
        hazard = _load(s, actor, hazard_id)
        events = list(
            s.scalars(
                select(HazardEvent)
                .where(HazardEvent.hazard_id == hazard.id)
                .order_by(HazardEvent.seq)
            )
        )
        knows_reporter = may_know_reporter(actor, hazard)
    breaks = workflow.verify_chain(events)
    shown = [_event_view(event, knows_reporter=knows_reporter) for event in events]
    return EventLog(shown, not breaks, breaks)


@dataclass
class Receipt:
    number: str
    status: HazardStatus
    created_at: datetime
    updated_at: datetime
    timeline: list[dict[str, Any]]
    # What the reporter saw when they reported: the place and the category (all public).
    enterprise_name: str = ""
    point_name: str | None = None
    category: HazardCategory = HazardCategory.OTHER


PUBLIC_NOTE_ACTIONS = {HazardAction.REJECT, HazardAction.PASS}


def receipt(ctx: Context, key: str) -> Receipt:
    """An anonymous reporter follows their report: status and public notes only."""
    with ctx.read() as uow:
        s = uow.session
        hazard = s.scalar(select(Hazard).where(Hazard.receipt_key_hash == receipt_hash(key)))
        if hazard is None:
            raise ReceiptNotFound()
        events = s.scalars(
            select(HazardEvent).where(HazardEvent.hazard_id == hazard.id).order_by(HazardEvent.seq)
        ).all()
        point = s.get(Point, hazard.point_id) if hazard.point_id is not None else None
    timeline = [
        {
            "action": e.action,
            "status": e.to_status,
            "at": e.created_at,
            "note": e.note if e.action in PUBLIC_NOTE_ACTIONS else "",
        }
        for e in events
        if e.action not in (HazardAction.MARK_OVERDUE, HazardAction.ESCALATE)
    ]
    return Receipt(
        hazard.number,
        hazard.status,
        hazard.created_at,
        hazard.updated_at,
        timeline,
        enterprise_name=hazard.enterprise.name,  # loaded with the hazard (a joined relation)
        point_name=point.name if point is not None else None,
        category=hazard.category,
    )


def verify_all_chains(ctx: Context) -> tuple[int, list[workflow.ChainBreak]]:
    """Check every hazard's event chain; returns (hazards checked, breaks)."""
    breaks: list[workflow.ChainBreak] = []
    checked = 0
    with ctx.read() as uow:
        s = uow.session
        ids = s.scalars(select(Hazard.id).order_by(Hazard.id)).all()
        for start in range(0, len(ids), 500):
            batch = ids[start : start + 500]
            events = s.scalars(
                select(HazardEvent)
                .where(HazardEvent.hazard_id.in_(batch))
                .order_by(HazardEvent.hazard_id, HazardEvent.seq)
            ).all()
            by_hazard: dict[int, list[HazardEvent]] = {i: [] for i in batch}
            for e in events:
                by_hazard[e.hazard_id].append(e)
            for hazard_id, chain in by_hazard.items():
                checked += 1
                if not chain:
                    breaks.append(workflow.ChainBreak(hazard_id, 0, "no events"))
                breaks.extend(workflow.verify_chain(chain))
            s.expunge_all()
    return checked, breaks
