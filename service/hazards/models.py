"""Hazards, their hash-chained events, attached photos and daily numbers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.core.clock import utcnow
from service.core.models import Base, UTCDateTime, enum_column
from service.directory.models import Enterprise
from uploads_schema.vocabulary import (
    OPEN_STATUSES,
    HazardAction,
    HazardCategory,
    HazardLevel,
    HazardOrigin,
    HazardSource,
    HazardStatus,
    MediaRole,
)

# The open statuses as SQL, for the partial index: "status IN ('reported', ...)". The text
# must match what migration 0005 created, or the index needs a new migration.
OPEN_STATUS_SQL = "status IN ({})".format(", ".join(f"'{s.value}'" for s in OPEN_STATUSES))


class Hazard(Base):
    """隐患: one reported hazard and where it stands in rectify → verify → close.

    `status` changes only through `service.workflow.apply`, which also appends the
    hash-chained event and bumps `version` (optimistic concurrency).
    """

    __tablename__ = "hazards"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)  # YH320412-20261122-0007
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    point_id: Mapped[int | None] = mapped_column(ForeignKey("points.id"))
    qrcode_id: Mapped[int | None] = mapped_column(ForeignKey("qr_codes.id"))
    grid_id: Mapped[int] = mapped_column(ForeignKey("grids.id"), index=True)
    # the enterprise's, at report time
    region_path: Mapped[str] = mapped_column(String(255), active_history=True)
    source: Mapped[HazardSource] = mapped_column(enum_column(HazardSource, "hazard_source"))
    origin: Mapped[HazardOrigin] = mapped_column(enum_column(HazardOrigin, "hazard_origin"))
    category: Mapped[HazardCategory] = mapped_column(enum_column(HazardCategory, "hazard_category"))
    description: Mapped[str] = mapped_column(Text)
    # active_history: the daily rollup (service.rollup) needs the old value of every column
    # it counts, even when it was not loaded before being set.
    level: Mapped[HazardLevel] = mapped_column(
        enum_column(HazardLevel, "hazard_level"), default=HazardLevel.GENERAL, active_history=True
    )
    status: Mapped[HazardStatus] = mapped_column(
        enum_column(HazardStatus, "hazard_status"),
        default=HazardStatus.REPORTED,
        active_history=True,
    )
    version: Mapped[int] = mapped_column(Integer, default=1)
    # Head of the event chain, kept on the row so appending needs no extra query.
    event_seq: Mapped[int] = mapped_column(Integer, default=0)
    last_event_hash: Mapped[str] = mapped_column(String(64), default="0" * 64)
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    receipt_key_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    lat: Mapped[float | None] = mapped_column(Float)
    lng: Mapped[float | None] = mapped_column(Float)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    deadline: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # for 按期整改率 (an approved extension moves `deadline` only)
    original_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime(), active_history=True)
    extension_until: Mapped[datetime | None] = mapped_column(UTCDateTime())  # pending request
    extension_reason: Mapped[str | None] = mapped_column(Text)
    plan: Mapped[dict | None] = mapped_column(JSON)  # 五落实: 责任人, 措施, 资金, 时限, 预案
    supervised: Mapped[bool] = mapped_column(Boolean, default=False)  # 挂牌督办
    reopen_count: Mapped[int] = mapped_column(Integer, default=0, active_history=True)
    rejected_reason: Mapped[str | None] = mapped_column(Text)
    rejected_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    fix_note: Mapped[str | None] = mapped_column(Text)
    # the latest fix's; for a closed hazard the accepted one's (按期 counts by it)
    fix_submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), active_history=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), active_history=True)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # What the overdue sweep has done (service.hazards.overdue); overdue itself is computed
    # (service.hazards.deadlines), never stored.
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, active_history=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    enterprise: Mapped[Enterprise] = relationship(lazy="joined")

    __table_args__ = (
        # Statistics: a subtree (path prefix) and a period, covering what the aggregates
        # read, so they are index-only scans on PostgreSQL; also serves plain scoping.
        Index(
            "ix_hazards_region_path_created",
            "region_path",
            "created_at",
            postgresql_ops={"region_path": "text_pattern_ops"},
            postgresql_include=[
                "status",
                "level",
                "deadline",
                "original_deadline",
                "fix_submitted_at",
                "closed_at",
                "reopen_count",
                "grid_id",
                "enterprise_id",
                "id",
            ],
        ),
        Index("ix_hazards_status_deadline", "status", "deadline"),
        Index("ix_hazards_created_at", "created_at"),
        # The "now" figures next to the daily rollup (overdue, awaiting verification): open
        # hazards only, a small slice of a year.
        Index(
            "ix_hazards_open_region_path_created",
            "region_path",
            "created_at",
            postgresql_ops={"region_path": "text_pattern_ops"},
            postgresql_include=["status", "deadline", "fix_submitted_at", "level", "grid_id"],
            postgresql_where=text(OPEN_STATUS_SQL),
            sqlite_where=text(OPEN_STATUS_SQL),
        ),
    )


class HazardEvent(Base):
    """Append-only history; each event's hash covers the previous one (tamper evidence)."""

    __tablename__ = "hazard_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    hazard_id: Mapped[int] = mapped_column(ForeignKey("hazards.id"))
    seq: Mapped[int] = mapped_column(Integer)
    action: Mapped[HazardAction] = mapped_column(enum_column(HazardAction, "hazard_action"))
    # Distinct names: the CHECK constraints are named after them, per table.
    from_status: Mapped[HazardStatus | None] = mapped_column(
        enum_column(HazardStatus, "from_status")
    )
    to_status: Mapped[HazardStatus] = mapped_column(enum_column(HazardStatus, "to_status"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_role: Mapped[str | None] = mapped_column(String(32))
    note: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    __table_args__ = (UniqueConstraint("hazard_id", "seq"),)


class HazardMedia(Base):
    """A photo attached to a hazard; a media row is attached at most once."""

    __tablename__ = "hazard_media"

    id: Mapped[int] = mapped_column(primary_key=True)
    hazard_id: Mapped[int] = mapped_column(ForeignKey("hazards.id"), index=True)
    media_id: Mapped[int] = mapped_column(ForeignKey("media.id"), unique=True)
    role: Mapped[MediaRole] = mapped_column(enum_column(MediaRole, "media_role"))
    position: Mapped[int] = mapped_column(Integer, default=0)
    event_seq: Mapped[int] = mapped_column(Integer)


class HazardCounter(Base):
    """Daily sequence per district for human-readable numbers; row-locked on increment."""

    __tablename__ = "hazard_counters"

    scope: Mapped[str] = mapped_column(String(32), primary_key=True)  # "320412-20261122"
    value: Mapped[int] = mapped_column(Integer, default=0)
