"""Running jobs on a consumer: claim, heartbeat, progress, result or error; the reaper of
jobs whose consumer died; the collector of expired results.

Every step is a short transaction of its own, so a poll from any box sees progress as it
happens. A job is claimed by a conditional UPDATE (queued → running): a message delivered
twice runs the job once.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from service.access.scoping import load_actor
from service.core.context import Context
from service.core.errors import DomainError
from service.core.storage import StorageError, StorageUnavailable
from service.jobs import kinds
from service.jobs.jobs import queue_of
from service.jobs.models import FINISHED, Job, JobState

log = logging.getLogger(__name__)

def worker_name() -> str:
    """This process, as logs and periodic claims name it."""
    return f"{socket.gethostname()}:{os.getpid()}"[:128]


# Progress is written at most this often (seconds): polls see it move, the database is spared.
PROGRESS_EVERY = 1.0


class JobCancelled(Exception):
    """The job was cancelled (or taken over by a retry) while this consumer ran it."""


def error_object(exc: BaseException) -> dict[str, Any]:
    """A failure as the SPEC §5 error object a poll shows; never a traceback."""
    if isinstance(exc, DomainError):
        return {
            "status": exc.status,
            "code": exc.code,
            "message": exc.message,
            "message_en": exc.message_en,
            "errors": exc.errors,
        }
    if isinstance(exc, StorageUnavailable):
        return {
            "status": 503,
            "code": "storage_unavailable",
            "message": "文件存储暂时不可用，请稍后重新提交",
            "message_en": "Object storage temporarily unavailable",
            "errors": {},
        }
    return {
        "status": 500,
        "code": "internal_error",
        "message": "任务执行出错，请稍后重新提交",
        "message_en": "The job failed unexpectedly",
        "errors": {},
    }


WORKER_LOST = {
    "status": 500,
    "code": "job_worker_lost",
    "message": "执行任务的进程中断，已多次重试，请重新提交",
    "message_en": "The worker running this job stopped, retries exhausted",
    "errors": {},
}


def result_key(job_id: int, attempt: int, name: str) -> str:
    # A folder per attempt: an attempt taken over by a retry never overwrites or deletes
    # the retry's file, and what a dead attempt left is found by its prefix.
    return f"{attempt_prefix(job_id, attempt)}{name}"


def attempt_prefix(job_id: int, attempt: int) -> str:
    return f"jobs/{job_id}/{attempt}/"


def part_key(job_id: int, attempt: int, index: int) -> str:
    return f"jobs/{job_id}/parts/{attempt}-{index:05d}.pdf"


class _Tracker:
    """Writes a running job's progress and heartbeat; stops the work once it is cancelled."""

    def __init__(self, ctx: Context, job_id: int, attempt: int) -> None:
        self.ctx, self.job_id, self.attempt = ctx, job_id, attempt
        self._pending = 0
        self._last = time.monotonic()
        self._lock = threading.Lock()

    def progress(self, done: int) -> None:
        with self._lock:
            self._pending += done
            if time.monotonic() - self._last < PROGRESS_EVERY:
                return
        self.flush()

    def flush(self, **values: Any) -> None:
        """Add the units counted so far, beat, and check the job is still ours."""
        with self._lock:
            pending, self._pending = self._pending, 0
            self._last = time.monotonic()
        with self.ctx.uow() as uow:
            changed = uow.session.execute(
                update(Job)
                .where(
                    Job.id == self.job_id,
                    Job.state == JobState.RUNNING,
                    Job.attempts == self.attempt,
                )
                .values(done=Job.done + pending, heartbeat_at=self.ctx.now(), **values)
            ).rowcount
            uow.commit()
        if not changed:
            raise JobCancelled()

    def beat(self) -> None:
        try:
            self.flush()
        except JobCancelled:
            pass  # the work notices at its next progress step
        except Exception:
            log.warning("job %s: heartbeat failed", self.job_id, exc_info=True)


@contextmanager
def _heartbeat(ctx: Context, tracker: _Tracker) -> Iterator[None]:
    """Beat every JOB_HEARTBEAT_SECONDS while the work runs, even through a long step
    (one big query); a consumer that dies stops beating and the reaper takes over."""
    if ctx.settings.jobs_immediate:
        yield  # inside a request (tests): nothing can die apart from the request
        return
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(ctx.settings.job_heartbeat_seconds):
            tracker.beat()

    thread = threading.Thread(target=beat, name=f"job-{tracker.job_id}-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def _claim(ctx: Context, job_id: int) -> Job | None:
    """queued → running, once; None when the job is not queued (cancelled, taken)."""
    with ctx.uow() as uow:
        job = uow.session.get(Job, job_id)
        if job is None or job.state is not JobState.QUEUED:
            return None
        now = ctx.now()
        claimed = uow.session.execute(
            update(Job)
            .where(Job.id == job_id, Job.state == JobState.QUEUED)
            .values(
                state=JobState.RUNNING,
                attempts=Job.attempts + 1,
                started_at=job.started_at or now,
                heartbeat_at=now,
                done=0,
                parts_total=0,
                parts_done=0,
                message="正在执行",
            )
        ).rowcount
        uow.commit()
        if not claimed:
            return None
        uow.session.refresh(job)
        return job


def run_job(ctx: Context, job_id: int) -> None:
    """Run one job to its end (or hand its parts to other consumers)."""
    job = _claim(ctx, job_id)
    if job is None:
        return
    tracker = _Tracker(ctx, job.id, job.attempts)
    try:
        with ctx.read_connection() as connection:
            actor = load_actor(connection, job.creator_id)  # their scope as it is now
        data = ctx.storage.get(job.input_key) if job.input_key and ctx.storage else None
        inputs = kinds.Inputs(
            params=job.params,
            data=data,
            set_total=lambda n: tracker.flush(total=n),
            keep=lambda session, output: keep_result(ctx, session, job_id, job.attempts, output),
        )
        with _heartbeat(ctx, tracker):
            outcome = kinds.RUNNERS[job.kind](ctx, actor, inputs, tracker.progress)
        if isinstance(outcome, kinds.Split):
            _split(ctx, job, tracker, outcome)
            return
        if outcome.kept:  # kept by the runner, in the transaction of its own writes
            _drop_input(ctx, job.id)
            return
        _succeed(ctx, job.id, job.attempts, outcome)
    except JobCancelled:
        log.info("job %s stopped: cancelled or taken over", job_id)
    except Exception as exc:
        _fail(ctx, job.id, job.attempts, exc)


def _split(ctx: Context, job: Job, tracker: _Tracker, split: kinds.Split) -> None:
    tracker.flush(parts_total=len(split.parts), message=f"分 {len(split.parts)} 份生成中")
    queue = queue_of(ctx)
    for index, specs in enumerate(split.parts):
        queue.enqueue_part(job.id, job.attempts, index, specs, split.meta)


def run_poster_part(
    ctx: Context, job_id: int, attempt: int, index: int, specs: list[Any], meta: dict[str, Any]
) -> None:
    """One part of a split poster job; the last part to finish assembles the PDF."""
    tracker = _Tracker(ctx, job_id, attempt)
    try:
        tracker.flush()  # still running, and this attempt's? (else JobCancelled)
        with _heartbeat(ctx, tracker):
            pdf = kinds.render_poster_part(ctx, specs, tracker.progress, meta.get("size", "A5"))
        assert ctx.storage is not None
        ctx.storage.put(part_key(job_id, attempt, index), pdf, "application/pdf")
        log.info("job %s part %s: %d pages by %s", job_id, index, len(specs), worker_name())
        if not _part_done(ctx, tracker):
            return
        with ctx.read() as uow:
            parts = uow.session.scalar(select(Job.parts_total).where(Job.id == job_id)) or 0
        keys = [part_key(job_id, attempt, i) for i in range(parts)]
        tracker.flush(message="正在合并")
        merged = kinds.merge_pdfs([ctx.storage.get(key) for key in keys])
        _succeed(ctx, job_id, attempt, kinds.posters_output(ctx, meta, merged))
        for key in keys:
            ctx.storage.delete(key)
    except JobCancelled:
        log.info("job %s part %s stopped: cancelled or taken over", job_id, index)
    except Exception as exc:
        _fail(ctx, job_id, attempt, exc)


def _part_done(ctx: Context, tracker: _Tracker) -> bool:
    """Count a finished part (with its last pages); True for the last one."""
    with tracker._lock:
        pending, tracker._pending = tracker._pending, 0
    with ctx.uow() as uow:
        row = uow.session.execute(
            update(Job)
            .where(
                Job.id == tracker.job_id,
                Job.state == JobState.RUNNING,
                Job.attempts == tracker.attempt,
            )
            .values(
                parts_done=Job.parts_done + 1,
                done=Job.done + pending,
                heartbeat_at=ctx.now(),
            )
            .returning(Job.parts_done, Job.parts_total)
        ).first()
        uow.commit()
    if row is None:
        raise JobCancelled()
    return bool(row.parts_done == row.parts_total)


def keep_result(
    ctx: Context, session: Session, job_id: int, attempt: int, output: kinds.Output
) -> None:
    """Make `output` the job's result in the caller's transaction: the object first (under
    this attempt's folder: storage is not transactional), then the job row, succeeded and
    pointing at it, which the caller commits with its own writes (an import's rows), so
    both are kept or neither. Raises JobCancelled, the object deleted, when the job is no
    longer this attempt's (cancelled, or taken over by a retry): roll back then."""
    assert ctx.storage is not None
    key = result_key(job_id, attempt, output.ascii_name)
    ctx.storage.put(key, output.data, output.content_type)
    now = ctx.now()
    keep = timedelta(hours=ctx.settings.job_result_ttl_hours)
    if output.keep is not None:
        keep = min(keep, output.keep)
    total = Job.total if output.total is None else output.total
    done = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.state == JobState.RUNNING, Job.attempts == attempt)
        .values(
            state=JobState.SUCCEEDED,
            finished_at=now,
            heartbeat_at=now,
            total=total,
            done=func.coalesce(total, Job.done),
            message="已完成",
            result_key=key,
            result_name=output.name,
            result_type=output.content_type,
            result_size=len(output.data),
            result_summary=output.summary,
            result_expires_at=now + keep,
        )
    ).rowcount
    if not done:  # cancelled meanwhile: keep nothing
        ctx.storage.delete(key)
        raise JobCancelled()
    output.kept = True


def _succeed(ctx: Context, job_id: int, attempt: int, output: kinds.Output) -> None:
    try:
        with ctx.uow() as uow:
            keep_result(ctx, uow.session, job_id, attempt, output)
            uow.commit()
    except JobCancelled:
        log.info("job %s: cancelled before its result was kept", job_id)
    _drop_input(ctx, job_id)


def _fail(ctx: Context, job_id: int, attempt: int, exc: BaseException) -> None:
    if isinstance(exc, DomainError | StorageError):
        log.info("job %s failed: %s", job_id, exc)
    else:
        log.exception("job %s failed", job_id)
    with ctx.uow() as uow:
        uow.session.execute(
            update(Job)
            .where(Job.id == job_id, Job.state == JobState.RUNNING, Job.attempts == attempt)
            .values(
                state=JobState.FAILED,
                finished_at=ctx.now(),
                message="失败",
                error=error_object(exc),
            )
        )
        uow.commit()
    _drop_attempt(ctx, job_id, attempt)
    _drop_input(ctx, job_id)


def _drop_attempt(ctx: Context, job_id: int, attempt: int) -> None:
    """What an attempt that did not finish left in storage (a result written before a
    commit that never came); the job's own result, if it points there, stays."""
    if ctx.storage is None:
        return
    with ctx.read() as uow:
        kept = uow.session.scalar(select(Job.result_key).where(Job.id == job_id))
    try:
        for info in list(ctx.storage.iter_objects(attempt_prefix(job_id, attempt))):
            if info.key != kept:
                ctx.storage.delete(info.key)
    except StorageError:
        log.warning("job %s: attempt %s's objects left behind", job_id, attempt)


def _drop_input(ctx: Context, job_id: int) -> None:
    """A finished job's uploaded input is no longer needed (the collector retries)."""
    with ctx.read() as uow:
        key = uow.session.scalar(select(Job.input_key).where(Job.id == job_id))
    if not key or ctx.storage is None:
        return
    try:
        ctx.storage.delete(key)
    except StorageError:
        log.warning("job %s: input %s left for the collector", job_id, key)
        return
    with ctx.uow() as uow:
        uow.session.execute(update(Job).where(Job.id == job_id).values(input_key=None))
        uow.commit()


# --- the reaper and the collector (periodic) --------------------------------------------


@dataclass
class ReapReport:
    retried: int = 0
    failed: int = 0
    requeued: int = 0


def reap(ctx: Context) -> ReapReport:
    """Jobs whose consumer went silent: retried while attempts remain, else failed; queued
    jobs whose message was lost (a queue restarted) are handed to the queue again."""
    report = ReapReport()
    now = ctx.now()
    cutoff = now - timedelta(seconds=ctx.settings.job_stale_after_seconds)
    with ctx.read() as uow:
        stale = uow.session.execute(
            select(Job.id, Job.state, Job.attempts).where(
                Job.state.in_((JobState.RUNNING, JobState.QUEUED)), Job.heartbeat_at < cutoff
            )
        ).all()
    queue = queue_of(ctx)
    for job_id, state, attempts in stale:
        silent = (Job.id == job_id, Job.state == state, Job.heartbeat_at < cutoff)
        if state is JobState.QUEUED:
            values: dict[str, Any] = {"heartbeat_at": now}
        elif attempts < ctx.settings.job_max_attempts:
            values = {
                "state": JobState.QUEUED,
                "heartbeat_at": now,
                "message": "执行中断，已重新排队",
                "note": Job.note + f"{now:%Y-%m-%dT%H:%M:%SZ} attempt {attempts} went silent\n",
            }
        else:
            values = {
                "state": JobState.FAILED,
                "finished_at": now,
                "message": "失败",
                "error": WORKER_LOST,
            }
        with ctx.uow() as uow:
            changed = uow.session.execute(update(Job).where(*silent).values(**values)).rowcount
            uow.commit()
        if not changed:
            continue  # it beat meanwhile
        if state is JobState.RUNNING:
            _drop_attempt(ctx, job_id, attempts)
        if values.get("state") is JobState.FAILED:
            report.failed += 1
            _drop_input(ctx, job_id)
            continue
        if state is JobState.QUEUED:
            report.requeued += 1
        else:
            report.retried += 1
        queue.enqueue(job_id)
    return report


def collect(ctx: Context) -> int:
    """Delete expired results (and inputs of finished jobs); returns how many objects went."""
    assert ctx.storage is not None
    now = ctx.now()
    with ctx.read() as uow:
        expired = uow.session.execute(
            select(Job.id, Job.result_key).where(
                Job.result_key.is_not(None), Job.result_expires_at < now
            )
        ).all()
        leftovers = uow.session.execute(
            select(Job.id, Job.input_key).where(
                Job.input_key.is_not(None), Job.state.in_(FINISHED)
            )
        ).all()
    deleted = 0
    for job_id, key in expired:
        ctx.storage.delete(key)  # a missing object is no error
        with ctx.uow() as uow:
            uow.session.execute(update(Job).where(Job.id == job_id).values(result_key=None))
            uow.commit()
        deleted += 1
    for job_id, key in leftovers:
        ctx.storage.delete(key)  # a missing object is no error
        with ctx.uow() as uow:
            uow.session.execute(update(Job).where(Job.id == job_id).values(input_key=None))
            uow.commit()
        deleted += 1
    return deleted
