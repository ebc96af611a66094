"""The job resource and the claims that make periodic work run once per period."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from service.core.clock import utcnow
from service.core.models import Base, UTCDateTime, enum_column


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


FINISHED = frozenset({JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED})


class Job(Base):
    """One long operation asked for by a user, run by whichever consumer is free."""

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    creator_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    # The creator's role and scope when asked (audit); the job runs with their scope as it
    # is when it runs, so a narrowed account never gets more than it may see.
    creator_role: Mapped[str] = mapped_column(String(32))
    creator_scope: Mapped[str] = mapped_column(String(255), default="")
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    # sha256 of kind and params: the same request while one is pending reuses that job.
    params_hash: Mapped[str] = mapped_column(String(64))
    state: Mapped[JobState] = mapped_column(enum_column(JobState, "job_state"))
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int | None] = mapped_column(Integer)
    message: Mapped[str] = mapped_column(String(255), default="")
    # A split job (posters) counts its parts; the last part to finish assembles the result.
    parts_total: Mapped[int] = mapped_column(Integer, default=0)
    parts_done: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    input_key: Mapped[str | None] = mapped_column(String(255))  # an uploaded file to import
    result_key: Mapped[str | None] = mapped_column(String(255))
    result_name: Mapped[str | None] = mapped_column(String(255))  # the Chinese file name
    result_type: Mapped[str | None] = mapped_column(String(128))
    result_size: Mapped[int | None] = mapped_column(Integer)
    result_summary: Mapped[dict | None] = mapped_column(JSON)
    result_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    error: Mapped[dict | None] = mapped_column(JSON)  # the SPEC §5 error object
    note: Mapped[str] = mapped_column(Text, default="")  # why it was retried (operators)

    __table_args__ = (
        Index("ix_jobs_state_heartbeat_at", "state", "heartbeat_at"),
        Index("ix_jobs_result_expires_at", "result_expires_at"),
        Index("ix_jobs_creator_id_params_hash", "creator_id", "params_hash"),
    )


class PeriodicClaim(Base):
    """Who ran a periodic task for one period: the unique key lets exactly one consumer of
    all boxes claim it, whatever the queue's schedulers enqueue."""

    __tablename__ = "periodic_claims"

    id: Mapped[int] = mapped_column(primary_key=True)
    task: Mapped[str] = mapped_column(String(64))
    period: Mapped[str] = mapped_column(String(32))  # e.g. "2026-12-04T13:55Z"
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    claimed_by: Mapped[str] = mapped_column(String(128), default="")
    outcome: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (UniqueConstraint("task", "period"),)
