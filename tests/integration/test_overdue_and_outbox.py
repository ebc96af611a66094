"""The overdue sweep and the outbox: escalation, reminders, and delivery through the
log sender and the WeChat subscribe-message sender (against the fake WeChat server)."""

from __future__ import annotations

import itertools
import logging
import socket
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.access.scoping import Actor
from service.core.context import Context
from service.core.settings import SettingsError
from service.directory.models import User
from service.hazards.deadlines import is_overdue
from service.hazards.models import Hazard, HazardEvent
from service.hazards.overdue import sweep
from service.hazards.workflow import apply, verify_chain
from service.notifications import outbox
from service.notifications.delivery import (
    LogSender,
    TemporaryFailure,
    WeChatSubscribeSender,
    build_sender,
    message_data,
    parse_templates,
    send_pending,
)
from service.notifications.models import Notification
from tests.factories import World, build_world, make_user
from tests.livedb import live_context
from uploads_schema.vocabulary import (
    HazardAction,
    HazardCategory,
    HazardOrigin,
    HazardSource,
    HazardStatus,
    NotificationKind,
    NotificationStatus,
    Role,
)

T0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)  # 10:00 in Beijing
_numbers = itertools.count(1)
TEMPLATES = {
    NotificationKind.OVERDUE: "tpl-overdue",
    NotificationKind.DUE_SOON: "tpl-due-soon",
}


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        self.at += timedelta(**delta)


@pytest.fixture
def clock(ctx: Context) -> Clock:
    ctx.clock = c = Clock(T0)
    return c


def make_hazard(
    session: Session,
    world: World,
    *,
    status: HazardStatus = HazardStatus.RECTIFYING,
    deadline: datetime | None,
    enterprise=None,
    unassigned: bool = False,
    fixed: datetime | None = None,
) -> Hazard:
    """A hazard row as the workflow would leave it (no events yet); `fixed`: when the fix
    was submitted."""
    enterprise = enterprise or world.enterprise_a
    hazard = Hazard(
        number=f"YHT-{uuid.uuid4().hex[:6]}-{next(_numbers):04d}",
        enterprise_id=enterprise.id,
        grid_id=enterprise.grid_id,
        region_path=enterprise.region_path,
        source=HazardSource.SELF_CHECK,
        origin=HazardOrigin.SCAN,
        category=HazardCategory.FIRE,
        description="消防通道堆放杂物",
        status=status,
        version=1,
        event_seq=0,
        last_event_hash="0" * 64,
        deadline=deadline,
        original_deadline=deadline,
        assignee_id=None if unassigned else world.officer.id,
        fix_submitted_at=fixed,
        created_at=T0 - timedelta(days=10),
        updated_at=T0 - timedelta(days=10),
    )
    session.add(hazard)
    session.commit()
    return hazard


def events(session: Session, hazard: Hazard) -> list[HazardEvent]:
    return list(
        session.scalars(
            select(HazardEvent).where(HazardEvent.hazard_id == hazard.id).order_by(HazardEvent.seq)
        )
    )


def notes(session: Session, hazard: Hazard | None = None) -> list[Notification]:
    query = select(Notification).order_by(Notification.id)
    if hazard is not None:
        query = query.where(Notification.hazard_id == hazard.id)
    return list(session.scalars(query))


def fresh(session: Session) -> Session:
    """The sweep commits through its own sessions; forget what this one cached."""
    session.expire_all()
    return session


# --- the sweep ---------------------------------------------------------------------------


def test_sweep_marks_exactly_the_overdue_hazards_and_tells_the_assignee(ctx, db, world, clock):
    late = make_hazard(db, world, deadline=T0 - timedelta(hours=1))
    on_time = make_hazard(db, world, deadline=T0 + timedelta(days=3))
    no_deadline = make_hazard(db, world, deadline=None)
    # Overdue is a rectification past its deadline: not a report nobody was assigned to yet,
    # not a fix waiting for verification (the enterprise no longer holds the ball).
    late_reported = make_hazard(
        db, world, status=HazardStatus.REPORTED, deadline=T0 - timedelta(hours=2), unassigned=True
    )
    untouched = [
        make_hazard(db, world, status=s, deadline=T0 - timedelta(days=5))
        for s in (HazardStatus.CLOSED, HazardStatus.VERIFYING, HazardStatus.REJECTED)
    ]

    report = sweep(ctx)

    assert report.marked_overdue == 1
    assert report.notifications_queued == 1
    fresh(db)
    db.refresh(late)
    assert is_overdue(late.status, late.deadline, T0)
    assert late.escalation_level == 1
    assert late.version == 2
    (event,) = events(db, late)
    assert event.action is HazardAction.MARK_OVERDUE
    assert event.actor_id is None and event.actor_role == "system"
    assert event.data == {"deadline": late.deadline.isoformat()}
    assert event.created_at == T0
    assert verify_chain(events(db, late)) == []
    assert late.status is HazardStatus.RECTIFYING  # marking never moves the status
    for hazard in (on_time, no_deadline, late_reported, *untouched):
        db.refresh(hazard)
        assert (hazard.escalation_level, hazard.event_seq, hazard.version) == (0, 0, 1)
    (message,) = notes(db)
    assert (message.kind, message.hazard_id, message.recipient_id) == (
        NotificationKind.OVERDUE,
        late.id,
        world.officer.id,
    )
    assert message.status is NotificationStatus.PENDING
    assert message.payload["number"] == late.number
    assert message.payload["enterprise"] == "甲企业"
    assert message.payload["level"] == 1


def test_running_the_sweep_again_changes_nothing(ctx, db, world, clock):
    hazard = make_hazard(db, world, deadline=T0 - timedelta(hours=1))
    make_hazard(db, world, deadline=T0 + timedelta(hours=5))  # due soon
    first = sweep(ctx)
    assert (first.marked_overdue, first.due_soon) == (1, 1)
    version = fresh(db).get(Hazard, hazard.id).version

    second = sweep(ctx)
    third = sweep(ctx)

    for again in (second, third):
        assert (again.marked_overdue, again.due_soon, again.notifications_queued) == (0, 0, 0)
        assert again.escalated_to_inspectors == again.escalated_to_supervisors == 0
    fresh(db)
    assert db.get(Hazard, hazard.id).version == version
    assert len(events(db, hazard)) == 1
    assert len(notes(db)) == 2


def test_overdue_escalates_to_the_grid_inspectors_after_a_day_then_the_street_supervisor(
    ctx, db, world, clock
):
    second_inspector = make_user(db, Role.INSPECTOR, grids=[world.grid_a])
    make_user(db, Role.INSPECTOR, grids=[world.grid_a], active=False)
    db.commit()
    hazard = make_hazard(db, world, deadline=T0 - timedelta(minutes=5))

    sweep(ctx)
    clock.advance(hours=23)
    assert sweep(ctx).escalated_to_inspectors == 0  # not yet a day past the deadline

    clock.advance(hours=1)
    report = sweep(ctx)
    assert report.escalated_to_inspectors == 1
    assert report.notifications_queued == 2
    assert sweep(ctx).notifications_queued == 0  # each level once

    clock.advance(days=2)
    report = sweep(ctx)
    assert report.escalated_to_supervisors == 1
    assert report.notifications_queued == 1
    clock.advance(days=30)
    assert sweep(ctx).candidates == 0  # fully escalated: nothing left to do

    fresh(db)
    db.refresh(hazard)
    assert hazard.escalation_level == 3
    trail = events(db, hazard)
    assert [(e.action, e.data.get("level")) for e in trail] == [
        (HazardAction.MARK_OVERDUE, None),
        (HazardAction.ESCALATE, 2),
        (HazardAction.ESCALATE, 3),
    ]
    assert verify_chain(trail) == []
    recipients = [(n.recipient_id, n.payload["level"]) for n in notes(db, hazard)]
    assert recipients == [
        (world.officer.id, 1),
        (world.inspector.id, 2),
        (second_inspector.id, 2),
        (world.street_supervisor.id, 3),  # the nearest supervisor: street A, not the district
    ]
    assert {n.kind for n in notes(db, hazard)} == {NotificationKind.OVERDUE}


def test_supervisor_escalation_goes_up_to_the_district_when_the_street_has_none(
    ctx, db, world, clock
):
    hazard = make_hazard(
        db, world, deadline=T0 - timedelta(days=4), enterprise=world.enterprise_b, unassigned=True
    )

    report = sweep(ctx)

    # A first sweep long after the deadline catches up every level, in order.
    assert (report.marked_overdue, report.escalated_to_inspectors) == (1, 1)
    assert report.escalated_to_supervisors == 1
    fresh(db)
    assert [e.seq for e in events(db, hazard)] == [1, 2, 3]
    # Grid B has no inspector; street B no supervisor: the district supervisor hears of it.
    assert [n.recipient_id for n in notes(db, hazard)] == [world.district_supervisor.id]


def test_a_hazard_that_left_rectifying_is_not_escalated_further(ctx, db, world, clock):
    hazard = make_hazard(db, world, deadline=T0 - timedelta(hours=1))
    sweep(ctx)
    fresh(db)
    hazard = db.get(Hazard, hazard.id)
    officer = Actor(world.officer.id, Role.ENTERPRISE_OFFICER, enterprise_id=hazard.enterprise_id)
    apply(db, hazard, HazardAction.SUBMIT_FIX, officer, at=T0 + timedelta(minutes=30))
    db.commit()

    clock.advance(days=10)
    report = sweep(ctx)

    assert report.candidates == 0
    fresh(db)
    assert [e.action for e in events(db, hazard)] == [
        HazardAction.MARK_OVERDUE,
        HazardAction.SUBMIT_FIX,
    ]
    assert db.get(Hazard, hazard.id).escalation_level == 1


def test_a_late_verification_goes_to_the_supervisors_above_never_to_the_assignee(
    ctx, db, world, clock
):
    """A fix waiting longer than VERIFY_WITHIN_HOURS (72) is the verifier's delay: the
    supervisors of the nearest region above hear of it, once per fix; it is never overdue."""
    waiting = make_hazard(
        db,
        world,
        status=HazardStatus.VERIFYING,
        deadline=T0 - timedelta(days=5),  # long past: overdue had it still been rectifying
        fixed=T0 - timedelta(hours=71),
    )
    far = make_hazard(  # grid B, street B without supervisors: the district's hear of it
        db,
        world,
        status=HazardStatus.VERIFYING,
        deadline=T0 + timedelta(days=5),
        fixed=T0 - timedelta(hours=71),
        enterprise=world.enterprise_b,
    )

    report = sweep(ctx)
    assert (report.candidates, report.marked_overdue, report.verification_late) == (0, 0, 0)

    clock.advance(hours=1, seconds=1)  # 72 hours and a second since the fix
    report = sweep(ctx)
    assert (report.marked_overdue, report.verification_late) == (0, 2)
    assert report.escalated_to_inspectors == report.escalated_to_supervisors == 0
    assert report.notifications_queued == 2
    again = sweep(ctx)
    assert (again.candidates, again.verification_late, again.notifications_queued) == (0, 0, 0)

    fresh(db)
    for hazard, supervisor in (
        (waiting, world.street_supervisor),
        (far, world.district_supervisor),
    ):
        db.refresh(hazard)
        assert hazard.status is HazardStatus.VERIFYING
        assert hazard.escalation_level == 0  # the rectification's escalation is untouched
        assert not is_overdue(hazard.status, hazard.deadline, clock())
        (event,) = events(db, hazard)
        assert (event.action, event.from_status) == (
            HazardAction.ESCALATE,
            HazardStatus.VERIFYING,
        )
        assert event.data == {"awaiting_verification_since": hazard.fix_submitted_at.isoformat()}
        (message,) = notes(db, hazard)
        assert (message.kind, message.recipient_id) == (NotificationKind.VERIFY_LATE, supervisor.id)
        assert message.recipient_id != world.officer.id
        assert message.payload["fix_submitted_at"] == hazard.fix_submitted_at.isoformat()
        data = message_data(message)
        assert data["phrase3"] == {"value": "验收超时"}
        assert data["thing5"] == {"value": "整改已提交，验收超时，请督促验收"}

    # Failed, fixed again: a new fix gets its own 72 hours, then one more message.
    clock.advance(hours=2)
    hazard = db.get(Hazard, waiting.id)
    inspector = Actor(world.inspector.id, Role.INSPECTOR, grid_ids=frozenset({world.grid_a.id}))
    officer = Actor(world.officer.id, Role.ENTERPRISE_OFFICER, enterprise_id=hazard.enterprise_id)
    apply(db, hazard, HazardAction.FAIL, inspector, at=clock(), note="未整改到位")
    apply(db, hazard, HazardAction.SUBMIT_FIX, officer, at=clock())
    hazard.fix_submitted_at = clock()
    db.commit()
    clock.advance(hours=72)
    assert sweep(ctx).verification_late == 0
    clock.advance(seconds=1)
    assert sweep(ctx).verification_late == 1
    fresh(db)
    assert [n.kind for n in notes(db, waiting)] == [NotificationKind.VERIFY_LATE] * 2
    assert {n.recipient_id for n in notes(db, waiting)} == {world.street_supervisor.id}
    assert verify_chain(events(db, waiting)) == []


def test_how_long_a_fix_may_wait_for_verification_is_a_setting(ctx, db, world, clock):
    ctx.settings = ctx.settings.with_overrides(verify_within_hours=24)
    make_hazard(
        db, world, status=HazardStatus.VERIFYING, deadline=None, fixed=T0 - timedelta(hours=25)
    )
    no_time = make_hazard(db, world, status=HazardStatus.VERIFYING, deadline=None)
    assert sweep(ctx).verification_late == 1
    fresh(db)
    assert events(db, no_time) == []  # no submission time recorded: nothing to count from


def test_due_soon_reminds_the_assignee_once_per_deadline(ctx, db, world, clock):
    hazard = make_hazard(db, world, deadline=T0 + timedelta(hours=20))
    make_hazard(db, world, deadline=T0 + timedelta(hours=30))  # not yet within 24 h
    make_hazard(db, world, status=HazardStatus.VERIFYING, deadline=T0 + timedelta(hours=2))

    assert sweep(ctx).due_soon == 1
    clock.advance(hours=1)
    assert sweep(ctx).due_soon == 0

    # An approved extension moves the deadline: a new reminder is due for the new one.
    fresh(db)
    db.get(Hazard, hazard.id).deadline = T0 + timedelta(hours=22)
    db.commit()
    assert sweep(ctx).due_soon == 1

    fresh(db)
    reminders = notes(db, hazard)
    assert [(n.kind, n.recipient_id) for n in reminders] == [
        (NotificationKind.DUE_SOON, world.officer.id)
    ] * 2
    assert [n.payload["deadline"] for n in reminders] == [
        (T0 + timedelta(hours=20)).isoformat(),
        (T0 + timedelta(hours=22)).isoformat(),
    ]
    assert events(db, hazard) == []  # a reminder is not a workflow event


def test_an_overdue_hazard_gets_no_due_soon_reminder(ctx, db, world, clock):
    hazard = make_hazard(db, world, deadline=T0 - timedelta(minutes=1))
    sweep(ctx)
    fresh(db)
    assert [n.kind for n in notes(db, hazard)] == [NotificationKind.OVERDUE]


@pytest.fixture
def live_ctx(database_url: str, settings) -> Iterator[Context]:
    """A throwaway database of the suite's kind whose commits are real, for true concurrency."""
    with live_context(database_url, settings, "sweep", pool_size=6, clock=Clock(T0)) as live:
        yield live


def test_concurrent_sweeps_mark_and_escalate_each_hazard_once(live_ctx):
    session = live_ctx.session_factory()
    world = build_world(session)
    hazards = [make_hazard(session, world, deadline=T0 - timedelta(days=4)) for _ in range(60)]
    waiting = [
        make_hazard(
            session,
            world,
            status=HazardStatus.VERIFYING,
            deadline=T0 - timedelta(days=4),
            fixed=T0 - timedelta(days=4),
        )
        for _ in range(20)
    ]
    session.close()
    barrier = threading.Barrier(3)
    errors: list[BaseException] = []

    def run() -> None:
        barrier.wait()
        try:
            sweep(live_ctx)
        except BaseException as exc:  # surfaced below: a thread's exception is otherwise lost
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)

    assert errors == []
    with live_ctx.session_factory() as check:
        per_hazard = dict(
            check.execute(
                select(HazardEvent.hazard_id, func.count()).group_by(HazardEvent.hazard_id)
            ).all()
        )
        # Overdue: mark, level 2, level 3; a late verification: one escalation. Once each.
        assert per_hazard == {h.id: 3 for h in hazards} | {h.id: 1 for h in waiting}
        # Overdue: the assignee, grid A's inspector, street A's supervisor; late: the latter.
        total = 3 * len(hazards) + len(waiting)
        assert check.scalar(select(func.count()).select_from(Notification)) == total
        for hazard in hazards + waiting:
            assert verify_chain(events(check, hazard)) == []


# --- the outbox --------------------------------------------------------------------------


def queue(
    session: Session, world: World, recipient: User, kind=NotificationKind.OVERDUE
) -> Notification:
    """An overdue hazard and one queued message about it for the recipient."""
    hazard = make_hazard(session, world, deadline=T0 - timedelta(hours=1))
    key = f"test:{uuid.uuid4().hex}"
    outbox.enqueue(
        session,
        kind=kind,
        hazard=hazard,
        recipient_id=recipient.id,
        dedup_key=key,
        payload={"deadline": hazard.deadline.isoformat(), "level": 1},
    )
    session.commit()
    notification = session.scalar(select(Notification).where(Notification.dedup_key == key))
    assert notification is not None
    notification.next_attempt_at = T0 - timedelta(seconds=1)
    session.commit()
    return notification


def wechat_user(session: Session, openid: str | None) -> User:
    user = make_user(session, Role.ENTERPRISE_OFFICER, openid=openid)
    session.commit()
    return user


@pytest.fixture
def wechat(ctx, fake_wechat, clock) -> Iterator[WeChatSubscribeSender]:
    fake_wechat.reset()
    sender = WeChatSubscribeSender(
        fake_wechat.url,
        "wx-test-appid",
        "wx-test-secret",
        TEMPLATES,
        "pages/hazard/detail",
        timeout=3.0,
        clock=ctx.now,
    )
    yield sender
    sender.close()
    fake_wechat.reset()


def test_log_sender_marks_sent_and_logs_no_openid(ctx, db, world, clock, caplog):
    user = wechat_user(db, f"openid-secret-{uuid.uuid4().hex}")
    message = queue(db, world, user)
    caplog.set_level(logging.INFO, logger="service.notifications")

    report = send_pending(ctx, LogSender())

    assert (report.sent, report.skipped, report.failed, report.retry) == (1, 0, 0, 0)
    fresh(db)
    db.refresh(message)
    assert message.status is NotificationStatus.SENT
    assert message.sent_at == T0
    assert message.attempts == 1
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert message.payload["number"] in logged
    assert str(user.id) in logged
    assert user.openid not in logged
    assert send_pending(ctx, LogSender()).sent == 0  # sent once


def test_wechat_sender_fetches_the_token_once_and_sends_the_template(
    ctx, db, world, clock, wechat, fake_wechat
):
    users = [wechat_user(db, f"ok-{uuid.uuid4().hex[:8]}") for _ in range(3)]
    first = queue(db, world, users[0])
    queue(db, world, users[1], kind=NotificationKind.DUE_SOON)

    assert send_pending(ctx, wechat).sent == 2
    queue(db, world, users[2])
    clock.advance(minutes=30)
    assert send_pending(ctx, wechat).sent == 1

    assert fake_wechat.token_calls == 1  # cached across sends and runs
    (body,) = fake_wechat.messages_to(users[0].openid)
    assert body["touser"] == users[0].openid
    assert body["template_id"] == "tpl-overdue"
    assert body["page"] == f"pages/hazard/detail?id={first.hazard_id}"
    assert body["lang"] == "zh_CN"
    assert body["data"] == {
        "character_string1": {"value": first.payload["number"]},
        "thing2": {"value": "甲企业"},
        "phrase3": {"value": "已逾期"},
        "time4": {"value": "2026-11-20 09:00"},  # the deadline in Beijing time
        "thing5": {"value": "隐患已逾期，请立即整改"},
    }
    (due_soon,) = fake_wechat.messages_to(users[1].openid)
    assert due_soon["template_id"] == "tpl-due-soon"
    assert due_soon["data"]["phrase3"] == {"value": "即将到期"}
    fresh(db)
    assert {n.status for n in notes(db)} == {NotificationStatus.SENT}


def test_wechat_token_is_refetched_before_it_expires_and_when_revoked(
    ctx, db, world, clock, wechat, fake_wechat
):
    fake_wechat.token_expires_in = 1200  # kept for 15 minutes (refreshed 5 early)
    user = wechat_user(db, f"ok-{uuid.uuid4().hex[:8]}")
    queue(db, world, user)
    send_pending(ctx, wechat)
    clock.advance(minutes=14)
    queue(db, world, user)
    send_pending(ctx, wechat)
    assert fake_wechat.token_calls == 1

    clock.advance(minutes=2)
    queue(db, world, user)
    send_pending(ctx, wechat)
    assert fake_wechat.token_calls == 2

    fake_wechat.expire_tokens()  # e.g. another server fetched a token with our secret
    queue(db, world, user)
    report = send_pending(ctx, wechat)
    assert report.sent == 1
    assert fake_wechat.token_calls == 3  # refreshed once on 40001, then sent
    fresh(db)
    assert {n.status for n in notes(db)} == {NotificationStatus.SENT}


def test_no_consent_is_skipped_and_never_retried(ctx, db, world, clock, wechat, fake_wechat):
    user = wechat_user(db, f"noconsent-{uuid.uuid4().hex[:8]}")
    message = queue(db, world, user)

    report = send_pending(ctx, wechat)
    clock.advance(days=1)
    again = send_pending(ctx, wechat)

    assert (report.skipped, report.retry, report.failed) == (1, 0, 0)
    assert (again.sent, again.skipped, again.retry) == (0, 0, 0)
    assert len(fake_wechat.messages_to(user.openid)) == 1
    fresh(db)
    db.refresh(message)
    assert message.status is NotificationStatus.SKIPPED
    assert message.attempts == 1
    assert "43101" in message.last_error


def test_a_recipient_without_openid_is_skipped_without_calling_wechat(
    ctx, db, world, clock, wechat, fake_wechat
):
    message = queue(db, world, wechat_user(db, None))

    assert send_pending(ctx, wechat).skipped == 1

    assert fake_wechat.subscribe_messages == []
    fresh(db)
    db.refresh(message)
    assert message.status is NotificationStatus.SKIPPED
    assert message.last_error == "recipient has no WeChat openid"


def test_a_flaky_recipient_is_retried_later_then_sent(ctx, db, world, clock, wechat, fake_wechat):
    user = wechat_user(db, f"flaky-{uuid.uuid4().hex[:8]}")
    message = queue(db, world, user)

    first = send_pending(ctx, wechat)
    assert (first.sent, first.retry) == (0, 1)
    fresh(db)
    db.refresh(message)
    assert message.status is NotificationStatus.PENDING
    assert message.attempts == 1
    assert message.next_attempt_at == T0 + timedelta(seconds=300)
    assert "errcode -1" in message.last_error

    clock.advance(minutes=4)
    assert send_pending(ctx, wechat).sent == 0  # not due yet: no retry storm
    clock.advance(minutes=1)
    assert send_pending(ctx, wechat).sent == 1

    assert len(fake_wechat.messages_to(user.openid)) == 2
    fresh(db)
    db.refresh(message)
    assert (message.status, message.attempts, message.last_error) == (
        NotificationStatus.SENT,
        2,
        None,
    )
    assert message.sent_at == T0 + timedelta(minutes=5)


def test_an_invalid_openid_fails_at_once(ctx, db, world, clock, wechat, fake_wechat):
    message = queue(db, world, wechat_user(db, f"badopenid-{uuid.uuid4().hex[:8]}"))

    assert send_pending(ctx, wechat).failed == 1

    fresh(db)
    db.refresh(message)
    assert (message.status, message.attempts) == (NotificationStatus.FAILED, 1)


class AlwaysBusy:
    name = "busy"

    def __init__(self) -> None:
        self.calls = 0

    def send(self, notification: Notification, recipient: User) -> None:
        self.calls += 1
        raise TemporaryFailure("errcode -1: system error")


def test_temporary_failures_back_off_exponentially_then_give_up(ctx, db, world, clock):
    ctx.settings = ctx.settings.with_overrides(
        outbox_max_attempts=5, outbox_retry_base_seconds=60, outbox_retry_max_seconds=300
    )
    message = queue(db, world, world.officer)
    sender = AlwaysBusy()
    delays = []
    for _ in range(4):
        assert send_pending(ctx, sender).retry == 1
        fresh(db)
        db.refresh(message)
        delays.append((message.next_attempt_at - clock()).total_seconds())
        clock.at = message.next_attempt_at

    assert send_pending(ctx, sender).failed == 1

    assert delays == [60, 120, 240, 300]  # doubling, capped
    fresh(db)
    db.refresh(message)
    assert (message.status, message.attempts) == (NotificationStatus.FAILED, 5)
    clock.advance(days=1)
    assert send_pending(ctx, sender).failed == 0
    assert sender.calls == 5


def test_an_unreachable_wechat_stops_the_run_and_leaves_the_rest_due(ctx, db, world, clock):
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sender = WeChatSubscribeSender(
        f"http://127.0.0.1:{port}", "appid", "secret", TEMPLATES, "p", timeout=1.0, clock=ctx.now
    )
    user = wechat_user(db, f"ok-{uuid.uuid4().hex[:8]}")
    messages = [queue(db, world, user) for _ in range(3)]

    report = send_pending(ctx, sender)
    sender.close()

    assert (report.retry, report.stopped_early) == (1, True)
    fresh(db)
    first, *rest = [db.get(Notification, m.id) for m in messages]
    assert first.attempts == 1
    assert first.last_error == "network error: ConnectionError"  # no URL, so no secret
    for m in rest:
        assert (m.status, m.attempts, m.next_attempt_at) == (NotificationStatus.PENDING, 0, T0)


def test_build_sender_follows_the_setting(ctx, fake_wechat):
    assert isinstance(build_sender(ctx), LogSender)
    assert build_sender(ctx) is build_sender(ctx)  # one per context: the token cache lives on

    ctx.adapters.clear()
    ctx.settings = ctx.settings.with_overrides(
        notification_sender="wechat", wechat_subscribe_templates=("overdue=tpl-1",)
    )
    sender = build_sender(ctx)
    assert isinstance(sender, WeChatSubscribeSender)
    assert sender.templates == {NotificationKind.OVERDUE: "tpl-1"}
    assert sender.base_url == fake_wechat.url
    sender.close()

    ctx.adapters.clear()
    ctx.settings = ctx.settings.with_overrides(notification_sender="sms")
    with pytest.raises(SettingsError, match="NOTIFICATION_SENDER"):
        build_sender(ctx)
    with pytest.raises(SettingsError, match="WECHAT_SUBSCRIBE_TEMPLATES"):
        parse_templates(("escalated=tpl",))


def test_message_data_fits_wechat_length_limits():
    message = Notification(
        kind=NotificationKind.VERIFIED,
        hazard_id=1,
        recipient_id=1,
        payload={"number": "YH320412-20261122-0007", "enterprise": "某" * 30, "status": "closed"},
    )

    data = message_data(message)

    assert data["thing2"]["value"] == "某" * 19 + "…"
    assert data["phrase3"]["value"] == "已销号"
    assert data["thing5"]["value"] == "验收通过，隐患已销号"
    assert "time4" not in data  # no deadline in the payload: the keyword is left out


def test_cli_sweeps_and_sends(app, ctx, db, world, clock):
    # outbox.enqueue stamps next_attempt_at with the wall clock, so this one runs at "now".
    clock.at = datetime.now(UTC)
    make_hazard(db, world, deadline=clock.at - timedelta(hours=1))
    runner = app.test_cli_runner()

    swept = runner.invoke(args=["hazards", "sweep"])
    clock.advance(minutes=1)  # cron runs `outbox send` after the sweep
    sent = runner.invoke(args=["outbox", "send", "--limit", "10"])

    assert swept.exit_code == 0, swept.output
    assert "1 marked overdue" in swept.output
    assert "1 notifications queued" in swept.output
    assert sent.exit_code == 0, sent.output
    assert sent.output.strip() == "1 sent, 0 skipped, 0 failed, 0 to retry"
