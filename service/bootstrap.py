"""The composition root: where adapters are chosen and listeners installed.

Lower layers never reach up for these: `core.db` makes engines and sessions, the
statistics keep their rollup with a session listener, the media package offers storage
adapters; only this module puts them together (called by `create_app`, the CLI through
it, and by tests and benchmarks that build their own contexts).
"""

from __future__ import annotations

from pathlib import Path

from service.core.context import Context
from service.core.db import (
    SessionFactory,
    make_engine,
    make_lookup_factory,
    make_session_factory,
)
from service.core.settings import Settings
from service.core.storage import ObjectStorage
from service.jobs.jobs import QUEUE
from service.jobs.queue import JobQueue, make_huey
from service.media.storage import LocalStorage, MinioStorage
from service.statistics import rollup


def install_listeners() -> None:
    """Session listeners every process that writes hazards needs (idempotent): the daily and
    monthly rollup kept in the same transaction as each hazard write."""
    rollup.install()


def storage_for(settings: Settings) -> ObjectStorage:
    """The storage backend the settings name (`STORAGE_BACKEND`)."""
    if settings.storage_backend == "minio":
        return MinioStorage(
            endpoint=settings.minio_endpoint,
            access_key=settings.minio_access_key,
            secret_key=settings.minio_secret_key,
            bucket=settings.minio_bucket,
            region=settings.minio_region or None,
            secure=settings.minio_secure,
            public_endpoint=settings.minio_public_endpoint or None,
        )
    return LocalStorage(
        Path(settings.media_root), base_url=settings.public_base_url, secret=settings.secret_key
    )


def install_queue(ctx: Context) -> JobQueue:
    """The job queue of this context (`JOBS_IMMEDIATE`, `REDIS_URL` or the SQLite file),
    made on first use."""
    if QUEUE not in ctx.adapters:
        ctx.adapters[QUEUE] = JobQueue(ctx, make_huey(ctx.settings))
    return ctx.adapters[QUEUE]  # type: ignore[no-any-return]


def replica_factory_for(settings: Settings) -> SessionFactory | None:
    """Sessions on the read replica `DATABASE_READ_URL` names, or None without one."""
    if not settings.database_read_url:
        return None
    return make_session_factory(make_engine(settings.database_read_url))


def build_context(settings: Settings) -> Context:
    """Wire the service context from settings: engine, sessions, storage, listeners, queue."""
    install_listeners()
    engine = make_engine(settings.database_url)
    ctx = Context(
        settings=settings,
        session_factory=make_session_factory(engine),
        lookup_factory=make_lookup_factory(engine),
        replica_factory=replica_factory_for(settings),
        storage=storage_for(settings),
    )
    install_queue(ctx)
    return ctx
