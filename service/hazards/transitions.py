"""Hazard transitions: assign, plan (五落实), submit fix, verify, reject, reopen, extend.

Each use case is one transaction; status changes go through `workflow.apply`, which appends
the hash-chained event. Writes take an optional `IdempotencyKey` and expected version."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import literal, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.access.scoping import Actor, hazard_scope
from service.core import idempotency
from service.core.clock import deadline_of
from service.core.context import Context
from service.core.errors import Conflict, ValidationFailed
from service.core.idempotency import IdempotencyKey
from service.directory.models import Region, User, grid_inspectors
from service.hazards import workflow
from service.hazards.models import Hazard
from service.hazards.queries import (
    _load,
)
from service.hazards.reporting import (
    _attach,
)
from service.hazards.rules import PLAN_FIELDS
from service.notifications import outbox
from uploads_schema.vocabulary import (
    HazardAction,
    HazardLevel,
    MediaRole,
    NotificationKind,
    Role,
)

# --- transitions -------------------------------------------------------------------------------


def _transition(
    ctx: Context,
    actor: Actor,
    hazard_id: int,
    idem: IdempotencyKey | None,
    work: Callable[[Session, Hazard, datetime], None],
) -> Hazard:
    for attempt in (1, 2):
        with ctx.uow() as uow:
            s = uow.session
            previous = idempotency.replay(s, idem)
            if previous is not None:
                return _load(s, actor, previous.resource_id or hazard_id)
            hazard = _load(s, actor, hazard_id, lock=True)
            work(s, hazard, ctx.now())
            idempotency.remember(s, idem, status_code=200, resource_id=hazard.id)
            try:
                uow.commit()
            except IntegrityError:
                if idem is not None and attempt == 1:
                    continue
                raise Conflict() from None
            return hazard
    raise AssertionError("unreachable")


def _require_future(deadline: datetime, now: datetime, field_name: str = "deadline") -> None:
    if deadline.tzinfo is None:
        raise ValidationFailed(errors={field_name: ["请带时区 / include a UTC offset"]})
    if deadline <= now:
        raise ValidationFailed(
            errors={field_name: ["整改期限须晚于当前时间 / must be in the future"]}
        )


def _notify(
    s: Session,
    kind: NotificationKind,
    hazard: Hazard,
    recipient_ids: list[int],
    at: datetime,
) -> None:
    # One message per event and recipient: the event's sequence number makes the key unique.
    for rid in recipient_ids:
        outbox.enqueue(
            s,
            kind=kind,
            hazard=hazard,
            recipient_id=rid,
            dedup_key=f"{kind.value}:{hazard.id}:{hazard.event_seq}:{rid}",
            at=at,
        )


def _verifiers(s: Session, hazard: Hazard) -> list[int]:
    """Who is told that a fix awaits verification: the grid's inspectors, or for 重大 the
    supervisors whose region contains the hazard."""
    if hazard.level is HazardLevel.GENERAL:
        return list(
            s.scalars(
                select(grid_inspectors.c.user_id).where(grid_inspectors.c.grid_id == hazard.grid_id)
            )
        )
    return list(
        s.scalars(
            select(User.id)
            .join(Region, Region.id == User.region_id)
            .where(User.role == Role.SUPERVISOR, User.active.is_(True))
            .where(literal(hazard.region_path).startswith(Region.path))  # an ancestor region
        )
    )


def assign(
    ctx: Context,
    actor: Actor,
    hazard_id: int,
    *,
    assignee_id: int,
    deadline: date | datetime,
    level: HazardLevel = HazardLevel.GENERAL,
    note: str = "",
    expected_version: int | None = None,
    idem: IdempotencyKey | None = None,
) -> Hazard:
    """交办: name who fixes it and by when (a date: the end of that China day); a 重大
    hazard needs its complete plan and is 挂牌督办."""
    deadline = deadline_of(deadline)

    def work(s: Session, hazard: Hazard, now: datetime) -> None:
        _require_future(deadline, now)
        assignee = s.get(User, assignee_id)
        if (
            assignee is None
            or not assignee.active
            or assignee.role is not Role.ENTERPRISE_OFFICER
            or assignee.enterprise_id != hazard.enterprise_id
        ):
            raise ValidationFailed(
                errors={"assignee_id": ["须为该企业的安全员 / an officer of this enterprise"]}
            )
        # The policy, and the plan rule of a 重大 hazard, judge it at the level it is given.
        hazard.level = level
        workflow.apply(
            s,
            hazard,
            HazardAction.ASSIGN,
            actor,
            at=now,
            note=note,
            data={
                "assignee_id": assignee_id,
                "deadline": deadline.isoformat(),
                "level": level.value,
            },
            expected_version=expected_version,
        )
        hazard.assignee_id = assignee_id
        hazard.deadline = deadline
        hazard.original_deadline = hazard.original_deadline or deadline
        hazard.supervised = hazard.supervised or level is HazardLevel.MAJOR
        _notify(s, NotificationKind.ASSIGNED, hazard, [assignee_id], now)

    return _transition(ctx, actor, hazard_id, idem, work)


def file_plan(
    ctx: Context,
    actor: Actor,
    hazard_id: int,
    *,
    expected_version: int | None = None,
    idem: IdempotencyKey | None = None,
    **plan: Any,
) -> Hazard:
    """五落实: record the responsible person, measures, funds, deadline and contingency plan.
    The deadline (时限) is kept like the hazard's own: an ISO 8601 UTC timestamp, a date
    meaning the end of that China day."""
    given = {k: v for k, v in plan.items() if k in PLAN_FIELDS}
    if given.get("deadline") is not None:
        given["deadline"] = deadline_of(given["deadline"]).astimezone(UTC).isoformat()

    def work(s: Session, hazard: Hazard, now: datetime) -> None:
        merged = {**(hazard.plan or {}), **given}
        workflow.apply(
            s,
            hazard,
            HazardAction.FILE_PLAN,
            actor,
            at=now,
            data={"plan": merged},
            expected_version=expected_version,
        )
        hazard.plan = merged

    return _transition(ctx, actor, hazard_id, idem, work)


def submit_fix(
    ctx: Context,
    actor: Actor,
    hazard_id: int,
    *,
    note: str,
    media_ids: list[int],
    expected_version: int | None = None,
    idem: IdempotencyKey | None = None,
) -> Hazard:
    """整改完成: after-photos (at least one) and what was done; goes to verification."""

    def work(s: Session, hazard: Hazard, now: datetime) -> None:
        workflow.apply(
            s,
            hazard,
            HazardAction.SUBMIT_FIX,
            actor,
            at=now,
            note=note,
            data={"media_ids": media_ids},
            expected_version=expected_version,
        )
        _attach(
            s,
            hazard,
            media_ids,
            uploader_id=actor.user_id,
            role=MediaRole.AFTER,
            at=now,
            minimum=1,
            event_seq=hazard.event_seq,  # the event just appended
        )
        hazard.fix_note, hazard.fix_submitted_at = note, now
        _notify(s, NotificationKind.FIX_SUBMITTED, hazard, _verifiers(s, hazard), now)

    return _transition(ctx, actor, hazard_id, idem, work)


def verify(
    ctx: Context,
    actor: Actor,
    hazard_id: int,
    *,
    passed: bool,
    note: str = "",
    media_ids: list[int] | None = None,
    expected_version: int | None = None,
    idem: IdempotencyKey | None = None,
) -> Hazard:
    """验收: pass closes it (销号); fail sends it back to rectifying and counts a reopen."""

    def work(s: Session, hazard: Hazard, now: datetime) -> None:
        if not passed and not note.strip():
            raise ValidationFailed(errors={"note": ["验收不通过须说明原因 / reason required"]})
        action = HazardAction.PASS if passed else HazardAction.FAIL
        workflow.apply(
            s,
            hazard,
            action,
            actor,
            at=now,
            note=note,
            data={"media_ids": media_ids or []},
            expected_version=expected_version,
        )
        _attach(
            s,
            hazard,
            media_ids or [],
            uploader_id=actor.user_id,
            role=MediaRole.VERIFICATION,
            at=now,
            minimum=0,
            event_seq=hazard.event_seq,
        )
        if passed:
            hazard.closed_at, hazard.closed_by_id = now, actor.user_id
        else:
            hazard.reopen_count += 1
        assignees = [hazard.assignee_id] if hazard.assignee_id else []
        _notify(s, NotificationKind.VERIFIED, hazard, assignees, now)

    return _transition(ctx, actor, hazard_id, idem, work)


def reject(
    ctx: Context,
    actor: Actor,
    hazard_id: int,
    *,
    reason: str,
    duplicate_of: str | None = None,
    expected_version: int | None = None,
    idem: IdempotencyKey | None = None,
) -> Hazard:
    """不属实 / 重复: close the report as not a hazard, recording who and why."""

    def work(s: Session, hazard: Hazard, now: datetime) -> None:
        if not reason.strip():
            raise ValidationFailed(errors={"reason": ["请说明原因 / reason required"]})
        original = _original_of(s, actor, hazard, duplicate_of) if duplicate_of else None
        workflow.apply(
            s,
            hazard,
            HazardAction.REJECT,
            actor,
            at=now,
            note=reason,
            data={"duplicate_of": original} if original else {},
            expected_version=expected_version,
        )
        hazard.rejected_reason, hazard.rejected_by_id = reason.strip(), actor.user_id

    return _transition(ctx, actor, hazard_id, idem, work)


def _original_of(s: Session, actor: Actor, hazard: Hazard, number: str) -> str:
    """The number of the hazard a duplicate repeats: one the rejecting actor can see, not
    the hazard itself (the officer is shown it, so it may not be free text or a hazard
    from elsewhere)."""
    original = s.scalar(
        select(Hazard.number).where(
            Hazard.number == number.strip().upper(), Hazard.id != hazard.id, hazard_scope(actor)
        )
    )
    if original is None:
        raise ValidationFailed(
            errors={"duplicate_of": ["没有这个编号的隐患 / no such hazard in your scope"]}
        )
    return original


def reopen(
    ctx: Context,
    actor: Actor,
    hazard_id: int,
    *,
    reason: str,
    deadline: date | datetime,
    expected_version: int | None = None,
    idem: IdempotencyKey | None = None,
) -> Hazard:
    """A supervisor reopens a closed hazard with a new deadline (a date: the end of that China
    day); the original one is kept."""
    deadline = deadline_of(deadline)

    def work(s: Session, hazard: Hazard, now: datetime) -> None:
        if not reason.strip():
            raise ValidationFailed(errors={"reason": ["请说明原因 / reason required"]})
        _require_future(deadline, now)
        workflow.apply(
            s,
            hazard,
            HazardAction.REOPEN,
            actor,
            at=now,
            note=reason,
            data={"deadline": deadline.isoformat()},
            expected_version=expected_version,
        )
        hazard.reopen_count += 1
        hazard.closed_at = hazard.closed_by_id = None
        hazard.deadline, hazard.escalation_level = deadline, 0  # the sweep starts afresh

    return _transition(ctx, actor, hazard_id, idem, work)


def extend(
    ctx: Context,
    actor: Actor,
    hazard_id: int,
    *,
    deadline: date | datetime | None = None,
    reason: str = "",
    approve: bool | None = None,
    expected_version: int | None = None,
    idem: IdempotencyKey | None = None,
) -> Hazard:
    """延期: the assignee asks (`deadline`, `reason`); an inspector (一般) or supervisor (重大)
    approves or declines (`approve`). One request at a time; a date is the end of that China
    day. The original deadline is kept for statistics."""
    until = None if deadline is None else deadline_of(deadline)

    def work(s: Session, hazard: Hazard, now: datetime) -> None:
        if approve is None:
            if until is None or not reason.strip():
                raise ValidationFailed(errors={"deadline": ["须给出新期限和理由 / required"]})
            _require_future(until, now)
            if hazard.deadline is not None and until <= hazard.deadline:
                raise ValidationFailed(errors={"deadline": ["须晚于现期限 / must be later"]})
            workflow.apply(
                s,
                hazard,
                HazardAction.REQUEST_EXTENSION,
                actor,
                at=now,
                note=reason,
                data={"until": until.isoformat()},
                expected_version=expected_version,
            )
            hazard.extension_until, hazard.extension_reason = until, reason.strip()
            return
        action = HazardAction.APPROVE_EXTENSION if approve else HazardAction.DECLINE_EXTENSION
        pending = hazard.extension_until  # none pending: `apply` refuses (invalid_transition)
        workflow.apply(
            s,
            hazard,
            action,
            actor,
            at=now,
            note=reason,
            data={"until": pending.isoformat() if pending else None},
            expected_version=expected_version,
        )
        if approve:
            hazard.deadline = hazard.extension_until
            if hazard.deadline > now:
                hazard.escalation_level = 0  # no longer overdue: the sweep starts afresh
        hazard.extension_until = hazard.extension_reason = None

    return _transition(ctx, actor, hazard_id, idem, work)
