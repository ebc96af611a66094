"""Check-ins (扫码打卡)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Index,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from service.core.clock import utcnow
from service.core.models import Base, UTCDateTime, enum_column
from uploads_schema.vocabulary import (
    CheckinFlag,
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


