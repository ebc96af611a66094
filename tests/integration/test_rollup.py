"""The daily rollup (`hazard_daily`) stays equal to a GROUP BY over the hazards: after every
kind of write, on rollback, under concurrent writers, after the migration's backfill."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import MetaData, Table, func, insert, inspect, select, text, update

from miniprogram_api import create_app
from service.access.scoping import Actor
from service.core import migrations
from service.core.clock import china_date
from service.core.context import Context
from service.core.db import make_engine, make_session_factory, snapshot_session
from service.hazards import transitions
from service.hazards.models import Hazard
from service.hazards.overdue import sweep
from service.hazards.workflow import apply
from service.statistics import rollup
from service.statistics.models import HOUR_BUCKETS, hazard_daily, hazard_monthly
from service.statistics.rollup import Facts, contribution, differences
from tests.factories import build_world, make_hazard
from tests.livedb import live_context, throwaway_database
from uploads_schema.vocabulary import (
    HazardAction,
    HazardCategory,
    HazardLevel,
    HazardOrigin,
    HazardSource,
    HazardStatus,
    Role,
)

T0 = datetime(2026, 10, 1, 2, 0, tzinfo=UTC)  # 10:00 in China


def stored(session) -> dict:
    return {
        (r.unit_path, r.day, r.level): r._asdict()
        for r in session.execute(select(hazard_daily)).all()
        if r.reported
    }


def supervisor(world) -> Actor:
    return Actor(
        user_id=world.district_supervisor.id,
        role=Role.SUPERVISOR,
        region_id=world.district.id,
        region_path=world.district.path,
    )


# ── the pure contribution ─────────────────────────────────────────────────────────


def facts(**overrides) -> Facts:
    values = dict(
        status=HazardStatus.CLOSED,
        level=HazardLevel.GENERAL,
        created_at=datetime(2026, 10, 1, 17, 0, tzinfo=UTC),  # 2 October 01:00 in China
        region_path="/320400000000/320412000000/320412001000/320412001001/",
        closed_at=datetime(2026, 10, 1, 23, 0, tzinfo=UTC),
        original_deadline=datetime(2026, 10, 3, tzinfo=UTC),
        fix_submitted_at=datetime(2026, 10, 1, 21, 0, tzinfo=UTC),
        reopen_count=2,
    )
    values.update(overrides)
    return Facts(**values)


def test_a_closed_hazard_counts_on_its_china_day_and_street_with_its_hours_bucket():
    key, counters = contribution(facts())
    assert key == ("/320400000000/320412000000/320412001000/", date(2026, 10, 2), "general")
    assert counters["reported"] == counters["closed"] == counters["closed_on_time"] == 1
    assert counters["reopens"] == 2 and counters["close_seconds"] == 6 * 3600
    assert counters["h_le_8"] == 1 and sum(counters[b] for b in HOUR_BUCKETS) == 1


def test_bucket_edges_are_inclusive_and_the_last_bucket_is_open():
    on_edge = contribution(facts(closed_at=datetime(2026, 10, 1, 21, 0, tzinfo=UTC)))[1]
    assert on_edge["h_le_4"] == 1
    late = contribution(
        facts(
            closed_at=datetime(2027, 10, 5, tzinfo=UTC),
            fix_submitted_at=datetime(2027, 10, 4, tzinfo=UTC),
        )
    )[1]
    assert late["h_gt_8760"] == 1 and late["closed_on_time"] == 0
    assert rollup.bucket_edge(len(HOUR_BUCKETS) - 1) == 8760.0


def test_on_time_is_the_accepted_fix_submitted_by_the_original_deadline():
    deadline = datetime(2026, 10, 3, tzinfo=UTC)

    def on_time(**overrides) -> int:
        values = {"original_deadline": deadline, **overrides}
        return contribution(facts(**values))[1]["closed_on_time"]

    # submitted the day before, verified (closed) two days after the deadline: on time
    assert on_time(fix_submitted_at=deadline - timedelta(days=1), closed_at=deadline + timedelta(2))
    assert on_time(fix_submitted_at=deadline - timedelta(days=1)) == 1
    assert on_time(fix_submitted_at=deadline, closed_at=deadline + timedelta(hours=1)) == 1
    # submitted after the original deadline (an extension moves only the current one): late
    assert on_time(fix_submitted_at=deadline + timedelta(seconds=1)) == 0
    assert on_time(fix_submitted_at=None) == 0  # no fix recorded: not counted as on time
    assert on_time(original_deadline=None) == 0
    open_ = facts(status=HazardStatus.VERIFYING, closed_at=None)
    assert contribution(open_)[1]["closed_on_time"] == 0  # only closed hazards count


def test_a_hazard_registered_at_district_level_is_its_own_unit():
    key, counters = contribution(
        facts(status=HazardStatus.RECTIFYING, closed_at=None, region_path="/3204/320412/")
    )
    assert key[0] == "/3204/320412/" and counters["open"] == 1 and counters["closed"] == 0


# ── kept by the session ───────────────────────────────────────────────────────────


def unflushed(enterprise, number: str, **kw) -> Hazard:
    """A new hazard with only what has no default (status, level, created_at... default)."""
    return Hazard(
        number=number,
        enterprise_id=enterprise.id,
        grid_id=enterprise.grid_id,
        region_path=enterprise.region_path,
        source=HazardSource.INSPECTION,
        origin=HazardOrigin.APP,
        category=HazardCategory.FIRE,
        description="新隐患",
        **kw,
    )


def test_python_side_defaults_are_counted_when_the_hazard_is_first_flushed(db, world):
    hazard = unflushed(world.enterprise_a, "YHTEST-DEFAULTS")
    db.add(hazard)
    db.flush()
    assert hazard.level is HazardLevel.GENERAL and hazard.status is HazardStatus.REPORTED
    rows = stored(db)
    assert len(rows) == 1
    (row,) = rows.values()
    assert (row["reported"], row["open"], row["level"]) == (1, 1, HazardLevel.GENERAL)
    assert row["day"] == china_date(hazard.created_at)
    assert differences(db) == []


def test_a_status_set_as_a_plain_string_counts_like_the_enum():
    as_text = contribution(facts(status="rejected", closed_at=None))[1]
    assert as_text == contribution(facts(status=HazardStatus.REJECTED, closed_at=None))[1]
    assert as_text["rejected"] == 1


def test_a_flush_touching_more_keys_than_one_statement_takes_is_sent_in_slices(
    db, world, monkeypatch
):
    monkeypatch.setattr(rollup, "UPSERT_ROWS", 2)
    for day in range(5):  # five keys in one flush: three statements
        db.add(unflushed(world.enterprise_a, f"YHTEST-S{day}", created_at=T0 + timedelta(days=day)))
    db.flush()
    assert len(stored(db)) == 5 and differences(db) == []


def test_changes_to_unloaded_columns_still_subtract_the_old_values(db, world):
    hazard = make_hazard(
        db,
        world.enterprise_a,
        created_at=T0,
        status=HazardStatus.VERIFYING,
        deadline=T0 + timedelta(days=2),
        fix_submitted_at=T0 + timedelta(days=3),
    )
    db.commit()
    db.expire(hazard)  # nothing loaded: the old values must come from the database
    hazard.status = HazardStatus.CLOSED
    hazard.closed_at = T0 + timedelta(hours=30)
    hazard.level = HazardLevel.MAJOR
    db.flush()
    assert differences(db) == []
    db.expire(hazard)
    hazard.fix_submitted_at = T0 + timedelta(hours=20)  # now on time
    db.flush()
    assert differences(db) == []
    assert sum(r["closed_on_time"] for r in stored(db).values()) == 1
    db.expire(hazard)
    hazard.created_at = T0 - timedelta(days=40)
    hazard.region_path = world.enterprise_b.region_path
    db.commit()
    assert differences(db) == []
    db.delete(hazard)
    db.flush()
    assert stored(db) == {} and differences(db) == []


def test_a_write_rolled_back_after_its_flush_leaves_the_rollup_as_it_was(ctx, db, world):
    hazard = make_hazard(
        db, world.enterprise_a, created_at=T0, status=HazardStatus.VERIFYING, assignee_id=None
    )
    db.commit()
    before = stored(db)
    with pytest.raises(RuntimeError), ctx.uow() as uow:
        h = uow.session.get(Hazard, hazard.id)
        assert h is not None
        h.status, h.closed_at = HazardStatus.CLOSED, T0 + timedelta(hours=5)
        uow.flush()
        assert stored(uow.session) != before  # the flush did count the close …
        raise RuntimeError("a later step of the use case fails")
    db.expire_all()
    assert stored(db) == before  # … and the rollback took it back
    assert differences(db) == []


def test_the_overdue_sweep_keeps_the_rollup(ctx, db, world):
    late = datetime.now(UTC) - timedelta(days=3)
    for _ in range(3):
        make_hazard(
            db,
            world.enterprise_a,
            created_at=late - timedelta(days=5),
            status=HazardStatus.RECTIFYING,
            deadline=late,
            assignee_id=world.officer.id,
        )
    db.commit()
    assert sweep(ctx).marked_overdue == 3
    db.expire_all()
    assert differences(db) == []


def test_check_and_rebuild_commands(app, db, world):
    for status in (HazardStatus.CLOSED, HazardStatus.REJECTED, HazardStatus.REPORTED):
        make_hazard(
            db, world.enterprise_a, created_at=T0, status=status, closed_at=T0 + timedelta(1)
        )
    db.commit()
    runner = app.test_cli_runner()
    assert runner.invoke(args=["stats", "check-rollup"]).exit_code == 0
    db.execute(update(hazard_daily).values(closed=hazard_daily.c.closed + 5))
    db.execute(text("DELETE FROM hazard_daily WHERE level = 'major'"))
    db.commit()
    db.execute(update(hazard_monthly).values(reported=hazard_monthly.c.reported + 1))
    db.commit()
    broken = runner.invoke(args=["stats", "check-rollup"])
    assert broken.exit_code == 1 and "closed" in broken.output
    assert "monthly reported" in broken.output
    rebuilt = runner.invoke(args=["stats", "rebuild-rollup"])
    assert rebuilt.exit_code == 0, rebuilt.output
    db.expire_all()
    assert differences(db) == []
    assert runner.invoke(args=["stats", "check-rollup"]).exit_code == 0


# ── concurrent writers ────────────────────────────────────────────────────────────


@pytest.fixture
def live_ctx(database_url: str, settings) -> Iterator[Context]:
    """A throwaway database of the suite's kind whose commits are real."""
    with live_context(database_url, settings, "rollup") as live:
        yield live


def test_the_check_reads_table_and_recount_from_one_snapshot(live_ctx, is_postgres):
    with live_ctx.uow() as uow:
        world = build_world(uow.session)
        make_hazard(uow.session, world.enterprise_a, created_at=T0)
        uow.commit()
    with snapshot_session(live_ctx.session_factory) as session:
        if is_postgres:
            level = session.execute(text("SHOW transaction_isolation")).scalar_one()
            assert level == "repeatable read"
        # (SQLite: one read transaction, whose snapshot a writer's commit does not move)
        assert differences(session) == []
        with live_ctx.uow() as uow:  # a write landing while the check reads
            make_hazard(uow.session, world.enterprise_b, created_at=T0)
            uow.commit()
        # still the first snapshot: the hazards and the table it recounts do not move
        assert session.scalar(select(func.count()).select_from(Hazard)) == 1
        assert sum(r.reported for r in session.execute(select(hazard_daily))) == 1


def test_concurrent_closes_and_reopens_of_one_key_lose_no_update(live_ctx):
    session = live_ctx.session_factory()
    world = build_world(session)
    actor = supervisor(world)
    now = datetime.now(UTC)
    ids = [
        make_hazard(
            session,
            world.enterprise_a,
            created_at=now - timedelta(hours=3),  # all on one key: street, day, level
            status=HazardStatus.VERIFYING,
            deadline=now + timedelta(days=2),
            assignee_id=world.officer.id,
        ).id
        for _ in range(8)
    ]
    session.commit()
    session.close()
    create_app(context=live_ctx)  # the listener is installed however sessions are made

    def cycle(hazard_id: int) -> None:
        for _ in range(3):
            transitions.verify(live_ctx, actor, hazard_id, passed=True)
            transitions.reopen(
                live_ctx, actor, hazard_id, reason="复查不合格", deadline=now + timedelta(days=5)
            )
            _back_to_verifying(live_ctx, world.officer.id, hazard_id)
        transitions.verify(live_ctx, actor, hazard_id, passed=True)

    barrier = threading.Barrier(len(ids))
    errors: list[BaseException] = []

    def run(hazard_id: int) -> None:
        try:
            barrier.wait()
            cycle(hazard_id)
        except BaseException as exc:  # reported below, with the thread's cause
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    with live_ctx.session_factory() as check:
        assert differences(check) == []
        (row,) = stored(check).values()
        assert (row["reported"], row["closed"], row["reopens"]) == (8, 8, 8 * 3)


def _back_to_verifying(ctx: Context, officer_id: int, hazard_id: int) -> None:
    """The assignee's fix, without the photos the API asks for, through the workflow."""
    officer = Actor(user_id=officer_id, role=Role.ENTERPRISE_OFFICER)
    with ctx.uow() as uow:
        hazard = uow.session.scalars(
            select(Hazard).where(Hazard.id == hazard_id).with_for_update(of=Hazard)
        ).one()
        apply(uow.session, hazard, HazardAction.SUBMIT_FIX, officer, at=datetime.now(UTC))
        uow.commit()


# ── the migration's backfill ──────────────────────────────────────────────────────


@pytest.fixture
def empty_url(database_url, tmp_path) -> Iterator[str]:
    if not database_url.startswith("postgresql"):
        yield f"sqlite:///{tmp_path / 'backfill.db'}"
        return
    with throwaway_database(database_url, "backfill", migrate=False) as url:
        yield url


def _insert_as_before(session, enterprise, made: list[dict]) -> None:
    """Plain INSERTs into the table as the older revision has it (with `overdue`, dropped by
    0007), as rows stored then were: nothing keeps the rollup tables."""
    hazards = Table("hazards", MetaData(), autoload_with=session.connection())
    due = T0 + timedelta(days=3)
    for n, values in enumerate(made):
        session.execute(
            insert(hazards).values(
                number=f"YHMIG-{n}",
                enterprise_id=enterprise.id,
                grid_id=enterprise.grid_id,
                region_path=enterprise.region_path,
                source=HazardSource.INSPECTION,
                origin=HazardOrigin.APP,
                category=HazardCategory.FIRE,
                description="x",
                level=HazardLevel.GENERAL,
                version=1,
                event_seq=0,
                last_event_hash="0" * 64,
                anonymous=False,
                supervised=False,
                **{
                    "overdue": False,
                    "escalation_level": 0,
                    "reopen_count": 1,
                    "deadline": due,
                    "original_deadline": due,
                    "created_at": T0,
                    "updated_at": T0,
                    **values,
                },
            )
        )
    session.commit()


def test_the_migration_counts_hazards_stored_before_it(empty_url):
    migrations.upgrade(empty_url, "0004")
    engine = make_engine(empty_url)
    try:
        factory = make_session_factory(engine)
        with factory() as session:
            world = build_world(session)
            closed = HazardStatus.CLOSED
            _insert_as_before(
                session,
                world.enterprise_b,
                [
                    # fixed and closed in time, and both late: on time by either rule
                    dict(
                        status=closed,
                        fix_submitted_at=T0 + timedelta(hours=5),
                        closed_at=T0 + timedelta(hours=7),
                    ),
                    dict(
                        status=closed,
                        fix_submitted_at=T0 + timedelta(days=19),
                        closed_at=T0 + timedelta(days=20),
                    ),
                    dict(status=HazardStatus.REJECTED),
                    dict(status=HazardStatus.RECTIFYING),
                ],
            )
        migrations.upgrade(empty_url)
        with factory() as session:
            rows = stored(session)
            assert differences(session) == []
            (row,) = rows.values()
            assert row["unit_path"] == world.street_b.path
            assert (row["reported"], row["closed"], row["rejected"], row["open"]) == (4, 2, 1, 1)
            assert (row["closed_on_time"], row["reopens"]) == (1, 4)
            assert (row["h_le_8"], row["h_le_480"]) == (1, 1)
            (month,) = session.execute(select(hazard_monthly)).mappings().all()  # 0006's fill
            assert month["month"] == date(2026, 10, 1) and month["reported"] == 4
            total = session.scalar(select(func.count()).select_from(Hazard))
            assert total == 4
    finally:
        engine.dispose()


def test_migration_0007_counts_on_time_by_the_fix_and_drops_the_stored_overdue_flag(empty_url):
    migrations.upgrade(empty_url, "0006")
    engine = make_engine(empty_url)
    deadline = T0 + timedelta(days=3)  # every hazard's original deadline
    try:
        factory = make_session_factory(engine)
        with factory() as session:
            world = build_world(session)
            closed, rectifying = HazardStatus.CLOSED, HazardStatus.RECTIFYING
            _insert_as_before(
                session,
                world.enterprise_b,
                [
                    # fixed in time, verified after the deadline: on time from 0007 on
                    dict(
                        status=closed,
                        fix_submitted_at=deadline - timedelta(hours=2),
                        closed_at=deadline + timedelta(days=1),
                    ),
                    # fixed after the original deadline, within an approved extension: late
                    dict(
                        status=closed,
                        deadline=deadline + timedelta(days=7),
                        fix_submitted_at=deadline + timedelta(days=1),
                        closed_at=deadline + timedelta(days=2),
                    ),
                    # fixed and verified in time: on time by either rule
                    dict(
                        status=closed,
                        fix_submitted_at=deadline - timedelta(days=2),
                        closed_at=deadline - timedelta(days=1),
                    ),
                    dict(status=rectifying, overdue=True, escalation_level=2),
                    dict(status=rectifying),
                ],
            )
        engine.dispose()  # the migrations change tables this pool's connections have seen

        def on_time() -> int:
            with factory() as session:
                assert differences(session) == []  # the refill is the code's own count
                daily = sum(r["closed_on_time"] for r in stored(session).values())
                monthly = session.scalar(select(func.sum(hazard_monthly.c.closed_on_time)))
                assert daily == monthly
                return daily

        migrations.upgrade(empty_url)
        assert on_time() == 2
        assert "overdue" not in {c["name"] for c in inspect(engine).get_columns("hazards")}

        migrations.downgrade(empty_url, "0006")
        engine.dispose()
        with factory() as session:
            flags = session.execute(text("SELECT overdue FROM hazards ORDER BY number")).scalars()
            assert [bool(f) for f in flags] == [False, False, False, True, False]
            old = session.execute(select(func.sum(hazard_daily.c.closed_on_time))).scalar()
            assert old == 1  # closed by the original deadline, as 0005 counted
    finally:
        engine.dispose()
