"""The notification outbox."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    ForeignKey,
    Index,
    Integer,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from service.core.clock import utcnow
from service.core.models import Base, UTCDateTime, enum_column
from uploads_schema.vocabulary import (
    NotificationKind,
    NotificationStatus,
)


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
