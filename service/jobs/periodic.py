"""Periodic work scheduled by the queue, run exactly once per period across all boxes.

Every consumer started with its scheduler enqueues each periodic task when it is due, so
with several boxes a task is enqueued several times per period. The first consumer to
insert the (task, period) claim runs it; the others find the claim taken and skip. The
claim is a row in the database every box shares, so this holds with Redis or without.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError

from service.core import idempotency
from service.core.context import Context
from service.core.db import snapshot_session
from service.documents import filing
from service.hazards import overdue
from service.inspections import rollup as task_rollup
from service.inspections import tasks as inspection_tasks
from service.jobs import running
from service.jobs.models import PeriodicClaim
from service.media import photos as media
from service.notifications import delivery
from service.statistics import rollup

log = logging.getLogger(__name__)


def _sweep(ctx: Context) -> str:
    r = overdue.sweep(ctx)
    return (
        f"{r.marked_overdue} overdue, {r.escalated_to_inspectors} to inspectors, "
        f"{r.escalated_to_supervisors} to supervisors, {r.verification_late} late "
        f"verifications, {r.notifications_queued} notifications queued"
    )


def _outbox(ctx: Context) -> str:
    r = delivery.send_pending(ctx, delivery.build_sender(ctx), limit=500)
    return f"{r.sent} sent, {r.skipped} skipped, {r.failed} failed, {r.retry} to retry"


def _media_gc(ctx: Context) -> str:
    hours = ctx.settings.media_pending_ttl_hours
    r = media.collect_garbage(ctx, timedelta(hours=hours))
    return f"{r.rows_deleted} pending photos, {r.objects_deleted} objects deleted"


def _idempotency_purge(ctx: Context) -> str:
    hours = ctx.settings.idempotency_ttl_hours
    return f"{idempotency.purge(ctx, timedelta(hours=hours))} keys forgotten"


def _rollup_check(ctx: Context) -> str:
    with snapshot_session(ctx.session_factory) as session:
        hazards = rollup.differences(session)
        tasks = task_rollup.differences(session)
    # Operators act on these (flask stats rebuild-rollup); the claim keeps the counts too.
    if hazards:
        log.error("hazard rollup differs from a recount in %d places", len(hazards))
    if tasks:
        log.error("task rollup differs from a recount in %d places", len(tasks))
    return f"{len(hazards)} differences in the hazard rollup, {len(tasks)} in the task rollup"


def _inspections_generate(ctx: Context) -> str:
    # Hourly, a week ahead: a checklist attached today has its tasks within the hour.
    return f"{inspection_tasks.generate(ctx, days=7)} inspection tasks created"


def _reap_jobs(ctx: Context) -> str:
    r = running.reap(ctx)
    return f"{r.retried} retried, {r.failed} failed, {r.requeued} requeued"


def _collect_results(ctx: Context) -> str:
    return f"{running.collect(ctx)} objects deleted"


def _forget_claims(ctx: Context) -> str:
    cutoff = ctx.now() - timedelta(days=CLAIMS_KEPT_DAYS)
    with ctx.uow() as uow:
        gone = uow.session.execute(
            delete(PeriodicClaim).where(PeriodicClaim.claimed_at < cutoff)
        ).rowcount
        uow.commit()
    return f"{gone} claims forgotten"


def _documents(ctx: Context) -> str:
    return str(filing.build_due(ctx))


CLAIMS_KEPT_DAYS = 30


@dataclass(frozen=True)
class Periodic:
    """A periodic task: its name, how often (minutes, a divisor of a day), what it does;
    `offset_minutes` moves its periods' start off midnight UTC (a daily task at 20:00 UTC)."""

    name: str
    every_minutes: int
    work: Callable[[Context], str]
    offset_minutes: int = 0

    def due(self, moment: datetime) -> bool:
        """Is a period starting at this minute (UTC)?"""
        return (moment.hour * 60 + moment.minute - self.offset_minutes) % self.every_minutes == 0

    def period(self, moment: datetime) -> str:
        """The period `moment` falls in, as the claim names it."""
        shifted = moment.astimezone(UTC) - timedelta(minutes=self.offset_minutes)
        minutes = (shifted.hour * 60 + shifted.minute) // self.every_minutes * self.every_minutes
        start = shifted.replace(hour=minutes // 60, minute=minutes % 60, second=0, microsecond=0)
        return (start + timedelta(minutes=self.offset_minutes)).strftime("%Y-%m-%dT%H:%MZ")


# The cron lines of the README, as the queue's scheduler runs them (UTC; 20:00 UTC is 04:00
# China time, when nobody reports).
SCHEDULE: tuple[Periodic, ...] = (
    Periodic("outbox_send", 1, _outbox),
    Periodic("jobs_reap", 1, _reap_jobs),
    Periodic("hazards_sweep", 15, _sweep),
    Periodic("jobs_collect", 60, _collect_results),
    Periodic("inspections_generate", 60, _inspections_generate),
    Periodic("media_gc", 60, _media_gc),
    Periodic("idempotency_purge", 1440, _idempotency_purge),
    Periodic("rollup_check", 1440, _rollup_check),
    Periodic("claims_forget", 1440, _forget_claims),
    # 04:00 China time: last month's, week's and quarter's documents are filed on the 1st,
    # each Monday and a quarter's first day (and caught up the next day if that run failed).
    Periodic("documents_build", 1440, _documents, offset_minutes=20 * 60),
)
BY_NAME = {p.name: p for p in SCHEDULE}


def run_once(ctx: Context, name: str, moment: datetime | None = None) -> str | None:
    """Run a periodic task for the period of `moment` (now) unless some consumer already
    claimed it; returns what it did, or None when it was not ours to run."""
    task = BY_NAME[name]
    period = task.period(moment or ctx.now())
    with ctx.uow() as uow:
        claim = PeriodicClaim(
            task=name, period=period, claimed_at=ctx.now(), claimed_by=running.worker_name()
        )
        uow.session.add(claim)
        try:
            uow.commit()
        except IntegrityError:
            return None  # another consumer has it
    outcome = task.work(ctx)
    with ctx.uow() as uow:
        uow.session.execute(
            update(PeriodicClaim)
            .where(PeriodicClaim.task == name, PeriodicClaim.period == period)
            .values(outcome=outcome[:1000])
        )
        uow.commit()
    log.info("periodic %s %s: %s", name, period, outcome)
    return outcome
