"""The overdue sweep (逾期巡检): mark overdue hazards, escalate them, queue reminders, and
escalate fixes waiting too long for verification (验收超时).

Run by cron every few minutes (`flask hazards sweep`). Safe to run again or twice at
once: rows are re-checked under a row lock, and every reminder has a dedup key.

Overdue is `deadlines.is_overdue` (rectifying past the current deadline). What the sweep has
done to a hazard is its `escalation_level`: 0 nothing yet, 1 marked overdue and the assignee
told, 2 the grid's inspectors, 3 the supervisors. Workflow steps that give the enterprise a
new deadline (reopen, an approved extension into the future) set it back to 0.

A fix under verification is never overdue: once `deadlines.is_verification_late`, the
verifier's superiors (the supervisors of the nearest region above the hazard that has any)
are told, once per submitted fix, with an `escalate` event recorded from `verifying`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, and_, exists, or_, select
from sqlalchemy.orm import Session

from service.core.context import Context
from service.core.settings import Settings
from service.directory.models import Region, User, grid_inspectors
from service.hazards.deadlines import (
    is_overdue,
    is_verification_late,
    overdue_condition,
    verification_late_condition,
)
from service.hazards.models import Hazard, HazardEvent
from service.hazards.workflow import apply
from service.notifications import outbox
from uploads_schema.vocabulary import HazardAction, HazardStatus, NotificationKind, Role

log = logging.getLogger(__name__)

BATCH_SIZE = 500  # hazards per transaction: a district-wide sweep never holds one huge lock set
LEVEL_ASSIGNEE, LEVEL_INSPECTORS, LEVEL_SUPERVISORS = 1, 2, 3


@dataclass
class SweepReport:
    """What one sweep did."""

    candidates: int = 0
    marked_overdue: int = 0
    escalated_to_inspectors: int = 0
    escalated_to_supervisors: int = 0
    verification_late: int = 0  # fixes waiting too long, escalated to the supervisors
    due_soon: int = 0
    notifications_queued: int = 0
    busy: int = 0  # locked by a concurrent sweep or use case, or no longer due: left alone


@dataclass(frozen=True)
class _Cutoffs:
    now: datetime
    due_soon_until: datetime  # deadlines up to here get a due-soon reminder
    inspectors_before: datetime  # deadlines before here escalate to the grid's inspectors
    supervisors_before: datetime  # … and before here to the supervisors
    verify_within_hours: int  # a fix unverified longer is late

    @classmethod
    def at(cls, now: datetime, settings: Settings) -> _Cutoffs:
        return cls(
            now=now,
            due_soon_until=now + timedelta(hours=settings.due_soon_hours),
            inspectors_before=now - timedelta(hours=settings.escalate_inspector_after_hours),
            supervisors_before=now - timedelta(hours=settings.escalate_supervisor_after_hours),
            verify_within_hours=settings.verify_within_hours,
        )


def sweep(ctx: Context, now: datetime | None = None) -> SweepReport:
    """Mark overdue hazards, escalate them as days pass, queue due-soon and overdue reminders;
    escalate late verifications."""
    cutoffs = _Cutoffs.at(now or ctx.now(), ctx.settings)
    with ctx.read() as uow:
        ids = list(uow.session.scalars(select(Hazard.id).where(_needs_work(cutoffs))))
    ids.sort()
    report = SweepReport(candidates=len(ids))
    for start in range(0, len(ids), BATCH_SIZE):
        _sweep_batch(ctx, ids[start : start + BATCH_SIZE], cutoffs, report)
    log.info(
        "overdue sweep: %d candidates, %d marked overdue, %d to inspectors, "
        "%d to supervisors, %d late verifications, %d due soon, %d queued, %d busy",
        report.candidates,
        report.marked_overdue,
        report.escalated_to_inspectors,
        report.escalated_to_supervisors,
        report.verification_late,
        report.due_soon,
        report.notifications_queued,
        report.busy,
    )
    return report


def _needs_work(c: _Cutoffs) -> ColumnElement[bool]:
    """Hazards the sweep may have to touch; `_sweep_one` decides exactly what."""
    rectifying = Hazard.status == HazardStatus.RECTIFYING
    unmarked = Hazard.escalation_level < LEVEL_ASSIGNEE
    return or_(
        and_(
            Hazard.deadline.is_not(None),
            or_(
                and_(overdue_condition(c.now), unmarked),
                and_(rectifying, unmarked, Hazard.deadline <= c.due_soon_until),
                and_(
                    rectifying,
                    Hazard.escalation_level < LEVEL_INSPECTORS,
                    Hazard.deadline <= c.inspectors_before,
                ),
                and_(
                    rectifying,
                    Hazard.escalation_level < LEVEL_SUPERVISORS,
                    Hazard.deadline <= c.supervisors_before,
                ),
            ),
        ),
        and_(
            verification_late_condition(c.now, c.verify_within_hours),
            ~_verification_escalated(),
        ),
    )


def _verification_escalated() -> ColumnElement[bool]:
    """The fix under verification was escalated already: an `escalate` event from
    `verifying` after it was submitted (a new fix after a failed verification is new; its
    escalation comes VERIFY_WITHIN_HOURS later, never at the same instant)."""
    return exists().where(
        HazardEvent.hazard_id == Hazard.id,
        HazardEvent.action == HazardAction.ESCALATE,
        HazardEvent.from_status == HazardStatus.VERIFYING,
        HazardEvent.created_at > Hazard.fix_submitted_at,
    )


def _sweep_batch(ctx: Context, ids: list[int], cutoffs: _Cutoffs, report: SweepReport) -> None:
    with ctx.uow() as uow:
        # SKIP LOCKED: rows another sweep (or a user's transition) holds are left to it; the
        # condition is evaluated again under the lock, so work a concurrent sweep already
        # committed is not repeated. SQLite has no row locks and serializes writers instead.
        query = (
            select(Hazard)
            .where(Hazard.id.in_(ids), _needs_work(cutoffs))
            .order_by(Hazard.id)
            .with_for_update(skip_locked=True, of=Hazard)
        )
        hazards = list(uow.session.scalars(query))
        report.busy += len(ids) - len(hazards)
        recipients = _Recipients(uow.session)
        for hazard in hazards:
            _sweep_one(uow.session, hazard, cutoffs, recipients, report)
        uow.commit()


def _sweep_one(
    session: Session,
    hazard: Hazard,
    c: _Cutoffs,
    recipients: _Recipients,
    report: SweepReport,
) -> None:
    if hazard.status is HazardStatus.VERIFYING:
        _sweep_verifying(session, hazard, c, recipients, report)
        return
    deadline = hazard.deadline
    # Only a rectification is overdue: a reported hazard has nobody assigned yet, and a fix
    # under verification waits for the verifier, not the enterprise.
    if deadline is None or hazard.status is not HazardStatus.RECTIFYING:
        return
    marked = hazard.escalation_level >= LEVEL_ASSIGNEE
    if not is_overdue(hazard.status, deadline, c.now):
        if not marked and deadline <= c.due_soon_until:
            queued = _notify(
                session, hazard, NotificationKind.DUE_SOON, [hazard.assignee_id], level=0
            )
            report.due_soon += queued
            report.notifications_queued += queued
        return

    if not marked:
        hazard.escalation_level = LEVEL_ASSIGNEE
        apply(
            session,
            hazard,
            HazardAction.MARK_OVERDUE,
            None,
            at=c.now,
            data={"deadline": deadline.isoformat()},
        )
        report.marked_overdue += 1
        report.notifications_queued += _notify(
            session, hazard, NotificationKind.OVERDUE, [hazard.assignee_id], LEVEL_ASSIGNEE
        )
    if hazard.escalation_level < LEVEL_INSPECTORS and deadline <= c.inspectors_before:
        _escalate(session, hazard, LEVEL_INSPECTORS, recipients.inspectors(hazard), c, report)
        report.escalated_to_inspectors += 1
    if hazard.escalation_level < LEVEL_SUPERVISORS and deadline <= c.supervisors_before:
        _escalate(session, hazard, LEVEL_SUPERVISORS, recipients.supervisors(hazard), c, report)
        report.escalated_to_supervisors += 1


def _sweep_verifying(
    session: Session,
    hazard: Hazard,
    c: _Cutoffs,
    recipients: _Recipients,
    report: SweepReport,
) -> None:
    """A fix waiting longer than VERIFY_WITHIN_HOURS: tell the verifier's superiors, once."""
    submitted = hazard.fix_submitted_at
    if submitted is None or not is_verification_late(
        hazard.status, submitted, c.now, c.verify_within_hours
    ):
        return
    # Asked again under the row lock: a concurrent sweep may have committed its escalation
    # after this batch's statement took its snapshot.
    escalated = select(_verification_escalated()).where(Hazard.id == hazard.id)
    if session.scalar(escalated):
        return
    apply(
        session,
        hazard,
        HazardAction.ESCALATE,
        None,
        at=c.now,
        data={"awaiting_verification_since": submitted.isoformat()},
    )
    report.verification_late += 1
    supervisors = recipients.supervisors(hazard)
    if not supervisors:
        log.warning("hazard %s awaits verification too long but nobody to notify", hazard.number)
    tag = _key_time(submitted)
    kind = NotificationKind.VERIFY_LATE
    for rid in supervisors:  # the key holds the fix: a new fix, once late, is told again
        report.notifications_queued += outbox.enqueue(
            session,
            kind=kind,
            hazard=hazard,
            recipient_id=rid,
            dedup_key=f"{kind.value}:{hazard.id}:{rid}:{tag}",
            payload={"fix_submitted_at": submitted.isoformat()},
        )


def _escalate(
    session: Session,
    hazard: Hazard,
    level: int,
    recipient_ids: list[int],
    c: _Cutoffs,
    report: SweepReport,
) -> None:
    hazard.escalation_level = level
    apply(session, hazard, HazardAction.ESCALATE, None, at=c.now, data={"level": level})
    if not recipient_ids:
        # Still escalated (and recorded), so the sweep does not retry every few minutes.
        log.warning("hazard %s escalated to level %d but nobody to notify", hazard.number, level)
    report.notifications_queued += _notify(
        session, hazard, NotificationKind.OVERDUE, recipient_ids, level
    )


def _notify(
    session: Session,
    hazard: Hazard,
    kind: NotificationKind,
    recipient_ids: list[int | None],
    level: int,
) -> int:
    """Queue one message per recipient; the key holds the deadline, so after an approved
    extension or a reopen with a new deadline the reminders go out again."""
    deadline = hazard.deadline
    if deadline is None:
        return 0
    tag = _key_time(deadline)
    queued = 0
    for rid in recipient_ids:
        queued += outbox.enqueue(
            session,
            kind=kind,
            hazard=hazard,
            recipient_id=rid,
            dedup_key=f"{kind.value}:{hazard.id}:{level}:{rid}:{tag}",
            payload={"deadline": deadline.isoformat(), "level": level},
        )
    return queued


def _key_time(moment: datetime) -> str:
    """A moment as dedup keys hold it."""
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


class _Recipients:
    """Who hears about escalations, looked up once per grid / region path in a batch."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._inspectors: dict[int, list[int]] = {}
        self._supervisors: dict[str, list[int]] = {}

    def inspectors(self, hazard: Hazard) -> list[int]:
        """Active inspectors of the hazard's grid (网格员)."""
        if hazard.grid_id not in self._inspectors:
            query = (
                select(User.id)
                .join(grid_inspectors, grid_inspectors.c.user_id == User.id)
                .where(
                    grid_inspectors.c.grid_id == hazard.grid_id,
                    User.role == Role.INSPECTOR,
                    User.active.is_(True),
                )
                .order_by(User.id)
            )
            self._inspectors[hazard.grid_id] = list(self._session.scalars(query))
        return self._inspectors[hazard.grid_id]

    def supervisors(self, hazard: Hazard) -> list[int]:
        """Active supervisors of the nearest region above the hazard that has any."""
        path = hazard.region_path
        if path not in self._supervisors:
            # "/320400000000/320412000000/320412001000/…/" → itself, its parent, … the root.
            codes = [code for code in path.split("/") if code]
            ancestors = ["/" + "/".join(codes[:n]) + "/" for n in range(len(codes), 0, -1)]
            rows = self._session.execute(
                select(User.id, Region.path)
                .join(Region, Region.id == User.region_id)
                .where(
                    Region.path.in_(ancestors),
                    User.role == Role.SUPERVISOR,
                    User.active.is_(True),
                )
                .order_by(User.id)
            ).all()
            nearest = max((len(p) for _, p in rows), default=0)
            self._supervisors[path] = [uid for uid, p in rows if len(p) == nearest]
        return self._supervisors[path]
