"""QR codes and their scan log."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.core.clock import utcnow
from service.core.models import Base, UTCDateTime, enum_column
from service.directory.models import Enterprise, Point
from uploads_schema.vocabulary import (
    QrStatus,
)


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
    """One scan of a QR code; the token itself is never stored here or logged, nor who
    scanned (a signed-in scan just before an anonymous report would name its author)."""

    __tablename__ = "scan_logs"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    qrcode_id: Mapped[int] = mapped_column(ForeignKey("qr_codes.id"))
    ip: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(300), default="")
    outcome: Mapped[str] = mapped_column(String(16), default="ok")  # ok | revoked
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (Index("ix_scan_logs_qrcode_created", "qrcode_id", "created_at"),)
