"""`Idempotency-Key`: a retried write answers like the first one, inside the same transaction.

The record of the outcome is written in the transaction that does the work, so either both
land or neither; a concurrent duplicate loses on the unique key and replays the winner.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from service.core.context import Context
from service.core.errors import ValidationFailed
from service.core.models import IdempotencyRecord


class IdempotencyKeyReused(ValidationFailed):
    code = "idempotency_key_reused"
    message = "该请求编号已用于另一份不同的提交"
    message_en = "This Idempotency-Key was already used with a different request"


ANONYMOUS = "anon"


@dataclass(frozen=True)
class IdempotencyKey:
    """Who sent the key, the key, and a fingerprint of the request it came with."""

    actor_key: str
    key: str
    fingerprint: str
    # Anonymous writes only: the client's own key, never stored (see `anonymous`).
    sealing_key: bytes | None = field(default=None, repr=False, compare=False)

    @staticmethod
    def of(actor_key: str, key: str, method: str, path: str, body: bytes) -> IdempotencyKey:
        """Build from the raw request parts."""
        digest = hashlib.sha256(b"\n".join([method.encode(), path.encode(), body])).hexdigest()
        return IdempotencyKey(actor_key=actor_key, key=key, fingerprint=digest)

    @staticmethod
    def anonymous(key: str, method: str, path: str, body: bytes) -> IdempotencyKey:
        """The key of an anonymous write (举报人信息保护): recorded under no caller at all (not
        even a keyed hash of one, which whoever holds the secret could recompute for every
        user), only the key's hash; what a retry must be answered with (the receipt key) is
        sealed with the client's key, which the database never sees."""
        hashed = hashlib.sha256(key.encode()).hexdigest()
        return replace(
            IdempotencyKey.of(ANONYMOUS, hashed, method, path, body), sealing_key=key.encode()
        )

    def seal(self, extra: dict[str, Any]) -> dict[str, Any]:
        """What to store of a write's extra answer."""
        if self.sealing_key is None or not extra:
            return extra
        plain = json.dumps(extra, separators=(",", ":")).encode()
        return {"sealed": _xor(plain, self._pad(len(plain))).hex()}

    def unseal(self, stored: dict[str, Any]) -> dict[str, Any]:
        """The extra answer from what was stored (see `seal`)."""
        if self.sealing_key is None or "sealed" not in stored:
            return stored
        sealed = bytes.fromhex(stored["sealed"])
        return dict(json.loads(_xor(sealed, self._pad(len(sealed)))))

    def _pad(self, length: int) -> bytes:
        # A keystream from HMAC-SHA256 under the client's key: one record, one pad.
        assert self.sealing_key is not None
        blocks = (
            hmac.new(
                self.sealing_key, self.fingerprint.encode() + i.to_bytes(4, "big"), "sha256"
            ).digest()
            for i in range(length // 32 + 1)
        )
        return b"".join(blocks)[:length]


def _xor(data: bytes, pad: bytes) -> bytes:
    return bytes(a ^ b for a, b in zip(data, pad, strict=True))


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
    return Replay(record.resource_id, record.status_code, idem.unseal(dict(record.extra or {})))


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
            extra=idem.seal(extra or {}),
        )
    )


# Rows deleted per transaction: short transactions, no long lock on a busy table.
_PURGE_BATCH = 5_000


def purge(ctx: Context, older_than: timedelta, *, dry_run: bool = False) -> int:
    """Forget keys recorded more than `older_than` ago (IDEMPOTENCY_TTL_HOURS, from cron):
    a retry after that is a new request. Returns how many were (or would be) deleted."""
    if older_than <= timedelta(0):
        raise ValueError("older_than must be positive")
    expired = IdempotencyRecord.created_at < ctx.now() - older_than
    if dry_run:
        with ctx.read() as uow:
            return uow.session.scalar(select(func.count()).where(expired)) or 0
    deleted = 0
    while True:
        with ctx.uow() as uow:
            batch = select(IdempotencyRecord.id).where(expired).limit(_PURGE_BATCH)
            ids = list(uow.session.scalars(batch))
            if ids:
                uow.session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.id.in_(ids)))
            uow.commit()
        deleted += len(ids)
        if len(ids) < _PURGE_BATCH:
            return deleted
