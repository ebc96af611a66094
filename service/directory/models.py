"""Directory tables: regions, grids and their inspectors, enterprises, users, points."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
    false,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.core.clock import utcnow
from service.core.models import Base, UTCDateTime, enum_column
from uploads_schema.vocabulary import (
    ControlLevel,
    Industry,
    PointKind,
    RegionLevel,
    RiskColor,
    Role,
)


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
    # Set with a one-time password (import, reset): until the user picks their own, every
    # call but POST /auth/change-password answers 403 password_change_required.
    # A server default only, no Python one: an INSERT that does not name the column works
    # on schemas from before it too (tests build worlds at old revisions); the code paths
    # that create accounts set it explicitly.
    must_change_password: Mapped[bool] = mapped_column(Boolean, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    enterprise: Mapped[Enterprise | None] = relationship()
    region: Mapped[Region | None] = relationship()
    # Eager: every user response lists grid ids, and the actor needs them on each request.
    grids: Mapped[list[Grid]] = relationship(
        secondary=grid_inspectors, back_populates="inspectors", order_by="Grid.id", lazy="selectin"
    )

    # Server defaults are not fetched back after an INSERT (RETURNING would name the column
    # also on schemas from before it); it loads on first access like any expired attribute.
    __mapper_args__: ClassVar[dict[str, Any]] = {"eager_defaults": False}

    # Not a column: until when failed password logins lock the account (None: not locked),
    # set by the use cases that answer an admin with accounts (service.directory.users).
    locked_until = None


class Point(Base):
    """A named place inside an enterprise (车间, 仓库 …) that can carry its own QR code; also
    the enterprise's risk point (风险点) of 双重预防, graded by its assessments
    (service.risks) and checked by the tasks of its checklists (service.inspections)."""

    __tablename__ = "points"

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    # Points named only by a QR code issued for them count as 场所区域.
    kind: Mapped[PointKind] = mapped_column(
        enum_column(PointKind, "point_kind"), default=PointKind.AREA, server_default="area"
    )
    location: Mapped[str] = mapped_column(String(200), default="", server_default="")
    lat: Mapped[float | None] = mapped_column(Float)
    lng: Mapped[float | None] = mapped_column(Float)
    department: Mapped[str] = mapped_column(String(100), default="", server_default="")
    responsible_person: Mapped[str] = mapped_column(String(100), default="", server_default="")
    control_level: Mapped[ControlLevel | None] = mapped_column(
        enum_column(ControlLevel, "control_level")
    )
    # [{"type": MeasureType value, "content": text}, …]
    measures: Mapped[list[dict] | None] = mapped_column(JSON)
    # The latest assessment's level (red/orange/yellow/blue); None until assessed.
    risk_level: Mapped[RiskColor | None] = mapped_column(enum_column(RiskColor, "point_risk_level"))
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (UniqueConstraint("enterprise_id", "name"),)
