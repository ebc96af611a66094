"""Moving-window counters kept in the database, so every worker and every box that uses it
counts the same hits: the rate limits (through flask-limiter, when no Redis is configured)
and the login lockout (`service.access.lockout`).

Each counted hit is a row of `rate_limit_slots`. A key may take a hit while its rows taken
within the window hold fewer than `limit` hits. Taking one is a single conditional INSERT,
made atomic per key: on PostgreSQL under a transaction-scoped advisory lock on the key; on
SQLite the statement itself holds the database's one write lock from its first read to its
last write (it is the transaction's first statement, so it waits for the lock, up to the
busy timeout, instead of failing). Expired rows are deleted about once a minute per
process, along with a hit or a login attempt (`purge_now_and_then`).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from limits.storage import MovingWindowSupport, Storage
from sqlalchemy import Connection, delete, func, literal, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from service.core.context import Context
from service.core.models import RateLimitSlot

# The first half of every advisory lock key taken here ("rl"): two-key advisory locks live
# in a key space of their own, apart from any single-bigint lock.
_LOCK_CLASS = 0x726C
_KEY_LENGTH = 255  # RateLimitSlot.key
# Rows of keys that are never hit again are deleted this often (per process, at most).
PURGE_EVERY_SECONDS = 60.0
_next_purge = 0.0


@dataclass(frozen=True)
class Window:
    """A key's hits within the window: how many, and when the oldest of them was taken
    (None when there are none)."""

    count: int
    oldest: float | None

    def reset_at(self, window: float, now: float) -> float:
        """When the oldest hit leaves the window (and one more may be taken)."""
        return (self.oldest if self.oldest is not None else now) + window


def stored_key(key: str) -> str:
    """The key as stored: as given, or its digest when longer than the column."""
    if len(key) <= _KEY_LENGTH:
        return key
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def take(
    session: Session, key: str, limit: int, window: float, now: float, amount: int = 1
) -> int | None:
    """Count `amount` hits on `key` if the window has room for them: the new row's id, or
    None when the key is full (nothing is written then). Commit to make it count."""
    key = stored_key(key)
    if amount > limit:
        return None
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            select(
                # A hit lost with the last moments before a crash costs less than waiting
                # for the disk at every commit (most of what a hit took): here only.
                func.set_config("synchronous_commit", "off", True),
                # Held until the transaction ends: the count and the insert below see every
                # hit committed before, and no other transaction takes this key in between.
                func.pg_advisory_xact_lock(_LOCK_CLASS, func.hashtext(key)),
            )
        )
    taken = func.coalesce(func.sum(RateLimitSlot.hits), 0)
    in_window = (RateLimitSlot.key == key) & (RateLimitSlot.taken_at > now - window)
    room = select(taken).where(in_window).scalar_subquery() + amount <= limit
    values = select(literal(key), literal(now), literal(now + window), literal(amount))
    return session.scalar(
        RateLimitSlot.__table__.insert()
        .from_select(["key", "taken_at", "expires_at", "hits"], values.where(room))
        .returning(RateLimitSlot.id)
    )


def window_of(db: Session | Connection, key: str, window: float, now: float) -> Window:
    """The key's hits within the window ending now."""
    hits = func.coalesce(func.sum(RateLimitSlot.hits), 0)
    row = db.execute(
        select(func.count(), hits, func.min(RateLimitSlot.taken_at)).where(
            RateLimitSlot.key == stored_key(key), RateLimitSlot.taken_at > now - window
        )
    ).one()
    return Window(count=int(row[1]), oldest=row[2] if row[0] else None)


def windows_of(
    db: Session | Connection, keys: list[str], window: float, now: float
) -> dict[str, Window]:
    """The hits within the window ending now of several keys at once (one query); keys
    without any are left out. Keys come back as given."""
    stored = {stored_key(key): key for key in keys}
    if not stored:
        return {}
    rows = db.execute(
        select(RateLimitSlot.key, func.sum(RateLimitSlot.hits), func.min(RateLimitSlot.taken_at))
        .where(RateLimitSlot.key.in_(list(stored)), RateLimitSlot.taken_at > now - window)
        .group_by(RateLimitSlot.key)
    )
    return {stored[key]: Window(count=int(hits), oldest=oldest) for key, hits, oldest in rows}


def release(session: Session, row_id: int) -> None:
    """Give back one hit taken by `take` (the attempt it counted did not happen)."""
    session.execute(delete(RateLimitSlot).where(RateLimitSlot.id == row_id))


def clear(session: Session, key: str) -> int:
    """Forget every hit of a key; how many rows went."""
    result = session.execute(delete(RateLimitSlot).where(RateLimitSlot.key == stored_key(key)))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def purge_expired(session: Session, now: float) -> int:
    """Delete every row whose window has passed; how many went."""
    result = session.execute(delete(RateLimitSlot).where(RateLimitSlot.expires_at <= now))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def purge_now_and_then(session: Session, now: float) -> None:
    """Delete every expired row, at most once every PURGE_EVERY_SECONDS in this process: a
    key keeps no more rows than its limit plus what a minute adds."""
    global _next_purge
    if now < _next_purge:
        return
    _next_purge = now + PURGE_EVERY_SECONDS
    purge_expired(session, now)


class DatabaseStorage(Storage, MovingWindowSupport):
    """A `limits` storage on our database, for flask-limiter's moving-window strategy: the
    rate limits hold across gunicorn's workers and the app's boxes without Redis.

    `context_of` names the service context to use at each call (the current app's), so
    each app counts in its own database. The app registers a subclass under its own URI
    scheme (`miniprogram_api.limits`), which is how flask-limiter picks a storage."""

    def __init__(
        self,
        uri: str | None = None,
        wrap_exceptions: bool = False,
        *,
        context_of: Callable[[], Context],
        **options: Any,
    ) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self._context_of = context_of

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return DBAPIError

    def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        """Take `amount` hits on `key` if its window has room (one transaction)."""
        with self._context_of().uow(bookkeeping=True) as uow:
            now = time.time()
            row_id = take(uow.session, key, limit, expiry, now, amount)
            purge_now_and_then(uow.session, now)
            uow.commit()
        return row_id is not None

    def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        """(when the oldest hit in the window was taken, hits in the window)."""
        now = time.time()
        with self._context_of().read_connection() as connection:
            found = window_of(connection, key, expiry, now)
        return (found.oldest if found.oldest is not None else now), found.count

    def clear(self, key: str) -> None:
        """Forget a key's hits."""
        with self._context_of().uow(bookkeeping=True) as uow:
            clear(uow.session, key)
            uow.commit()

    def reset(self) -> int | None:
        """Forget every key's hits."""
        with self._context_of().uow(bookkeeping=True) as uow:
            count = int(uow.session.execute(delete(RateLimitSlot)).rowcount or 0)  # type: ignore[attr-defined]
            uow.commit()
        return count

    def check(self) -> bool:
        """The database answers."""
        try:
            with self._context_of().read_connection() as connection:
                connection.execute(select(1))
        except Exception:
            return False
        return True

    # The fixed-window strategy's counters: not offered (the app configures the moving
    # window with this storage, `miniprogram_api.limits`).
    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        raise NotImplementedError("DatabaseStorage counts moving windows only")

    def get(self, key: str) -> int:
        raise NotImplementedError("DatabaseStorage counts moving windows only")

    def get_expiry(self, key: str) -> float:
        raise NotImplementedError("DatabaseStorage counts moving windows only")
