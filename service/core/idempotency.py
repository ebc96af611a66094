"""`Idempotency-Key`: a retried write answers like the first one, inside the same transaction.

The record of the outcome is written in the transaction that does the work, so either both
land or neither; a concurrent duplicate loses on the unique key and replays the winner.

Two users of the records: a few use cases remember their own outcome (`replay`/`remember`:
hazard reports and transitions, task submissions); every other write is remembered for the
whole request (`RequestKey`, `Recorder`, `find`, `answer`): the record is added by the first
commit of the request's writing unit of work (`service.core.db.commit_hook`), still without
the answer (`IN_FLIGHT`), and the answer (status, body, a few headers) is stored right after
the response is made, sealed with the client's key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from contextlib import suppress
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.core.clock import utcnow
from service.core.context import Context
from service.core.errors import Conflict, ValidationFailed
from service.core.models import IdempotencyRecord


class IdempotencyKeyReused(ValidationFailed):
    code = "idempotency_key_reused"
    message = "该请求编号已用于另一份不同的提交"
    message_en = "This Idempotency-Key was already used with a different request"


class IdempotencyInProgress(Conflict):
    code = "idempotency_in_progress"
    message = "相同请求编号的提交正在处理中，请稍后重试"
    message_en = "A request with this Idempotency-Key is still in progress; retry shortly"


class IdempotencyOutcomeLost(Conflict):
    """The write under the key committed, but its process died before storing the answer:
    retrying can never replay it, and running it again would do the work twice."""

    code = "idempotency_outcome_lost"
    message = "这份提交已经保存，但当时的结果没能送回；请刷新页面查看，不要再次提交"
    message_en = (
        "This request was carried out but its answer was lost; reload to see the result "
        "instead of sending it again"
    )


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
    # As integers: a remembered answer may be an import's report of megabytes.
    if len(data) != len(pad):
        raise ValueError("pad and data differ in length")
    return (int.from_bytes(data, "big") ^ int.from_bytes(pad, "big")).to_bytes(len(data), "big")


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


# --- the request-wide mechanism -----------------------------------------------------------

# `status_code` of a record whose write committed but whose answer is not stored yet.
IN_FLIGHT = 0
# How long a duplicate waits for the answer of a write in flight before it answers 409; a
# record in flight for longer than STALE lost its answer (the process died after the
# commit): it is answered 409 `idempotency_outcome_lost` at once, until the key is purged.
WAIT_SECONDS = 3.0
POLL_SECONDS = 0.05
STALE = timedelta(seconds=60)


@dataclass(frozen=True)
class Answer:
    """A stored response: what a replay sends back."""

    status: int
    body: bytes
    headers: dict[str, str]


def request_key(
    actor_key: str, key: str, route: str, fingerprint_parts: list[bytes]
) -> IdempotencyKey:
    """The key of one request to `route` ("POST /api/v1/points"): scoped to the caller and
    the route, stored only as a hash (the client's key seals the stored answer)."""
    scoped = hashlib.sha256(f"{route}\n{key}".encode()).hexdigest()
    fingerprint = hashlib.sha256(b"\n".join(fingerprint_parts)).hexdigest()
    return IdempotencyKey(actor_key, scoped, fingerprint, sealing_key=key.encode())


class KeyTaken(Exception):
    """Another request with the same key committed first (the unique key said so)."""


class Recorder:
    """The commit hook of one request: the first writing commit adds the key's record."""

    def __init__(self, idem: IdempotencyKey) -> None:
        self.idem = idem
        self.recorded = False

    def before_commit(self, session: Session) -> None:
        """Add the record, in flight, to the write's transaction."""
        if self.recorded:
            return
        # The write's own changes first, so their errors (a duplicate name …) stay theirs.
        session.flush()
        session.add(
            IdempotencyRecord(
                actor_key=self.idem.actor_key,
                key=self.idem.key,
                fingerprint=self.idem.fingerprint,
                status_code=IN_FLIGHT,
                resource_id=None,
                extra={},
            )
        )
        try:
            session.flush()
        except IntegrityError:
            raise KeyTaken() from None

    def committed(self) -> None:
        """Later commits of the same request add nothing."""
        self.recorded = True


def _found(ctx: Context, idem: IdempotencyKey) -> IdempotencyRecord | None:
    with ctx.read() as uow:
        return uow.session.scalar(
            select(IdempotencyRecord).where(
                IdempotencyRecord.actor_key == idem.actor_key, IdempotencyRecord.key == idem.key
            )
        )


def find(ctx: Context, idem: IdempotencyKey) -> Answer | None:
    """The stored answer of an earlier request with this key; None if there is none.

    A different request under the key is a 422; one still in flight is waited for a little,
    then a 409; one whose answer was lost (in flight past STALE) a 409 saying so."""
    record = _found(ctx, idem)
    if record is None:
        return None
    if record.fingerprint != idem.fingerprint:
        raise IdempotencyKeyReused()
    deadline = time.monotonic() + WAIT_SECONDS
    while record.status_code == IN_FLIGHT:
        # The record's own clock (`created_at`), not the context's (tests move that one).
        if utcnow() - record.created_at > STALE:
            raise IdempotencyOutcomeLost()
        if time.monotonic() > deadline:
            raise IdempotencyInProgress()
        time.sleep(POLL_SECONDS)
        again = _found(ctx, idem)
        if again is None:  # the first request failed after all and forgot its key
            return None
        record = again
    stored = idem.unseal(dict(record.extra or {}))
    return Answer(
        record.status_code, base64.b64decode(stored.get("body", "")), stored.get("headers", {})
    )


def answer(ctx: Context, idem: IdempotencyKey, result: Answer) -> None:
    """Store the answer of a request whose write committed (or, for a write that committed
    nothing of its own in the database, record it now; a concurrent twin may have won)."""
    extra = idem.seal({"body": base64.b64encode(result.body).decode(), "headers": result.headers})
    with ctx.uow(bookkeeping=True) as uow:
        s = uow.session
        done = s.execute(
            update(IdempotencyRecord)
            .where(
                IdempotencyRecord.actor_key == idem.actor_key,
                IdempotencyRecord.key == idem.key,
                IdempotencyRecord.status_code == IN_FLIGHT,
            )
            .values(status_code=result.status, extra=extra)
        )
        if not done.rowcount:  # type: ignore[attr-defined]
            s.add(
                IdempotencyRecord(
                    actor_key=idem.actor_key,
                    key=idem.key,
                    fingerprint=idem.fingerprint,
                    status_code=result.status,
                    resource_id=None,
                    extra=extra,
                )
            )
        # A twin request may have recorded the key first: its answer stands.
        with suppress(IntegrityError):
            uow.commit()


def forget(ctx: Context, idem: IdempotencyKey) -> None:
    """Drop the in-flight record of a request that ended in an error: a retry runs again."""
    with ctx.uow(bookkeeping=True) as uow:
        uow.session.execute(
            delete(IdempotencyRecord).where(
                IdempotencyRecord.actor_key == idem.actor_key,
                IdempotencyRecord.key == idem.key,
                IdempotencyRecord.status_code == IN_FLIGHT,
            )
        )
        uow.commit()
