"""The migrations build exactly the models' schema, on SQLite and PostgreSQL."""

import importlib.util
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from service.core import migrations
from service.core.db import make_engine, make_session_factory
from service.core.models import Base
from service.hazards.models import Hazard
from tests.factories import build_world, make_hazard
from tests.livedb import throwaway_database


def _diff(engine):
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)


def test_migrated_database_matches_the_models(engine):
    assert _diff(engine) == []


def _revision(name):
    path = Path(__file__).parents[2] / "migrations" / "versions" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_open_hazards_index_keeps_the_predicate_its_migration_built():
    # The model builds the predicate from OPEN_STATUSES; compare_metadata ignores partial
    # index predicates, so a drift would pass unseen and leave the database's index stale.
    frozen = _revision("0005_hazard_daily_rollup").OPEN_STATUS_SQL
    name = "ix_hazards_open_region_path_created"
    (index,) = (i for i in Hazard.__table__.indexes if i.name == name)
    for dialect in ("postgresql", "sqlite"):
        assert str(index.dialect_options[dialect]["where"]) == frozen


@pytest.fixture
def empty_database_url(database_url, tmp_path):
    """A brand-new empty database of the same kind as the suite's."""
    if not database_url.startswith("postgresql"):
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    with throwaway_database(database_url, "mig", migrate=False) as url:
        yield url


def test_migrations_apply_to_an_empty_database_and_roll_back(empty_database_url):
    migrations.upgrade(empty_database_url)
    engine = make_engine(empty_database_url)
    try:
        assert _diff(engine) == []
        assert {"regions", "grids", "enterprises", "users"} <= set(
            inspect(engine).get_table_names()
        )
        migrations.downgrade(empty_database_url, "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        migrations.upgrade(empty_database_url)
        assert _diff(engine) == []
    finally:
        engine.dispose()


PLANS = {
    "a date": ("2026-12-20", "2026-12-20T15:59:59.999000+00:00"),
    "a timestamp": ("2026-12-20T18:00:00+08:00", "2026-12-20T10:00:00+00:00"),
    "words": ("年底前", "年底前"),
    "no offset": ("2026-12-20T18:00:00", "2026-12-20T18:00:00"),
}


def test_migration_0010_keeps_plan_deadlines_like_every_deadline(empty_database_url):
    """Plans filed while the deadline was free text answer like the new ones: a date becomes
    the end of that China day, a timestamp UTC; other text stays. Downgrade gives dates back."""
    migrations.upgrade(empty_database_url, "0008")
    engine = make_engine(empty_database_url)
    try:
        factory = make_session_factory(engine)
        with factory() as session:
            world = build_world(session)
            ids = {}
            for label, (text, _) in PLANS.items():
                plan = {"responsible_person": "张伟", "deadline": text}
                hazard = make_hazard(
                    session,
                    world.enterprise_a,
                    created_at=datetime(2026, 11, 1, tzinfo=UTC),
                    plan=plan,
                )
                ids[label] = hazard.id
            without = make_hazard(
                session, world.enterprise_a, created_at=datetime(2026, 11, 1, tzinfo=UTC)
            )
            session.commit()
        engine.dispose()

        def plans() -> dict[str, dict]:
            with factory() as session:
                return {label: session.get(Hazard, i).plan for label, i in ids.items()}

        migrations.upgrade(empty_database_url)
        after = plans()
        for label, (_, expected) in PLANS.items():
            assert after[label] == {"responsible_person": "张伟", "deadline": expected}, label
        with factory() as session:
            assert session.get(Hazard, without.id).plan is None

        migrations.downgrade(empty_database_url, "0008")
        engine.dispose()
        back = plans()
        assert back["a date"]["deadline"] == "2026-12-20"
        assert back["a timestamp"]["deadline"] == "2026-12-20T10:00:00+00:00"
        assert back["words"]["deadline"] == "年底前"
    finally:
        engine.dispose()


def test_migration_0011_keeps_existing_accounts_usable_and_rolls_back(empty_database_url):
    """Accounts from before 0011 hold no one-time password: they log in as before."""
    migrations.upgrade(empty_database_url, "0010")
    engine = make_engine(empty_database_url)
    try:
        with make_session_factory(engine)() as session:
            world = build_world(session)  # users inserted without the new column
            ids = [world.admin.id, world.inspector.id]
        engine.dispose()

        migrations.upgrade(empty_database_url, "0011")
        with engine.connect() as conn:
            flags = conn.execute(
                text("SELECT must_change_password FROM users WHERE id IN (:a, :b)"),
                {"a": ids[0], "b": ids[1]},
            ).scalars()
            assert [bool(f) for f in flags] == [False, False]

        migrations.downgrade(empty_database_url, "0010")
        engine.dispose()
        columns = {c["name"] for c in inspect(engine).get_columns("users")}
        assert "must_change_password" not in columns and "token_version" in columns
    finally:
        engine.dispose()


def test_migration_0015_keeps_tasks_and_answers_counts_them_and_rolls_back(empty_database_url):
    """Tasks with answers survive the change of keys both ways (on SQLite too, where the
    table they are answers of cannot be copied), and the rollup starts from them."""
    migrations.upgrade(empty_database_url, "0014")
    engine = make_engine(empty_database_url)
    try:
        with make_session_factory(engine)() as session:
            world = build_world(session)
            enterprise = world.enterprise_a
            place = {"e": enterprise.id, "g": enterprise.grid_id, "p": enterprise.region_path}
            made = "2026-12-01 00:00:00+00:00"
            for statement in (
                "INSERT INTO points (id, enterprise_id, name, kind, location, department,"
                " responsible_person, active, created_at)"
                " VALUES (900, :e, '点', 'area', '', '', '', true, :made)",
                "INSERT INTO checklists (id, name, region_path, active, created_at)"
                " VALUES (900, '清单', :p, true, :made)",
                "INSERT INTO checklist_items (id, checklist_id, position, content, basis, method,"
                " active) VALUES (900, 900, 0, '项', '', '', true)",
                "INSERT INTO point_checklists (id, point_id, checklist_id, frequency,"
                " assignee_role, active, created_at)"
                " VALUES (900, 900, 900, 'day', 'enterprise_officer', true, :made)",
                # done in its window (China 3 December), and one not done the day after
                "INSERT INTO inspection_tasks (id, attachment_id, point_id, checklist_id,"
                " enterprise_id, grid_id, region_path, frequency, window_start, window_end,"
                " assignee_key, assignee_role, status, done_at, flagged, created_at) VALUES"
                " (900, 900, 900, 900, :e, :g, :p, 'day', '2026-12-01 16:00:00+00:00',"
                " '2026-12-02 16:00:00+00:00', 'role:enterprise_officer', 'enterprise_officer',"
                " 'done', '2026-12-02 01:00:00+00:00', false, :made),"
                " (901, 900, 900, 900, :e, :g, :p, 'day', '2026-12-02 16:00:00+00:00',"
                " '2026-12-03 16:00:00+00:00', 'role:enterprise_officer', 'enterprise_officer',"
                " 'pending', NULL, false, :made)",
                "INSERT INTO task_results (id, task_id, item_id, outcome, note, media_ids)"
                " VALUES (900, 900, 900, 'pass', '', '[]')",
            ):
                session.execute(text(statement), {**place, "made": made})
            session.commit()
        engine.dispose()

        migrations.upgrade(empty_database_url, "0015")
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT day, tasks, done_in_window, done FROM task_daily ORDER BY day")
            ).all()
            assert [(str(r[0]), *r[1:]) for r in rows] == [
                ("2026-12-03", 1, 1, 1),
                ("2026-12-04", 1, 0, 0),
            ]
            answers = conn.execute(text("SELECT count(*) FROM task_results")).scalar()
            assert answers == 1
        engine.dispose()
        keys = {
            tuple(k["constrained_columns"])
            for k in inspect(engine).get_foreign_keys("inspection_tasks")
        }
        assert keys == {("attachment_id", "point_id", "checklist_id"), ("done_by_id",)}

        migrations.downgrade(empty_database_url, "0014")
        engine.dispose()
        keys = {
            tuple(k["constrained_columns"])
            for k in inspect(engine).get_foreign_keys("inspection_tasks")
        }
        assert ("point_id",) in keys and ("attachment_id", "point_id", "checklist_id") not in keys
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM inspection_tasks")).scalar() == 2
    finally:
        engine.dispose()
