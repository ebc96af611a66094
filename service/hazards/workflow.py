"""The hazard workflow: two tables (transitions, permissions) and the one function applying them.

rectify 整改 → verify 验收 → close 销号. Nothing else assigns `Hazard.status`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy.orm import Session

from service.access.scoping import Actor, hazard_place, in_charge
from service.core.errors import Conflict, DomainError, PermissionDenied
from service.hazards.models import Hazard, HazardEvent
from service.hazards.rules import PlanIncomplete, missing_plan_items
from uploads_schema.vocabulary import HazardAction, HazardLevel, HazardSource, HazardStatus, Role

S, A = HazardStatus, HazardAction

TRANSITIONS: dict[tuple[HazardStatus, HazardAction], HazardStatus] = {
    (S.REPORTED, A.ASSIGN): S.RECTIFYING,
    (S.REPORTED, A.REJECT): S.REJECTED,
    (S.REPORTED, A.FILE_PLAN): S.REPORTED,
    (S.RECTIFYING, A.FILE_PLAN): S.RECTIFYING,
    (S.RECTIFYING, A.SUBMIT_FIX): S.VERIFYING,
    (S.RECTIFYING, A.REQUEST_EXTENSION): S.RECTIFYING,
    (S.RECTIFYING, A.APPROVE_EXTENSION): S.RECTIFYING,
    (S.RECTIFYING, A.DECLINE_EXTENSION): S.RECTIFYING,
    (S.RECTIFYING, A.MARK_OVERDUE): S.RECTIFYING,
    (S.RECTIFYING, A.ESCALATE): S.RECTIFYING,
    (S.VERIFYING, A.ESCALATE): S.VERIFYING,  # waited too long for verification
    (S.VERIFYING, A.PASS): S.CLOSED,
    (S.VERIFYING, A.FAIL): S.RECTIFYING,
    (S.CLOSED, A.REOPEN): S.RECTIFYING,
}

# Who may do what: role × source × level → actions. `None` matches any source/level.
# The assignee may always submit the fix and ask for more time (checked in `allowed`).
_ANY = None
POLICY: dict[tuple[Role, HazardSource | None, HazardLevel | None], frozenset[HazardAction]] = {
    # The enterprise handles its own findings and public tips, not inspectors' findings.
    (Role.ENTERPRISE_OFFICER, HazardSource.SELF_CHECK, _ANY): frozenset(
        {A.ASSIGN, A.FILE_PLAN, A.SUBMIT_FIX, A.REQUEST_EXTENSION}
    ),
    (Role.ENTERPRISE_OFFICER, HazardSource.PUBLIC_TIP, _ANY): frozenset(
        {A.ASSIGN, A.FILE_PLAN, A.SUBMIT_FIX, A.REQUEST_EXTENSION}
    ),
    (Role.ENTERPRISE_OFFICER, HazardSource.INSPECTION, _ANY): frozenset(
        {A.FILE_PLAN, A.SUBMIT_FIX, A.REQUEST_EXTENSION}
    ),
    # The grid inspector verifies general hazards; 重大 ones only a supervisor verifies.
    (Role.INSPECTOR, HazardSource.INSPECTION, HazardLevel.GENERAL): frozenset(
        {A.ASSIGN, A.REJECT, A.PASS, A.FAIL, A.APPROVE_EXTENSION, A.DECLINE_EXTENSION}
    ),
    (Role.INSPECTOR, HazardSource.INSPECTION, HazardLevel.MAJOR): frozenset({A.ASSIGN, A.REJECT}),
    (Role.INSPECTOR, HazardSource.SELF_CHECK, HazardLevel.GENERAL): frozenset(
        {A.REJECT, A.PASS, A.FAIL, A.APPROVE_EXTENSION, A.DECLINE_EXTENSION}
    ),
    (Role.INSPECTOR, HazardSource.SELF_CHECK, HazardLevel.MAJOR): frozenset({A.REJECT}),
    (Role.INSPECTOR, HazardSource.PUBLIC_TIP, HazardLevel.GENERAL): frozenset(
        {A.REJECT, A.PASS, A.FAIL, A.APPROVE_EXTENSION, A.DECLINE_EXTENSION}
    ),
    (Role.INSPECTOR, HazardSource.PUBLIC_TIP, HazardLevel.MAJOR): frozenset({A.REJECT}),
    (Role.SUPERVISOR, _ANY, _ANY): frozenset(
        {
            A.ASSIGN,
            A.REJECT,
            A.FILE_PLAN,
            A.PASS,
            A.FAIL,
            A.REOPEN,
            A.APPROVE_EXTENSION,
            A.DECLINE_EXTENSION,
        }
    ),
}
ASSIGNEE_ACTIONS = frozenset({A.SUBMIT_FIX, A.REQUEST_EXTENSION})
SYSTEM_ACTIONS = frozenset({A.REPORT, A.MARK_OVERDUE, A.ESCALATE})

GENESIS_HASH = "0" * 64


class InvalidTransition(Conflict):
    code = "invalid_transition"
    message, message_en = (
        "当前状态下不能执行此操作",
        "This action is not allowed in the current state",
    )


class StaleVersion(Conflict):
    code = "version_conflict"
    message = "隐患已被他人更新，请刷新后重试"
    message_en = "The hazard was changed by someone else; reload and retry"


@cache  # a pure function of three small enums, asked for every hazard of every list page
def role_actions(role: Role, source: HazardSource, level: HazardLevel) -> frozenset[HazardAction]:
    """Actions the policy table grants a role for hazards of this source and level."""
    granted: set[HazardAction] = set()
    for (r, s, lv), actions in POLICY.items():
        if r is role and s in (source, None) and lv in (level, None):
            granted |= actions
    return frozenset(granted)


def manages(actor: Actor, hazard: Hazard) -> bool:
    """Is the hazard in the actor's charge? Seeing one's own report elsewhere is not enough."""
    return in_charge(actor, hazard_place(hazard))


def allowed(actor: Actor | None, hazard: Hazard, action: HazardAction) -> bool:
    """Does the policy let this actor do this action to this hazard?"""
    if actor is None:
        return action in SYSTEM_ACTIONS
    if action in ASSIGNEE_ACTIONS and hazard.assignee_id == actor.user_id:
        return True
    return manages(actor, hazard) and action in role_actions(
        actor.role, hazard.source, hazard.level
    )


# A 重大 hazard is assigned and fixed only with its complete 五落实 plan.
PLAN_FIRST = frozenset({A.ASSIGN, A.SUBMIT_FIX})


def precondition_failure(hazard: Hazard, action: HazardAction) -> DomainError | None:
    """Why the hazard as it stands does not allow the action, beyond its status and the
    policy (None if it does). `apply` refuses with it and `available_actions` leaves the
    action out, so a hazard's `actions` are the ones that would succeed."""
    if action in (A.APPROVE_EXTENSION, A.DECLINE_EXTENSION) and hazard.extension_until is None:
        return InvalidTransition("没有待审批的延期申请", "No extension request pending")
    if action is A.REQUEST_EXTENSION and hazard.extension_until is not None:
        return InvalidTransition(
            "已有待审批的延期申请，请等待审批结果", "An extension request is already pending"
        )
    if action in PLAN_FIRST and hazard.level is HazardLevel.MAJOR:
        missing = missing_plan_items(hazard.plan)
        if missing:
            return PlanIncomplete(missing)
    return None


# The actions a person can take from each status, sorted by name.
_ACTIONS_FROM: dict[HazardStatus, tuple[HazardAction, ...]] = {
    status: tuple(
        sorted(
            (a for (s, a) in TRANSITIONS if s is status and a not in SYSTEM_ACTIONS),
            key=lambda a: a.value,
        )
    )
    for status in HazardStatus
}


def available_actions(actor: Actor, hazard: Hazard) -> list[str]:
    """What the actor may do now: allowed by the current status, the policy and the
    hazard's state (`precondition_failure`), the checks `apply` makes."""
    return [
        a.value
        for a in _ACTIONS_FROM[hazard.status]
        if allowed(actor, hazard, a) and precondition_failure(hazard, a) is None
    ]


@dataclass(frozen=True)
class EventDraft:
    action: HazardAction
    from_status: HazardStatus | None
    to_status: HazardStatus
    note: str
    data: dict[str, Any]


def event_hash(prev_hash: str, hazard_id: int, seq: int, fields: dict[str, Any]) -> str:
    """sha256 over the previous hash and this event's canonical JSON."""
    body = json.dumps(
        {"hazard_id": hazard_id, "seq": seq, **fields},
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


def _hashed_fields(event: HazardEvent) -> dict[str, Any]:
    return {
        "action": event.action.value,
        "from": event.from_status.value if event.from_status else None,
        "to": event.to_status.value,
        "actor_id": event.actor_id,
        "actor_role": event.actor_role,
        "note": event.note,
        "data": event.data,
        "at": event.created_at.isoformat(),
    }


def append_event(
    session: Session,
    hazard: Hazard,
    draft: EventDraft,
    actor: Actor | None,
    at: datetime,
) -> HazardEvent:
    """Append the next event of the hazard's chain and move the chain head."""
    seq, prev_hash = hazard.event_seq + 1, hazard.last_event_hash
    event = HazardEvent(
        hazard_id=hazard.id,
        seq=seq,
        action=draft.action,
        from_status=draft.from_status,
        to_status=draft.to_status,
        actor_id=actor.user_id if actor else None,
        actor_role=actor.role.value if actor else "system",
        note=draft.note,
        data=draft.data,
        created_at=at,
        prev_hash=prev_hash,
    )
    event.hash = event_hash(prev_hash, hazard.id, seq, _hashed_fields(event))
    hazard.event_seq, hazard.last_event_hash = seq, event.hash
    session.add(event)
    return event


def apply(
    session: Session,
    hazard: Hazard,
    action: HazardAction,
    actor: Actor | None,
    *,
    at: datetime,
    note: str = "",
    data: dict[str, Any] | None = None,
    expected_version: int | None = None,
) -> HazardEvent:
    """Check version, table, policy and the hazard's state; move the status, bump the
    version, append the event."""
    if expected_version is not None and expected_version != hazard.version:
        raise StaleVersion(errors={"version": [f"current version is {hazard.version}"]})
    target = TRANSITIONS.get((hazard.status, action))
    if target is None:
        raise InvalidTransition(
            errors={"status": [f"cannot {action.value} when {hazard.status.value}"]}
        )
    if not allowed(actor, hazard, action):
        raise PermissionDenied("您无权对该隐患执行此操作", "You may not do this to this hazard")
    failure = precondition_failure(hazard, action)
    if failure is not None:
        raise failure
    draft = EventDraft(action, hazard.status, target, note, data or {})
    hazard.status = target
    hazard.version += 1
    hazard.updated_at = at
    return append_event(session, hazard, draft, actor, at)


@dataclass(frozen=True)
class ChainBreak:
    hazard_id: int
    seq: int
    reason: str


def verify_chain(events: list[HazardEvent]) -> list[ChainBreak]:
    """Recompute a hazard's chain; any edited, removed or reordered event shows as a break."""
    breaks: list[ChainBreak] = []
    prev = GENESIS_HASH
    for expected_seq, event in enumerate(sorted(events, key=lambda e: e.seq), start=1):
        if event.seq != expected_seq:
            breaks.append(ChainBreak(event.hazard_id, event.seq, f"missing event {expected_seq}"))
        if event.prev_hash != prev:
            breaks.append(ChainBreak(event.hazard_id, event.seq, "previous hash does not match"))
        recomputed = event_hash(event.prev_hash, event.hazard_id, event.seq, _hashed_fields(event))
        if recomputed != event.hash:
            breaks.append(ChainBreak(event.hazard_id, event.seq, "content does not match its hash"))
        prev = event.hash
    return breaks
