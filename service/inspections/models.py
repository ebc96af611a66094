"""Check-ins (扫码打卡), and the scheduled checks of 双重预防: checklists (排查清单), their
attachment to risk points, inspection tasks (排查任务) and their results."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.core.clock import utcnow
from service.core.models import Base, UTCDateTime, enum_column
from uploads_schema.vocabulary import (
    CheckinFlag,
    Frequency,
    Industry,
    ItemOutcome,
    Role,
    TaskStatus,
)


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


class ShiftSchedule(Base):
    """An enterprise's shift start times ("HH:MM", China time) for checks done 每班; without
    a row, shifts start at 08:00, 16:00 and 24:00."""

    __tablename__ = "shift_schedules"

    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), primary_key=True)
    starts: Mapped[list[str]] = mapped_column(JSON)


class Checklist(Base):
    """排查清单: a template of items, kept by an enterprise (`enterprise_id`) or shared by a
    region's office for the enterprises below it (`region_path`, maybe for one industry)."""

    __tablename__ = "checklists"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id"), index=True)
    region_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"))
    # The owner's path: the enterprise's, or the sharing region's (subtree = who may use it).
    region_path: Mapped[str] = mapped_column(String(255))
    industry: Mapped[Industry | None] = mapped_column(enum_column(Industry, "checklist_industry"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    items: Mapped[list[ChecklistItem]] = relationship(
        order_by="ChecklistItem.position",
        primaryjoin="and_(ChecklistItem.checklist_id == Checklist.id, ChecklistItem.active)",
        viewonly=True,
        lazy="selectin",
    )


class ChecklistItem(Base):
    """One item to check: what, by which standard (依据), how. Items answered in a task are
    retired (`active` False) rather than deleted when the list changes."""

    __tablename__ = "checklist_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    checklist_id: Mapped[int] = mapped_column(ForeignKey("checklists.id"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    content: Mapped[str] = mapped_column(Text)
    basis: Mapped[str] = mapped_column(Text, default="")  # 标准/依据
    method: Mapped[str] = mapped_column(Text, default="")  # 排查方法
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class PointChecklist(Base):
    """A checklist attached to a risk point: how often (频次) and who does it (a role at the
    enterprise, or a named person)."""

    __tablename__ = "point_checklists"

    id: Mapped[int] = mapped_column(primary_key=True)
    point_id: Mapped[int] = mapped_column(ForeignKey("points.id"))
    checklist_id: Mapped[int] = mapped_column(ForeignKey("checklists.id"), index=True)
    frequency: Mapped[Frequency] = mapped_column(enum_column(Frequency, "frequency"))
    assignee_role: Mapped[Role | None] = mapped_column(enum_column(Role, "assignee_role"))
    assignee_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        UniqueConstraint("point_id", "checklist_id"),
        # What a task's one composite key refers to.
        Index(
            "ix_point_checklists_id_point_checklist", "id", "point_id", "checklist_id", unique=True
        ),
    )


class InspectionTask(Base):
    """排查任务: one point × checklist × window × assignee. `status` is what was done; overdue
    is computed (the window ended before it was done, service.inspections.tasks)."""

    __tablename__ = "inspection_tasks"

    # A district makes millions a year: beyond a 32-bit id within a few years at scale.
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True
    )
    # One key checks the attachment, and that the point and checklist are its own (one
    # check a row when a week's tasks are generated, instead of one per column). The
    # enterprise, grid and assignee are copied from rows never deleted.
    attachment_id: Mapped[int] = mapped_column(Integer)
    point_id: Mapped[int] = mapped_column(Integer)
    checklist_id: Mapped[int] = mapped_column(Integer)
    enterprise_id: Mapped[int] = mapped_column(Integer)
    grid_id: Mapped[int] = mapped_column(Integer)
    region_path: Mapped[str] = mapped_column(String(255))  # the enterprise's, for scoping
    frequency: Mapped[Frequency] = mapped_column(enum_column(Frequency, "task_frequency"))
    window_start: Mapped[datetime] = mapped_column(UTCDateTime())
    window_end: Mapped[datetime] = mapped_column(UTCDateTime())  # exclusive
    # "role:enterprise_officer" or "user:12": part of the uniqueness of a task.
    assignee_key: Mapped[str] = mapped_column(String(40))
    assignee_role: Mapped[Role | None] = mapped_column(enum_column(Role, "task_assignee_role"))
    assignee_user_id: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[TaskStatus] = mapped_column(
        enum_column(TaskStatus, "task_status"), default=TaskStatus.PENDING
    )
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    lat: Mapped[float | None] = mapped_column(Float)
    lng: Mapped[float | None] = mapped_column(Float)
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    distance_m: Mapped[float | None] = mapped_column(Float)
    flagged: Mapped[bool] = mapped_column(Boolean, default=False)
    flag_reason: Mapped[CheckinFlag | None] = mapped_column(enum_column(CheckinFlag, "task_flag"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        ForeignKeyConstraint(
            ["attachment_id", "point_id", "checklist_id"],
            ["point_checklists.id", "point_checklists.point_id", "point_checklists.checklist_id"],
            name="fk_inspection_tasks_attachment",
        ),
        UniqueConstraint(
            "point_id",
            "checklist_id",
            "window_start",
            "assignee_key",
            name="uq_inspection_tasks_window",
        ),
        # Statistics: a subtree and a period of windows, covering what completion reads.
        Index(
            "ix_inspection_tasks_region_path_window",
            "region_path",
            "window_end",
            postgresql_ops={"region_path": "text_pattern_ops"},
            postgresql_include=["window_start", "status", "done_at", "enterprise_id", "grid_id"],
        ),
        # A point's state (失控) and its due tasks.
        Index("ix_inspection_tasks_point_window", "point_id", "window_end"),
    )


class TaskResult(Base):
    """One item's answer in a done task; a 不合格 item links the hazard it became."""

    __tablename__ = "task_results"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True
    )
    task_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), ForeignKey("inspection_tasks.id")
    )
    item_id: Mapped[int] = mapped_column(ForeignKey("checklist_items.id"))
    outcome: Mapped[ItemOutcome] = mapped_column(enum_column(ItemOutcome, "item_outcome"))
    note: Mapped[str] = mapped_column(Text, default="")
    media_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    hazard_id: Mapped[int | None] = mapped_column(ForeignKey("hazards.id"), unique=True)

    __table_args__ = (UniqueConstraint("task_id", "item_id"),)


# 排查任务日汇总: per unit (the task's region path cut to street level) and China day its
# window ends, the tasks and how many were done within the window and at all. Kept by
# service.inspections.rollup in the same transaction as every task write.
task_daily = Table(
    "task_daily",
    Base.metadata,
    Column("unit_path", String(255), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("tasks", Integer, nullable=False),
    Column("done_in_window", Integer, nullable=False),
    Column("done", Integer, nullable=False),
    # A region's units by path prefix and a period (the primary key's collation cannot
    # serve LIKE).
    Index(
        "ix_task_daily_unit_path_day",
        "unit_path",
        "day",
        postgresql_ops={"unit_path": "text_pattern_ops"},
    ),
)
