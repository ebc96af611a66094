"""Alembic environment: our metadata, the URL from settings unless given."""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context

# Every package's tables join the one metadata when its models module is imported.
import service.directory.models
import service.documents.models
import service.hazards.models
import service.inspections.models
import service.jobs.models
import service.media.models
import service.notifications.models
import service.qrcodes.models
import service.risks.models
import service.statistics.models  # noqa: F401
from service.core.db import make_engine
from service.core.models import Base
from service.core.settings import Settings

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata


def _url() -> str:
    return config.get_main_option("sqlalchemy.url") or Settings.from_env().database_url


def run_migrations_offline() -> None:
    context.configure(
        url=_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(_url())
    with engine.connect() as connection:
        _run(connection)
    engine.dispose()


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    # Batch mode lets ALTER work on SQLite; it is a no-op elsewhere.
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
