"""SQLAlchemy 2 typed models. Enum columns store values, never names."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy import Enum as SAEnum
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# The vocabulary is shared with the API schemas; it lives below both layers.
from uploads_schema.vocabulary import (
    INDUSTRY_LABELS,
    LEVEL_ORDER,
    RISK_LABELS,
    CheckinFlag,
    HazardAction,
    HazardCategory,
    HazardLevel,
    HazardOrigin,
    HazardSource,
    HazardStatus,
    Industry,
    MediaKind,
    MediaRole,
    MediaStatus,
    NotificationKind,
    NotificationStatus,
    QrStatus,
    RegionLevel,
    RiskColor,
    Role,
)

__all__ = [
    "HOUR_BUCKETS",
    "HOUR_EDGES",
    "INDUSTRY_LABELS",
    "LEVEL_ORDER",
    "OPEN_STATUS_SQL",
    "RISK_LABELS",
    "Base",
    "Checkin",
    "CheckinFlag",
    "Enterprise",
    "Grid",
    "Hazard",
    "HazardAction",
    "HazardCategory",
    "HazardCounter",
    "HazardEvent",
    "HazardLevel",
    "HazardMedia",
    "HazardOrigin",
    "HazardSource",
    "HazardStatus",
    "IdempotencyRecord",
    "Industry",
    "Media",
    "MediaKind",
    "MediaRole",
    "MediaStatus",
    "Notification",
    "NotificationKind",
    "NotificationStatus",
    "Point",
    "QrCode",
    "QrStatus",
    "Region",
    "RegionLevel",
    "RiskColor",
    "Role",
    "ScanLog",
    "User",
    "grid_inspectors",
    "hazard_daily",
    "hazard_monthly",
    "utcnow",
]


def utcnow() -> datetime:
    """Timezone-aware now in UTC; all stored times are UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC and always returns aware datetimes, also on SQLite (which drops tzinfo)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use timezone-aware UTC")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def enum_column(enum: type[StrEnum], name: str) -> SAEnum:
    """A portable VARCHAR + CHECK enum storing the member values."""
    return SAEnum(
        enum,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Region(Base):
    """A node of the administrative tree, keyed by its 12-digit statistical area code."""

    __tablename__ = "regions"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[RegionLevel] = mapped_column(enum_column(RegionLevel, "region_level"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"), index=True)
    # Materialized path of codes ("/320400000000/320412000000/"): a subtree is a prefix.
    path: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    parent: Mapped[Region | None] = relationship(remote_side=[id])

    __table_args__ = (
        Index("ix_regions_path", "path", postgresql_ops={"path": "text_pattern_ops"}),
    )


grid_inspectors = Table(
    "grid_inspectors",
    Base.metadata,
    Column("grid_id", ForeignKey("grids.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Grid(Base):
    """网格: a leaf unit under a community with inspectors assigned."""

    __tablename__ = "grids"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"), index=True)
    # Copy of the community's path, so subtree filters need no join.
    region_path: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    region: Mapped[Region] = relationship()
    inspectors: Mapped[list[User]] = relationship(
        secondary=grid_inspectors, back_populates="grids", order_by="User.id"
    )

    __table_args__ = (
        Index(
            "ix_grids_region_path",
            "region_path",
            postgresql_ops={"region_path": "text_pattern_ops"},
        ),
    )


class Enterprise(Base):
    """An enterprise on the books of the district safety office."""

    __tablename__ = "enterprises"

    id: Mapped[int] = mapped_column(primary_key=True)
    credit_code: Mapped[str] = mapped_column(String(18), unique=True)  # 统一社会信用代码
    # False when the GB 32100 checksum fails: kept, with a warning (early pilot codes fail it).
    credit_code_valid: Mapped[bool] = mapped_column(Boolean, default=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(300), default="")
    lat: Mapped[float | None] = mapped_column(Float)
    lng: Mapped[float | None] = mapped_column(Float)
    industry: Mapped[Industry] = mapped_column(enum_column(Industry, "industry"))
    risk_color: Mapped[RiskColor] = mapped_column(enum_column(RiskColor, "risk_color"))
    grid_id: Mapped[int] = mapped_column(ForeignKey("grids.id"), index=True)
    region_path: Mapped[str] = mapped_column(String(255))  # copy of the grid's, for scoping
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    grid: Mapped[Grid] = relationship()

    __table_args__ = (
        Index(
            "ix_enterprises_region_path",
            "region_path",
            postgresql_ops={"region_path": "text_pattern_ops"},
        ),
    )


class User(Base):
    """Anyone who logs in: by WeChat openid, or username + password for office staff."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    openid: Mapped[str | None] = mapped_column(String(64), unique=True)
    unionid: Mapped[str | None] = mapped_column(String(64))
    username: Mapped[str | None] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(String(100), default="")
    phone: Mapped[str] = mapped_column(String(32), default="")
    role: Mapped[Role] = mapped_column(enum_column(Role, "role"), default=Role.REPORTER)
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id"), index=True)
    region_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    token_version: Mapped[int] = mapped_column(Integer, default=0)  # bump to revoke all JWTs
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    enterprise: Mapped[Enterprise | None] = relationship()
    region: Mapped[Region | None] = relationship()
    # Eager: every user response lists grid ids, and the actor needs them on each request.
    grids: Mapped[list[Grid]] = relationship(
        secondary=grid_inspectors, back_populates="inspectors", order_by="Grid.id", lazy="selectin"
    )


class Point(Base):
    """A named place inside an enterprise (车间, 仓库 …) that can carry its own QR code."""

    __tablename__ = "points"

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (UniqueConstraint("enterprise_id", "name"),)


class QrCode(Base):
    """An issued QR code: an opaque token bound to an enterprise (and maybe a point)."""

    __tablename__ = "qr_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(32), unique=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    point_id: Mapped[int | None] = mapped_column(ForeignKey("points.id"), index=True)
    status: Mapped[QrStatus] = mapped_column(
        enum_column(QrStatus, "qr_status"), default=QrStatus.ACTIVE
    )
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    replaced_by_id: Mapped[int | None] = mapped_column(ForeignKey("qr_codes.id"))

    enterprise: Mapped[Enterprise] = relationship(lazy="joined")
    point: Mapped[Point | None] = relationship(lazy="joined")


class ScanLog(Base):
    """One scan of a QR code; the token itself is never stored here or logged."""

    __tablename__ = "scan_logs"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    qrcode_id: Mapped[int] = mapped_column(ForeignKey("qr_codes.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    ip: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(300), default="")
    outcome: Mapped[str] = mapped_column(String(16), default="ok")  # ok | revoked
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (Index("ix_scan_logs_qrcode_created", "qrcode_id", "created_at"),)


class Checkin(Base):
    """扫码打卡: an inspector's on-site scan with GPS; drives 检查覆盖率."""

    __tablename__ = "checkins"

    id: Mapped[int] = mapped_column(primary_key=True)
    qrcode_id: Mapped[int] = mapped_column(ForeignKey("qr_codes.id"))
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"))
    grid_id: Mapped[int] = mapped_column(ForeignKey("grids.id"))
    region_path: Mapped[str] = mapped_column(String(255))  # the enterprise's, at check-in time
    inspector_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    lat: Mapped[float] = mapped_column(Float)
    lng: Mapped[float] = mapped_column(Float)
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    distance_m: Mapped[float | None] = mapped_column(Float)
    flagged: Mapped[bool] = mapped_column(Boolean, default=False)
    flag_reason: Mapped[CheckinFlag | None] = mapped_column(
        enum_column(CheckinFlag, "checkin_flag")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        Index("ix_checkins_enterprise_created", "enterprise_id", "created_at"),
        Index("ix_checkins_grid_created", "grid_id", "created_at"),
        Index(
            "ix_checkins_region_path",
            "region_path",
            postgresql_ops={"region_path": "text_pattern_ops"},
        ),
    )


class Media(Base):
    """An uploaded photo: stripped, re-encoded, stored under content-addressed keys."""

    __tablename__ = "media"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[MediaKind] = mapped_column(enum_column(MediaKind, "media_kind"))
    status: Mapped[MediaStatus] = mapped_column(
        enum_column(MediaStatus, "media_status"), default=MediaStatus.PENDING
    )
    uploader_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)  # of the stored image bytes
    key: Mapped[str] = mapped_column(String(200))
    thumb_key: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(64))  # of the stored object
    source_type: Mapped[str] = mapped_column(String(64))  # sniffed type of the upload
    size_bytes: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    thumb_width: Mapped[int] = mapped_column(Integer)
    thumb_height: Mapped[int] = mapped_column(Integer)
    # Capture metadata stripped from the file, kept only when the uploader shares location.
    captured_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    gps_lat: Mapped[float | None] = mapped_column(Float)
    gps_lng: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    attached_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_media_status_created", "status", "created_at"),)


# The open statuses (service.hazards.OPEN_STATUSES) as SQL, for the partial index.
OPEN_STATUS_SQL = "status IN ('reported', 'rectifying', 'verifying')"


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
    # for 按期整改率
    original_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime(), active_history=True)
    extension_until: Mapped[datetime | None] = mapped_column(UTCDateTime())  # pending request
    extension_reason: Mapped[str | None] = mapped_column(Text)
    plan: Mapped[dict | None] = mapped_column(JSON)  # 五落实: 责任人, 措施, 资金, 时限, 预案
    supervised: Mapped[bool] = mapped_column(Boolean, default=False)  # 挂牌督办
    reopen_count: Mapped[int] = mapped_column(Integer, default=0, active_history=True)
    rejected_reason: Mapped[str | None] = mapped_column(Text)
    rejected_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    fix_note: Mapped[str | None] = mapped_column(Text)
    fix_submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), active_history=True)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    overdue: Mapped[bool] = mapped_column(Boolean, default=False)
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
                "closed_at",
                "reopen_count",
                "grid_id",
                "enterprise_id",
                "id",
            ],
        ),
        Index("ix_hazards_status_deadline", "status", "deadline"),
        Index("ix_hazards_created_at", "created_at"),
        # "Overdue now" next to the daily rollup: open hazards only, a small slice of a year.
        Index(
            "ix_hazards_open_region_path_created",
            "region_path",
            "created_at",
            postgresql_ops={"region_path": "text_pattern_ops"},
            postgresql_include=["deadline", "level", "grid_id"],
            postgresql_where=text(OPEN_STATUS_SQL),
            sqlite_where=text(OPEN_STATUS_SQL),
        ),
    )


# Upper edges (hours) of the hours-to-close histogram in `hazard_daily`; the last bucket
# is open-ended. p90_hours_to_close is reported as the edge of its bucket (README).
HOUR_EDGES = (4, 8, 12, 24, 48, 72, 96, 120, 168, 240, 360, 480, 720, 1080, 1440, 2160, 4320, 8760)
HOUR_BUCKETS = (*(f"h_le_{e}" for e in HOUR_EDGES), f"h_gt_{HOUR_EDGES[-1]}")


def _rollup_table(name: str, period: str) -> Table:
    """The statistics' counters per unit, period (a `Date`) and level."""
    return Table(
        name,
        Base.metadata,
        Column("unit_path", String(255), primary_key=True),
        Column(period, Date, primary_key=True),
        Column("level", enum_column(HazardLevel, "hazard_level"), primary_key=True),
        Column("reported", Integer, nullable=False),
        Column("rejected", Integer, nullable=False),
        Column("closed", Integer, nullable=False),
        Column("open", Integer, nullable=False),
        Column("closed_on_time", Integer, nullable=False),
        Column("reopens", Integer, nullable=False),
        Column("close_seconds", Float, nullable=False),  # over closed hazards with a closed_at
        *(Column(name, Integer, nullable=False) for name in HOUR_BUCKETS),
        # A region's units by path prefix and a period (the primary key's collation cannot
        # serve LIKE).
        Index(
            f"ix_{name}_unit_path_{period}",
            "unit_path",
            period,
            postgresql_ops={"unit_path": "text_pattern_ops"},
        ),
    )


# 隐患日汇总: per unit (the hazard's region path cut to street level), China day of report
# and level, the counters the statistics add up. Kept by service.rollup in the same
# transaction as every hazard write.
hazard_daily = _rollup_table("hazard_daily", "day")
# The same per calendar month (`month` is its first day): a year is 12 rows per unit and
# level instead of 365.
hazard_monthly = _rollup_table("hazard_monthly", "month")


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


class IdempotencyRecord(Base):
    """The outcome of a write done under an `Idempotency-Key`, to answer retries alike."""

    __tablename__ = "idempotency_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_key: Mapped[str] = mapped_column(String(64))  # "user:12" or "anon"
    key: Mapped[str] = mapped_column(String(128))
    fingerprint: Mapped[str] = mapped_column(String(64))  # sha256 of method, path and body
    status_code: Mapped[int] = mapped_column(Integer)
    resource_id: Mapped[int | None] = mapped_column(Integer)
    extra: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)

    __table_args__ = (UniqueConstraint("actor_key", "key"),)


class Notification(Base):
    """Outbox: a message to deliver (WeChat subscribe message or log), sent by a worker."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[NotificationKind] = mapped_column(
        enum_column(NotificationKind, "notification_kind")
    )
    hazard_id: Mapped[int | None] = mapped_column(ForeignKey("hazards.id"), index=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[NotificationStatus] = mapped_column(
        enum_column(NotificationStatus, "notification_status"), default=NotificationStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_error: Mapped[str | None] = mapped_column(String(300))
    # Makes queueing idempotent: the sweep may run twice, the message is queued once.
    dedup_key: Mapped[str] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_notifications_status_next", "status", "next_attempt_at"),)
