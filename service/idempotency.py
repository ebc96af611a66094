"""`Idempotency-Key`: a retried write answers like the first one, inside the same transaction.

The record of the outcome is written in the transaction that does the work, so either both
land or neither; a concurrent duplicate loses on the unique key and replays the winner.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.errors import ValidationFailed
from service.models import IdempotencyRecord


class IdempotencyKeyReused(ValidationFailed):
    code = "idempotency_key_reused"
    message = "该请求编号已用于另一份不同的提交"
    message_en = "This Idempotency-Key was already used with a different request"


@dataclass(frozen=True)
class IdempotencyKey:
    """Who sent the key, the key, and a fingerprint of the request it came with."""

    actor_key: str
    key: str
    fingerprint: str

    @staticmethod
    def of(actor_key: str, key: str, method: str, path: str, body: bytes) -> IdempotencyKey:
        """Build from the raw request parts."""
        digest = hashlib.sha256(b"\n".join([method.encode(), path.encode(), body])).hexdigest()
        return IdempotencyKey(actor_key=actor_key, key=key, fingerprint=digest)


@dataclass
class Replay:
    resource_id: int | None
    status_code: int
    extra: dict[str, Any] = field(default_factory=dict)


def replay(session: Session, idem: IdempotencyKey | None) -> Replay | None:
    """The stored outcome for this key, if any; a different request under it is a 422."""
    if idem is None:
        return None
    record = session.scalar(
        select(IdempotencyRecord).where(
            IdempotencyRecord.actor_key == idem.actor_key, IdempotencyRecord.key == idem.key
        )
    )
    if record is None:
        return None
    if record.fingerprint != idem.fingerprint:
        raise IdempotencyKeyReused()
    return Replay(record.resource_id, record.status_code, dict(record.extra or {}))


def remember(
    session: Session,
    idem: IdempotencyKey | None,
    *,
    status_code: int,
    resource_id: int | None,
    extra: dict[str, Any] | None = None,
) -> None:
    """Record the outcome in the current transaction."""
    if idem is None:
        return
    session.add(
        IdempotencyRecord(
            actor_key=idem.actor_key,
            key=idem.key,
            fingerprint=idem.fingerprint,
            status_code=status_code,
            resource_id=resource_id,
            extra=extra or {},
        )
    )
