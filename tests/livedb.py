"""Throwaway databases for tests whose commits must be real (races, faults): a PostgreSQL
database next to the suite's, or on SQLite a fresh file."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from service.bootstrap import storage_for
from service.core import migrations
from service.core.context import Context
from service.core.db import make_engine, make_session_factory
from service.core.settings import Settings


@contextmanager
def throwaway_database(database_url: str, prefix: str, *, migrate: bool = True) -> Iterator[str]:
    """Create a fresh database next to `database_url` (migrated unless asked not to), yield
    its URL, and drop it afterwards; dispose engines on it before leaving the block. For a
    SQLite `database_url`, a new file in a temporary folder."""
    if not database_url.startswith("postgresql"):
        with tempfile.TemporaryDirectory(prefix=f"{prefix}-") as folder:
            url = f"sqlite:///{folder}/{prefix}.db"
            if migrate:
                migrations.upgrade(url)
            yield url
        return
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(database_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            url = make_url(database_url).set(database=name).render_as_string(hide_password=False)
            if migrate:
                migrations.upgrade(url)
            yield url
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@contextmanager
def worker_database(database_url: str, worker: str) -> Iterator[str]:
    """An empty PostgreSQL database `<name>_<worker>` for one pytest-xdist worker, yielded as
    a URL and dropped afterwards (one left by an interrupted run is dropped first)."""
    url = make_url(database_url)
    name = f"{url.database}_{worker}"
    admin = create_engine(database_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield url.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@contextmanager
def live_context(
    database_url: str, settings: Settings, prefix: str, *, pool_size: int = 10, **extra: Any
) -> Iterator[Context]:
    """A service context on a throwaway database (see above), its engine disposed after."""
    with throwaway_database(database_url, prefix) as url:
        engine = make_engine(url, pool_size=pool_size)
        live = settings.with_overrides(database_url=url)
        try:
            yield Context(
                settings=live,
                session_factory=make_session_factory(engine),
                storage=storage_for(live),
                **extra,
            )
        finally:
            engine.dispose()
