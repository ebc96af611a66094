"""Inspection task generation: windows in China time, idempotence (also two runs at once),
overdue tasks and when a point is 失控."""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import Engine, delete, func, insert, select, text, update
from sqlalchemy.orm import Session

from miniprogram_api import create_app
from service.access.scoping import Actor
from service.core.context import Context
from service.directory.models import Point
from service.inspections import checklists, rollup, tasks
from service.inspections.checklists import ItemInput
from service.inspections.models import ChecklistItem, InspectionTask, ShiftSchedule, task_daily
from service.risks import points
from service.statistics import rollup as hazard_rollup
from tests.factories import World, build_world, make_hazard
from tests.livedb import live_context
from uploads_schema.vocabulary import (
    Frequency,
    HazardLevel,
    HazardStatus,
    ItemOutcome,
    Role,
    TaskStatus,
)

CN = timezone(timedelta(hours=8))


def officer_of(world: World) -> Actor:
    return Actor(
        user_id=world.officer.id,
        role=Role.ENTERPRISE_OFFICER,
        enterprise_id=world.enterprise_a.id,
    )


def attach(ctx: Context, world: World, frequency: Frequency, name: str = "一号车间") -> int:
    actor = officer_of(world)
    point = points.create_point(ctx, actor, enterprise_id=world.enterprise_a.id, name=name)
    checklist = checklists.create_checklist(
        ctx, actor, name=f"{name}清单", items=[ItemInput("灭火器在有效期内")]
    )
    checklists.attach(
        ctx,
        actor,
        point.point.id,
        checklist_id=checklist.id,
        frequency=frequency,
        assignee_role=Role.ENTERPRISE_OFFICER,
    )
    return point.point.id


def windows_of(db: Session, point_id: int) -> list[tuple[datetime, datetime]]:
    rows = db.execute(
        select(InspectionTask.window_start, InspectionTask.window_end)
        .where(InspectionTask.point_id == point_id)
        .order_by(InspectionTask.window_start)
    )
    return [(s.astimezone(CN), e.astimezone(CN)) for s, e in rows]


def test_weekly_tasks_start_on_monday_in_china_time_and_are_created_once(ctx, world, db):
    point_id = attach(ctx, world, Frequency.WEEK)
    # Sunday 23:30 in China (15:30 UTC): this week's window still runs until Monday 00:00.
    now = datetime(2026, 12, 6, 15, 30, tzinfo=UTC)
    assert tasks.generate(ctx, days=1, now=now) == 2
    assert windows_of(db, point_id) == [
        (datetime(2026, 11, 30, tzinfo=CN), datetime(2026, 12, 7, tzinfo=CN)),
        (datetime(2026, 12, 7, tzinfo=CN), datetime(2026, 12, 14, tzinfo=CN)),
    ]
    assert tasks.generate(ctx, days=1, now=now) == 0
    assert tasks.generate(ctx, days=8, now=now + timedelta(minutes=31)) == 1  # only the new
    assert len(windows_of(db, point_id)) == 3


def test_shift_tasks_follow_the_enterprises_shifts_or_the_default(ctx, world, db):
    point_id = attach(ctx, world, Frequency.SHIFT)
    now = datetime(2026, 12, 4, 7, 59, tzinfo=CN)
    tasks.generate(ctx, days=1, now=now)
    starts = [s.hour for s, _ in windows_of(db, point_id)]
    assert starts == [0, 8, 16, 0]  # 00–08 (open now), 08–16, 16–24, next 00–08
    db.add(ShiftSchedule(enterprise_id=world.enterprise_a.id, starts=["07:30", "19:30"]))
    db.commit()
    other = attach(ctx, world, Frequency.SHIFT, name="二号车间")
    tasks.generate(ctx, days=1, now=now)
    assert [(s.hour, s.minute) for s, _ in windows_of(db, other)] == [(7, 30), (19, 30), (7, 30)]


def test_a_task_not_done_by_its_window_end_is_overdue_and_its_point_out_of_control(ctx, world, db):
    point_id = attach(ctx, world, Frequency.DAY)
    day = datetime(2026, 12, 4, 9, tzinfo=CN)
    tasks.generate(ctx, days=1, now=day)
    first = db.scalar(select(InspectionTask).order_by(InspectionTask.window_start).limit(1))
    end = first.window_end

    def out_of_control(at: datetime) -> bool:
        return bool(db.scalar(select(tasks.out_of_control_condition(point_id, at))))

    def overdue(at: datetime) -> int:
        return db.scalar(
            select(func.count()).select_from(InspectionTask).where(tasks.overdue_condition(at))
        )

    assert (
        overdue(end - timedelta(microseconds=1)),
        out_of_control(end - timedelta(seconds=1)),
    ) == (0, False)
    assert (overdue(end), out_of_control(end)) == (1, True)
    assert out_of_control(end + timedelta(hours=1)) is True
    # Doing the next day's task there brings the point back under control.
    second = db.scalar(select(InspectionTask).where(InspectionTask.window_start == end))
    second.status, second.done_at = TaskStatus.DONE, end + timedelta(hours=2)
    db.commit()
    assert out_of_control(end + timedelta(hours=3)) is False
    assert overdue(end + timedelta(hours=3)) == 1  # the missed task stays overdue


def test_an_open_major_hazard_at_a_point_makes_it_out_of_control(ctx, world, db):
    point_id = attach(ctx, world, Frequency.MONTH)
    now = datetime(2026, 12, 4, tzinfo=UTC)
    hazard = make_hazard(
        db, world.enterprise_a, created_at=now, point_id=point_id, level=HazardLevel.MAJOR
    )
    db.commit()
    assert db.scalar(select(tasks.out_of_control_condition(point_id, now))) is True
    hazard.status = HazardStatus.CLOSED
    db.commit()
    assert db.scalar(select(tasks.out_of_control_condition(point_id, now))) is False


def test_two_generations_at_once_create_each_task_once(database_url, settings):
    with live_context(database_url, settings, "gen") as live:
        with live.uow() as uow:
            world = build_world(uow.session)
        for n in range(20):
            attach(live, world, Frequency.DAY, name=f"车间{n}")
        now = datetime(2026, 12, 4, 9, tzinfo=CN)
        barrier = threading.Barrier(2)
        created: list[int] = []
        errors: list[BaseException] = []

        def run() -> None:
            try:
                barrier.wait()
                created.append(tasks.generate(live, days=7, now=now))
            except BaseException as error:
                errors.append(error)

        threads = [threading.Thread(target=run) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        with live.read() as uow:
            total = uow.session.scalar(select(func.count()).select_from(InspectionTask))
            points_count = uow.session.scalar(select(func.count()).select_from(Point))
        assert points_count == 20
        assert total == 20 * 8  # today's window and seven more days
        assert sorted(created)[1] + sorted(created)[0] == total
        with live.read() as uow:
            # Each new task counted once in the daily rollup, whichever run made it.
            assert rollup.differences(uow.session) == []
            counted = uow.session.scalar(select(func.sum(task_daily.c.tasks)))
        assert counted == total


def test_the_daily_rollup_counts_generated_tasks_and_each_one_done(ctx, world, db):
    attach(ctx, world, Frequency.DAY)
    now = datetime(2026, 12, 4, 9, tzinfo=CN)
    tasks.generate(ctx, days=2, now=now)
    tasks.generate(ctx, days=2, now=now)  # nothing new, nothing counted twice
    today, tomorrow, _ = db.scalars(select(InspectionTask).order_by(InspectionTask.window_start))
    item = db.scalar(
        select(ChecklistItem.id).where(ChecklistItem.checklist_id == today.checklist_id)
    )
    answers = [tasks.Answer(item, ItemOutcome.PASS)]
    ctx.clock = lambda: now.astimezone(UTC)
    tasks.submit_task(ctx, officer_of(world), today.id, answers=answers, lat=31.0, lng=121.0)
    # tomorrow's task done the day after its window: late
    ctx.clock = lambda: tomorrow.window_end + timedelta(hours=2)
    tasks.submit_task(ctx, officer_of(world), tomorrow.id, answers=answers, lat=31.0, lng=121.0)
    rows = db.execute(
        select(
            task_daily.c.day, task_daily.c.tasks, task_daily.c.done_in_window, task_daily.c.done
        ).order_by(task_daily.c.day)
    ).all()
    days = [now.date() + timedelta(days=n) for n in (1, 2, 3)]  # the China days windows end
    assert [tuple(r) for r in rows] == [(days[0], 1, 1, 1), (days[1], 1, 0, 1), (days[2], 1, 0, 0)]
    assert rollup.differences(db) == []
    assert rollup.rebuild(db) == 3 and rollup.differences(db) == []


STRAY_UNIT = "/110000000000/110100000000/110101001000/"  # a street with no tasks


def break_task_daily(db: Session, days: list[date]) -> None:
    """One counter raised, one row deleted, one stray row added."""
    db.execute(update(task_daily).where(task_daily.c.day == days[0]).values(done=3))
    db.execute(delete(task_daily).where(task_daily.c.day == days[1]))
    stray = {"unit_path": STRAY_UNIT, "day": days[2], "tasks": 4, "done_in_window": 0, "done": 0}
    db.execute(insert(task_daily).values(stray))
    db.commit()


def test_the_rollup_commands_check_and_rebuild_the_task_rollup_too(app, ctx, world, db):
    attach(ctx, world, Frequency.DAY)
    now = datetime(2026, 12, 4, 9, tzinfo=CN)
    tasks.generate(ctx, days=2, now=now)
    today = db.scalars(select(InspectionTask).order_by(InspectionTask.window_start)).first()
    assert today is not None
    item = db.scalar(
        select(ChecklistItem.id).where(ChecklistItem.checklist_id == today.checklist_id)
    )
    ctx.clock = lambda: now.astimezone(UTC)
    answers = [tasks.Answer(item, ItemOutcome.PASS)]
    tasks.submit_task(ctx, officer_of(world), today.id, answers=answers, lat=31.0, lng=121.0)
    runner = app.test_cli_runner()
    assert runner.invoke(args=["stats", "check-rollup"]).exit_code == 0
    days = [now.date() + timedelta(days=n) for n in (1, 2, 3)]  # the China days windows end
    break_task_daily(db, days)

    broken = runner.invoke(args=["stats", "check-rollup"])

    assert broken.exit_code == 1
    unit = rollup.unit_of(today.region_path)
    *lines, total = broken.output.splitlines()
    assert sorted(lines) == sorted(
        [
            f"DIFFERENT {unit} {days[0]} task_daily done: stored 3, recounted 1",
            f"DIFFERENT {unit} {days[1]} task_daily tasks: stored 0, recounted 1",
            f"DIFFERENT {STRAY_UNIT} {days[2]} task_daily tasks: stored 4, recounted 0",
        ]
    )
    assert total == "3 differences (0 in the hazard rollup, 3 in the task rollup)"
    rebuilt = runner.invoke(args=["stats", "rebuild-rollup"])
    assert rebuilt.exit_code == 0, rebuilt.output
    assert "task_daily rebuilt: 3 rows" in rebuilt.output
    db.expire_all()
    assert rollup.differences(db) == []
    clean = runner.invoke(args=["stats", "check-rollup"])
    assert clean.exit_code == 0 and clean.output.endswith(
        "0 differences (0 in the hazard rollup, 0 in the task rollup)\n"
    )


def test_the_daily_rollup_check_logs_a_task_rollup_difference(ctx, world, db, caplog):
    from service.jobs import periodic

    attach(ctx, world, Frequency.DAY)
    now = datetime(2026, 12, 4, 9, tzinfo=CN)
    tasks.generate(ctx, days=2, now=now)
    break_task_daily(db, [now.date() + timedelta(days=n) for n in (1, 2, 3)])
    caplog.set_level(logging.ERROR, logger=periodic.log.name)

    outcome = periodic.run_once(ctx, "rollup_check", now)

    assert outcome == "0 differences in the hazard rollup, 3 in the task rollup"
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == [
        "task rollup differs from a recount in 3 places"
    ]


def test_a_rebuild_during_a_submission_that_reports_a_hazard_waits_and_does_not_deadlock(
    database_url, settings, is_postgres
):
    if not is_postgres:
        pytest.skip("table locks are PostgreSQL's (SQLite has one writer at a time)")
    with live_context(database_url, settings, "rebuild") as live:
        app = create_app(context=live)  # also installs the hazard rollup's listener
        with live.uow() as uow:
            world = build_world(uow.session)
            uow.commit()
        attach(live, world, Frequency.DAY)
        tasks.generate(live, days=1)
        submission = live.session_factory()
        # A submission's writes in its order: the task done (task_daily) ...
        task = submission.scalars(select(InspectionTask)).first()
        assert task is not None
        task.status, task.done_at = TaskStatus.DONE, datetime.now(UTC)
        submission.flush()
        rollup.done(submission, task)
        outcome: list[Any] = []
        rebuild = threading.Thread(
            target=lambda: outcome.append(
                app.test_cli_runner().invoke(args=["stats", "rebuild-rollup"])
            )
        )
        rebuild.start()
        try:
            _wait_for_a_lock_wait_on(submission.get_bind(), "task_daily")
            # ... then the hazard a failed item reports (hazard_daily), while the rebuild waits.
            make_hazard(submission, world.enterprise_a, created_at=datetime.now(UTC))
            submission.commit()
        finally:
            submission.close()
            rebuild.join(30)
        (result,) = outcome
        assert result.exit_code == 0, result.output
        assert result.output.startswith("hazard_daily rebuilt: 1 rows;")
        with live.read() as uow:  # the refill counted the submission once it had committed
            assert rollup.differences(uow.session) == []
            assert hazard_rollup.differences(uow.session) == []
            assert uow.session.scalar(select(func.sum(task_daily.c.done))) == 1


def _wait_for_a_lock_wait_on(engine: Engine, table: str) -> None:
    waiting = text(
        "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = CAST(:t AS regclass)"
    )
    for _ in range(200):
        with engine.connect() as connection:
            if connection.scalar(waiting, {"t": table}):
                return
        time.sleep(0.05)
    raise AssertionError(f"nothing waited for a lock on {table}")


def test_the_queues_scheduler_generates_the_tasks_once_per_hour(ctx, world, db):
    from service.jobs import periodic

    point_id = attach(ctx, world, Frequency.DAY)
    moment = datetime(2026, 12, 4, 9, 30, tzinfo=CN)
    clocked = dataclasses.replace(ctx, clock=lambda: moment)
    assert periodic.run_once(clocked, "inspections_generate") == "8 inspection tasks created"
    assert periodic.run_once(clocked, "inspections_generate") is None  # this hour's is done
    moment += timedelta(hours=1)
    assert periodic.run_once(clocked, "inspections_generate") == "0 inspection tasks created"
    moment = datetime(2026, 12, 5, 0, 30, tzinfo=CN)  # a new China day: one more day ahead
    assert periodic.run_once(clocked, "inspections_generate") == "1 inspection tasks created"
    assert len(windows_of(db, point_id)) == 9  # from Dec 4 to Dec 12, a window a day
