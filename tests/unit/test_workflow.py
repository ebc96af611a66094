"""The workflow tables, without a database: every (status, action) pair and every role."""

from datetime import UTC, datetime, timedelta

import pytest

from service.access.scoping import Actor
from service.core.errors import PermissionDenied
from service.hazards.models import Hazard
from service.hazards.workflow import (
    GENESIS_HASH,
    TRANSITIONS,
    InvalidTransition,
    StaleVersion,
    allowed,
    apply,
    role_actions,
    verify_chain,
)
from uploads_schema.vocabulary import HazardAction, HazardLevel, HazardSource, HazardStatus, Role

NOW = datetime(2026, 11, 22, 8, 30, tzinfo=UTC)
SUPERVISOR = Actor(user_id=1, role=Role.SUPERVISOR, region_path="/1/")
ELSEWHERE = "/9/"


class Sink:
    """Stands in for a session: apply only adds the event."""

    def __init__(self):
        self.added = []

    def add(self, obj):
        self.added.append(obj)


def hazard(status=HazardStatus.REPORTED, source=HazardSource.INSPECTION, level=HazardLevel.GENERAL):
    return Hazard(
        id=7,
        status=status,
        source=source,
        level=level,
        region_path="/1/2/3/4/",
        grid_id=1,
        enterprise_id=1,
        version=1,
        event_seq=0,
        last_event_hash=GENESIS_HASH,
    )


EXPECTED = {
    (HazardStatus.REPORTED, HazardAction.ASSIGN): HazardStatus.RECTIFYING,
    (HazardStatus.REPORTED, HazardAction.REJECT): HazardStatus.REJECTED,
    (HazardStatus.REPORTED, HazardAction.FILE_PLAN): HazardStatus.REPORTED,
    (HazardStatus.RECTIFYING, HazardAction.FILE_PLAN): HazardStatus.RECTIFYING,
    (HazardStatus.RECTIFYING, HazardAction.SUBMIT_FIX): HazardStatus.VERIFYING,
    (HazardStatus.RECTIFYING, HazardAction.REQUEST_EXTENSION): HazardStatus.RECTIFYING,
    (HazardStatus.RECTIFYING, HazardAction.APPROVE_EXTENSION): HazardStatus.RECTIFYING,
    (HazardStatus.RECTIFYING, HazardAction.DECLINE_EXTENSION): HazardStatus.RECTIFYING,
    (HazardStatus.RECTIFYING, HazardAction.MARK_OVERDUE): HazardStatus.RECTIFYING,
    (HazardStatus.RECTIFYING, HazardAction.ESCALATE): HazardStatus.RECTIFYING,
    (HazardStatus.VERIFYING, HazardAction.ESCALATE): HazardStatus.VERIFYING,
    (HazardStatus.VERIFYING, HazardAction.PASS): HazardStatus.CLOSED,
    (HazardStatus.VERIFYING, HazardAction.FAIL): HazardStatus.RECTIFYING,
    (HazardStatus.CLOSED, HazardAction.REOPEN): HazardStatus.RECTIFYING,
}
ALL_PAIRS = [(s, a) for s in HazardStatus for a in HazardAction if a is not HazardAction.REPORT]


def test_the_table_is_exactly_the_documented_workflow():
    assert TRANSITIONS == EXPECTED


@pytest.mark.parametrize(("status", "action"), ALL_PAIRS)
def test_every_status_action_pair(status, action):
    h = hazard(status)
    sink = Sink()
    # The system (sweep) has no actor; everything else is tried as a supervisor, who may do
    # every human action except the assignee's own.
    actor = None if action in (HazardAction.MARK_OVERDUE, HazardAction.ESCALATE) else SUPERVISOR
    if action in (HazardAction.SUBMIT_FIX, HazardAction.REQUEST_EXTENSION):
        h.assignee_id = SUPERVISOR.user_id
    if action in (HazardAction.APPROVE_EXTENSION, HazardAction.DECLINE_EXTENSION):
        h.extension_until = NOW + timedelta(days=3)  # there is a request to decide
    target = EXPECTED.get((status, action))
    if target is None:
        with pytest.raises(InvalidTransition):
            apply(sink, h, action, actor, at=NOW)
        assert h.status is status and h.version == 1 and sink.added == []
        return
    event = apply(sink, h, action, actor, at=NOW, note="n")
    assert h.status is target
    assert h.version == 2
    assert sink.added == [event]
    assert (event.from_status, event.to_status, event.seq) == (status, target, 1)
    assert event.prev_hash == GENESIS_HASH and h.last_event_hash == event.hash


def test_closed_and_rejected_are_final_except_reopen_by_a_supervisor():
    for action in HazardAction:
        if action is HazardAction.REOPEN:
            continue
        assert (HazardStatus.CLOSED, action) not in TRANSITIONS
    assert not [a for (s, a) in TRANSITIONS if s is HazardStatus.REJECTED]


# role → actions granted for (source, level)
POLICY_CASES = [
    (Role.REPORTER, HazardSource.PUBLIC_TIP, HazardLevel.GENERAL, set()),
    (Role.ADMIN, HazardSource.INSPECTION, HazardLevel.MAJOR, set()),
    (
        Role.ENTERPRISE_OFFICER,
        HazardSource.SELF_CHECK,
        HazardLevel.GENERAL,
        {"assign", "file_plan", "submit_fix", "request_extension"},
    ),
    (
        Role.ENTERPRISE_OFFICER,
        HazardSource.INSPECTION,
        HazardLevel.MAJOR,
        {"file_plan", "submit_fix", "request_extension"},
    ),
    (
        Role.INSPECTOR,
        HazardSource.INSPECTION,
        HazardLevel.GENERAL,
        {"assign", "reject", "pass", "fail", "approve_extension", "decline_extension"},
    ),
    (Role.INSPECTOR, HazardSource.INSPECTION, HazardLevel.MAJOR, {"assign", "reject"}),
    (
        Role.INSPECTOR,
        HazardSource.PUBLIC_TIP,
        HazardLevel.GENERAL,
        {"reject", "pass", "fail", "approve_extension", "decline_extension"},
    ),
    (Role.INSPECTOR, HazardSource.PUBLIC_TIP, HazardLevel.MAJOR, {"reject"}),
    (
        Role.SUPERVISOR,
        HazardSource.PUBLIC_TIP,
        HazardLevel.MAJOR,
        {
            "assign",
            "reject",
            "file_plan",
            "pass",
            "fail",
            "reopen",
            "approve_extension",
            "decline_extension",
        },
    ),
]


@pytest.mark.parametrize(("role", "source", "level", "expected"), POLICY_CASES)
def test_policy_grants_each_role_exactly(role, source, level, expected):
    assert {a.value for a in role_actions(role, source, level)} == expected


@pytest.mark.parametrize("role", [Role.INSPECTOR, Role.ENTERPRISE_OFFICER, Role.REPORTER])
def test_only_a_supervisor_verifies_a_major_hazard(role):
    h = hazard(HazardStatus.VERIFYING, source=HazardSource.INSPECTION, level=HazardLevel.MAJOR)
    actor = Actor(user_id=5, role=role, grid_ids=frozenset({1}), enterprise_id=1)
    with pytest.raises(PermissionDenied):
        apply(Sink(), h, HazardAction.PASS, actor, at=NOW)
    assert h.status is HazardStatus.VERIFYING
    apply(Sink(), h, HazardAction.PASS, SUPERVISOR, at=NOW)
    assert h.status is HazardStatus.CLOSED


def test_the_assignee_may_submit_the_fix_whatever_their_role():
    h = hazard(HazardStatus.RECTIFYING)
    worker = Actor(user_id=42, role=Role.REPORTER)
    assert not allowed(worker, h, HazardAction.SUBMIT_FIX)
    h.assignee_id = 42
    assert allowed(worker, h, HazardAction.SUBMIT_FIX)
    assert not allowed(worker, h, HazardAction.PASS)


def test_a_stale_version_is_refused_before_anything_changes():
    h = hazard(HazardStatus.VERIFYING)
    with pytest.raises(StaleVersion):
        apply(Sink(), h, HazardAction.PASS, SUPERVISOR, at=NOW, expected_version=0)
    assert h.status is HazardStatus.VERIFYING and h.version == 1


def test_the_event_chain_detects_tampering():
    h = hazard()
    sink = Sink()
    h.assignee_id = SUPERVISOR.user_id
    for action in (HazardAction.ASSIGN, HazardAction.SUBMIT_FIX, HazardAction.PASS):
        apply(sink, h, action, SUPERVISOR, at=NOW, note=action.value, data={"media_ids": [1]})
    events = sink.added
    assert [e.seq for e in events] == [1, 2, 3]
    assert verify_chain(events) == []
    events[1].note = "改过了"
    breaks = verify_chain(events)
    assert [(b.seq, b.reason) for b in breaks] == [(2, "content does not match its hash")]
    events[1].note = HazardAction.SUBMIT_FIX.value
    assert verify_chain(events) == []
    assert [b.reason for b in verify_chain([events[0], events[2]])] == [
        "missing event 2",
        "previous hash does not match",
    ]


@pytest.mark.parametrize(
    "actor",
    [
        Actor(user_id=2, role=Role.SUPERVISOR, region_path="/9/"),
        Actor(user_id=3, role=Role.INSPECTOR, grid_ids=frozenset({2})),
        Actor(user_id=4, role=Role.ENTERPRISE_OFFICER, enterprise_id=2),
    ],
)
def test_roles_act_only_on_hazards_in_their_charge(actor):
    h = hazard(HazardStatus.REPORTED, source=HazardSource.SELF_CHECK)
    h.reporter_id = actor.user_id  # they may see it as its reporter, but not manage it
    assert not any(allowed(actor, h, a) for a in HazardAction)
    with pytest.raises(PermissionDenied):
        apply(Sink(), h, HazardAction.REJECT, actor, at=NOW)
