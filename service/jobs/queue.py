"""The job queue: huey, on Redis when REDIS_URL is set, else on a SQLite file (one box).

The tasks are registered on the huey instance the composition root builds from settings,
with the context they run in; every process (app workers, consumers) builds the same
tasks under the same names, so a message enqueued on one box runs on any consumer.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import Any

from huey import Huey, RedisHuey, SqliteHuey
from huey.consumer import Consumer

from service.core.context import Context
from service.core.settings import Settings
from service.jobs import periodic, running

log = logging.getLogger(__name__)


def make_huey(settings: Settings) -> Huey:
    """The huey instance the settings name; tasks keep no results (the jobs table does)."""
    options: dict[str, Any] = {"results": False, "utc": True}
    if settings.jobs_immediate:
        return Huey(settings.jobs_queue_name, immediate=True, **options)
    if settings.redis_url:
        return RedisHuey(settings.jobs_queue_name, url=settings.redis_url, **options)
    Path(settings.jobs_queue_file).parent.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(settings.jobs_queue_name, filename=settings.jobs_queue_file, **options)


class JobQueue:
    """The queue as the use cases see it (`service.jobs.jobs.Enqueue`), and its consumer."""

    def __init__(self, ctx: Context, huey: Huey) -> None:
        self.huey = huey

        @huey.task(name="jobs.run")
        def run(job_id: int) -> None:
            running.run_job(ctx, job_id)

        @huey.task(name="jobs.poster_part")
        def poster_part(
            job_id: int, attempt: int, index: int, specs: list[Any], meta: dict[str, Any]
        ) -> None:
            running.run_poster_part(ctx, job_id, attempt, index, specs, meta)

        self._run, self._part = run, poster_part
        for task in periodic.SCHEDULE:
            self._schedule(ctx, task)

    def _schedule(self, ctx: Context, task: periodic.Periodic) -> None:
        def due(moment: datetime) -> bool:
            return task.due(moment)

        @self.huey.periodic_task(due, name=f"periodic.{task.name}")
        def work() -> None:
            try:
                periodic.run_once(ctx, task.name)
            except Exception:
                # The next period runs again; the log says why this one did not.
                log.exception("periodic %s failed", task.name)

    def enqueue(self, job_id: int) -> None:
        """Hand a job to whichever consumer is free (in immediate mode: run it now)."""
        self._run(job_id)

    def enqueue_part(
        self, job_id: int, attempt: int, index: int, specs: list[Any], meta: dict[str, Any]
    ) -> None:
        """Hand one part of a split job to whichever consumer is free."""
        self._part(job_id, attempt, index, specs, meta)

    def consumer(self, workers: int, *, scheduler: bool = True) -> Consumer:
        """A consumer of this queue: `workers` threads, and the periodic scheduler."""
        return self.huey.create_consumer(
            workers=workers,
            worker_type="thread",
            periodic=scheduler,
            check_worker_health=True,
            # An idle consumer polling the SQLite queue looks again within a second, so a
            # split job's parts spread over every consumer (Redis wakes it at once anyway).
            max_delay=1.0,
        )
