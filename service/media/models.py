"""Uploaded photos."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from service.core.clock import utcnow
from service.core.models import Base, UTCDateTime, enum_column
from uploads_schema.vocabulary import (
    MediaKind,
    MediaStatus,
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
    # Anonymous uploads from a scanned code (no uploader): the code, and a SHA-256 of the
    # scan session's upload token, which an anonymous report from that code must present.
    qrcode_id: Mapped[int | None] = mapped_column(ForeignKey("qr_codes.id"))
    upload_session: Mapped[str | None] = mapped_column(String(64), index=True)
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
