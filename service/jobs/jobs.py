"""The job resource: ask for long work, follow it, cancel it (任务).

A job belongs to its creator: anyone else is told it does not exist (404), as for any
object outside one's scope. The queue carries only job ids; this table is the truth a user
polls, whichever box they ask and whichever consumer runs the job.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import select, update

from service.access.scoping import Actor
from service.core.context import Context
from service.core.downloads import content_disposition
from service.core.errors import Conflict, NotFound
from service.jobs.models import FINISHED, Job, JobState

log = logging.getLogger(__name__)

# The adapter name under which the composition root installs the queue (`service.jobs.queue`).
QUEUE = "queue"


class JobNotFound(NotFound):
    code = "job_not_found"
    message, message_en = "任务不存在", "Job not found"


class JobFinished(Conflict):
    code = "job_finished"
    message, message_en = "任务已结束，无法取消", "The job has already finished"


class Enqueue(Protocol):
    """What the use cases need from the queue: hand a job to whichever consumer is free."""

    def enqueue(self, job_id: int) -> None: ...


def queue_of(ctx: Context) -> Enqueue:
    """The job queue the composition root installed."""
    return ctx.adapters[QUEUE]  # type: ignore[no-any-return]


def params_hash(kind: str, params: dict[str, Any]) -> str:
    """A fingerprint of what was asked for (the same request reuses a pending job)."""
    text = json.dumps([kind, params], sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _scope_of(actor: Actor) -> str:
    if actor.enterprise_id is not None:
        return f"enterprise:{actor.enterprise_id}"
    if actor.grid_ids:
        return "grids:" + ",".join(str(g) for g in sorted(actor.grid_ids))[:240]
    return f"region:{actor.region_path}" if actor.region_path else "all"


def submit(
    ctx: Context,
    actor: Actor,
    kind: str,
    params: dict[str, Any],
    *,
    input_key: str | None = None,
    total: int | None = None,
) -> Job:
    """Record a job and hand it to the queue; the same request while the creator's earlier
    one is still queued or running answers that one (a double click makes one job)."""
    fingerprint = params_hash(kind, params)
    with ctx.uow() as uow:
        pending = uow.session.scalar(
            select(Job)
            .where(
                Job.creator_id == actor.user_id,
                Job.params_hash == fingerprint,
                Job.state.in_((JobState.QUEUED, JobState.RUNNING)),
            )
            .order_by(Job.id.desc())
            .limit(1)
        )
        if pending is not None:
            return pending
        now = ctx.now()
        job = Job(
            kind=kind,
            creator_id=actor.user_id,
            creator_role=actor.role.value,
            creator_scope=_scope_of(actor),
            params=params,
            params_hash=fingerprint,
            state=JobState.QUEUED,
            done=0,
            total=total,
            message="排队中",
            parts_total=0,
            parts_done=0,
            attempts=0,
            created_at=now,
            heartbeat_at=now,  # when it was handed to the queue (see `running.reap`)
            input_key=input_key,
            note="",
        )
        uow.session.add(job)
        uow.commit()
    # After the commit: a consumer on another box must find the row it is handed.
    try:
        queue_of(ctx).enqueue(job.id)
    except Exception:
        # The queue is down (Redis restarting): the job is recorded, and the reaper hands it
        # to the queue once it is back; the caller polls it like any other.
        log.warning("job %s recorded but not queued; the reaper will queue it", job.id,
                    exc_info=True)  # fmt: skip
    with ctx.read() as uow:  # as it is now (in immediate mode: already run)
        return uow.session.get(Job, job.id) or job


@dataclass(frozen=True)
class JobResult:
    """Where a finished job's file is: a short-lived link, made after the scope check."""

    name: str
    content_type: str
    size: int
    expires_at: datetime
    url: str


@dataclass(frozen=True)
class JobView:
    """A job as its creator sees it."""

    id: int
    kind: str
    state: JobState
    done: int
    total: int | None
    message: str
    attempts: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    result: JobResult | None
    result_expired: bool
    summary: dict[str, Any] | None
    error: dict[str, Any] | None

    @property
    def progress(self) -> dict[str, Any]:
        return {"done": self.done, "total": self.total, "message": self.message}


def _own_job(ctx: Context, actor: Actor, job_id: int) -> Job:
    with ctx.read() as uow:
        job = uow.session.get(Job, job_id)
    if job is None or job.creator_id != actor.user_id:
        raise JobNotFound()
    return job


def view(ctx: Context, job: Job) -> JobView:
    """A job with, when it succeeded and its file is still kept, a link to download it."""
    result = None
    if job.state is JobState.SUCCEEDED and job.result_key and job.result_expires_at:
        assert ctx.storage is not None
        ttl = timedelta(seconds=ctx.settings.media_url_ttl_seconds)
        ascii_name = job.result_key.rpartition("/")[2]
        name = job.result_name or ascii_name
        # Saved under our name, as the direct download is, not the storage key's.
        disposition = content_disposition(name, ascii_name)
        result = JobResult(
            name=name,
            content_type=job.result_type or "application/octet-stream",
            size=job.result_size or 0,
            expires_at=job.result_expires_at,
            url=ctx.storage.presigned_get(job.result_key, ttl, disposition=disposition),
        )
    return JobView(
        id=job.id,
        kind=job.kind,
        state=job.state,
        done=job.done,
        total=job.total,
        message=job.message,
        attempts=job.attempts,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        result=result,
        result_expired=job.state is JobState.SUCCEEDED and job.result_key is None,
        summary=job.result_summary,
        error=job.error,
    )


def get_job(ctx: Context, actor: Actor, job_id: int) -> JobView:
    """One of the caller's jobs: state, progress, timings, and its download or error."""
    return view(ctx, _own_job(ctx, actor, job_id))


def list_jobs(ctx: Context, actor: Actor, limit: int = 50) -> list[JobView]:
    """The caller's latest jobs, newest first."""
    with ctx.read() as uow:
        jobs = uow.session.scalars(
            select(Job)
            .where(Job.creator_id == actor.user_id)
            .order_by(Job.id.desc())
            .limit(limit)
        ).all()
    return [view(ctx, job) for job in jobs]


def cancel_job(ctx: Context, actor: Actor, job_id: int) -> JobView:
    """Cancel a queued or running job (取消); a consumer running it stops at its next step."""
    _own_job(ctx, actor, job_id)
    with ctx.uow() as uow:
        now = ctx.now()
        cancelled = uow.session.execute(
            update(Job)
            .where(Job.id == job_id, Job.state.not_in(FINISHED))
            .values(state=JobState.CANCELLED, finished_at=now, message="已取消")
        ).rowcount
        uow.commit()
    job = _own_job(ctx, actor, job_id)
    if not cancelled and job.state is not JobState.CANCELLED:
        raise JobFinished()
    return view(ctx, job)
