"""Queueing notifications into the outbox table, in the caller's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.hazards.models import Hazard
from service.notifications.models import Notification
from uploads_schema.vocabulary import NotificationKind


def enqueue(
    session: Session,
    *,
    kind: NotificationKind,
    hazard: Hazard,
    recipient_id: int | None,
    dedup_key: str,
    payload: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> bool:
    """Queue one message about a hazard unless one with this dedup key exists; True if
    queued."""
    return _add(
        session,
        kind=kind,
        hazard_id=hazard.id,
        recipient_id=recipient_id,
        dedup_key=dedup_key,
        payload={
            "number": hazard.number,
            "status": hazard.status.value,
            "enterprise": hazard.enterprise.name if hazard.enterprise else "",
            "deadline": hazard.deadline.isoformat() if hazard.deadline else None,
            **(payload or {}),
        },
        at=at,
    )


def enqueue_about(
    session: Session,
    *,
    kind: NotificationKind,
    recipient_id: int,
    dedup_key: str,
    payload: dict[str, Any],
    at: datetime | None = None,
) -> bool:
    """Queue one message about something other than a hazard (a filed document); True if
    queued."""
    return _add(
        session,
        kind=kind,
        hazard_id=None,
        recipient_id=recipient_id,
        dedup_key=dedup_key,
        payload=payload,
        at=at,
    )


def _add(
    session: Session,
    *,
    kind: NotificationKind,
    hazard_id: int | None,
    recipient_id: int | None,
    dedup_key: str,
    payload: dict[str, Any],
    at: datetime | None,
) -> bool:
    if recipient_id is None:
        return False
    exists = session.scalar(select(Notification.id).where(Notification.dedup_key == dedup_key))
    if exists is not None:
        return False
    session.add(
        Notification(
            kind=kind,
            hazard_id=hazard_id,
            recipient_id=recipient_id,
            dedup_key=dedup_key,
            payload=payload,
            # the caller's clock, so tests with a fixed time see the message as due
            **({"created_at": at, "next_attempt_at": at} if at is not None else {}),
        )
    )
    return True
