"""The migrations build exactly the models' schema, on SQLite and PostgreSQL."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from service.core import migrations
from service.core.db import make_engine
from service.core.models import Base
from tests.livedb import throwaway_database


def _diff(engine):
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)


def test_migrated_database_matches_the_models(engine):
    assert _diff(engine) == []


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
