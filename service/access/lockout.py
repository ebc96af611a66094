"""Login lockout: failed password logins counted per username in the database
(`service.core.ratelimits`), so `LOGIN_LOCKOUT` holds whichever worker or box answers.

An attempt takes its slot before the password is checked, as if it were going to fail, so
two attempts at once cannot both take the last one; a failure keeps it, a success clears
the username's count in the login's own transaction, and an attempt that ends any other
way (the database lost mid-way) gives its slot back. Usernames nobody has are counted and
locked alike, so the answers never tell whether an account exists.
"""

from __future__ import annotations

import hmac
import logging
import math
from dataclasses import dataclass
from datetime import UTC, datetime

from limits import parse
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.core import ratelimits
from service.core.context import Context
from service.core.errors import DomainError, NotFound
from service.directory.models import User

log = logging.getLogger(__name__)


class LoginLocked(DomainError):
    status, code = 429, "login_locked"
    message = "登录失败次数过多，账号已临时锁定，请稍后再试"
    message_en = "Too many failed logins; this account is locked for a while"

    @classmethod
    def for_seconds(cls, seconds: int) -> LoginLocked:
        """The lockout answer saying how long to wait (also as `Retry-After`)."""
        minutes = max(1, math.ceil(seconds / 60))
        return cls(
            f"登录失败次数过多，账号已临时锁定，请 {minutes} 分钟后再试",
            f"Too many failed logins; this account is locked, try again in {minutes} min",
            headers={"Retry-After": str(seconds)},
        )


@dataclass(frozen=True)
class Attempt:
    """A password login under way: the username's counter and the slot it took."""

    key: str
    slot_id: int


def policy(ctx: Context) -> tuple[int, int]:
    """(failed logins allowed, window in seconds) from `LOGIN_LOCKOUT`, e.g. "5/15 minutes"."""
    item = parse(ctx.settings.login_lockout)
    return item.amount, item.get_expiry()


def counter_key(ctx: Context, username: str) -> str:
    """The username's counter: spaces and case do not make another one. Keyed-hashed, as
    people sometimes type their password into the username field."""
    name = username.strip().casefold().encode()
    digest = hmac.new(ctx.settings.secret_key.encode(), name, "sha256").hexdigest()
    return f"lockout:{digest}"


def begin(ctx: Context, username: str) -> Attempt:
    """Take a slot for a login attempt; `LoginLocked` when the username has none left."""
    attempts, window = policy(ctx)
    key = counter_key(ctx, username)
    now = ctx.now().timestamp()
    with ctx.uow() as uow:
        slot_id = ratelimits.take(uow.session, key, attempts, window, now)
        if slot_id is None:
            found = ratelimits.window_of(uow.session, key, window, now)
            raise LoginLocked.for_seconds(max(1, math.ceil(found.reset_at(window, now) - now)))
        # Usernames tried once and never again leave rows behind, with or without Redis.
        ratelimits.purge_now_and_then(uow.session, now)
        uow.commit()
    return Attempt(key, slot_id)


def succeeded(session: Session, attempt: Attempt) -> None:
    """In the successful login's transaction: the username's failures are forgotten."""
    ratelimits.clear(session, attempt.key)


def abandon(ctx: Context, attempt: Attempt) -> None:
    """The attempt neither failed nor succeeded (an error on the way): give its slot back,
    if the database lets us; the error that ended it is what the caller reports."""
    try:
        with ctx.uow() as uow:
            ratelimits.release(uow.session, attempt.slot_id)
            uow.commit()
    except Exception:
        log.warning("could not give back a login attempt's lockout slot", exc_info=True)


def forget(ctx: Context, session: Session, username: str) -> int:
    """In the caller's transaction: forget the username's failed logins; how many were
    counted within the window."""
    _, window = policy(ctx)
    key = counter_key(ctx, username)
    counted = ratelimits.window_of(session, key, window, ctx.now().timestamp()).count
    ratelimits.clear(session, key)
    return counted


def unlock(ctx: Context, username: str) -> int:
    """Forget an account's failed logins (`flask users unlock`); how many were counted.
    An unknown username is a `NotFound`."""
    with ctx.uow() as uow:
        name = username.strip()
        if uow.session.scalar(select(User.id).where(User.username == name)) is None:
            raise NotFound(f"用户 {name} 不存在", f"No user named {name}")
        counted = forget(ctx, uow.session, name)
        uow.commit()
    return counted


def locked_until(ctx: Context, session: Session, usernames: list[str]) -> dict[str, datetime]:
    """Which of these usernames are locked now, and until when (the others are left out):
    the moment their oldest counted failure leaves the window, as `begin` answers."""
    attempts, window = policy(ctx)
    now = ctx.now().timestamp()
    keys = {counter_key(ctx, name): name for name in usernames}
    found = ratelimits.windows_of(session, list(keys), window, now)
    return {
        keys[key]: datetime.fromtimestamp(seen.reset_at(window, now), UTC)
        for key, seen in found.items()
        if seen.count >= attempts
    }
