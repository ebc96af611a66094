"""The migrations build exactly the models' schema, on SQLite and PostgreSQL."""

import importlib.util
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from service.core import migrations
from service.core.db import make_engine
from service.core.models import Base
from service.hazards.models import Hazard
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
