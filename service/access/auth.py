"""Login use cases, password hashing and our JWTs."""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from sqlalchemy import select

from service.access import lockout, passwords
from service.access.wechat import WeChatClient
from service.core.context import Context
from service.core.errors import (
    InvalidCredentials,
    NotFound,
    PermissionDenied,
    TokenExpired,
    Unauthenticated,
    ValidationFailed,
)
from service.directory.models import User
from uploads_schema.vocabulary import Role

# Argon2id: memory-hard, salted; parameters are the library's recommended defaults.
_hasher = PasswordHasher()
# Verifying against this keeps unknown usernames as slow as wrong passwords.
_DUMMY_HASH = _hasher.hash("timing-equaliser")


def hash_password(password: str) -> str:
    """Hash a password with Argon2id."""
    return _hasher.hash(password)


# Generated one-time passwords carry ~80 random bits: no guessing list reaches them, so they
# need no memory-hard stretching, and lighter Argon2id keeps a 1,000-account import in
# seconds instead of minutes. The parameters travel inside the hash: `verify_password` and
# the password chosen at first login (full parameters) need nothing else.
_one_time_hasher = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1)


def hash_one_time_password(password: str) -> str:
    """Hash a generated one-time password (never one a person chose) with light Argon2id."""
    return _one_time_hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Check a password in constant-ish time, also when there is no hash."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
    except (VerifyMismatchError, InvalidHashError):
        return False


@dataclass(frozen=True)
class TokenClaims:
    user_id: int
    role: Role
    token_version: int


@dataclass(frozen=True)
class LoginResult:
    access_token: str
    expires_in: int
    refresh_token: str
    refresh_expires_in: int
    user: User

    @property
    def must_change_password(self) -> bool:
        """True while the account holds a one-time password: only changing it is allowed."""
        return bool(self.user.must_change_password)


def _ttl(ctx: Context, kind: str) -> timedelta:
    s = ctx.settings
    if kind == "refresh":
        return timedelta(days=s.jwt_refresh_ttl_days)
    return timedelta(minutes=s.jwt_access_ttl_minutes)


def issue_token(ctx: Context, user: User, kind: str = "access") -> str:
    """A signed token for the user: short-lived `access`, or longer `refresh`."""
    now = ctx.now()
    s = ctx.settings
    claims: dict[str, Any] = {
        "sub": str(user.id),
        "role": user.role.value,
        "ver": user.token_version,
        "iss": s.jwt_issuer,
        "iat": now,
        "exp": now + _ttl(ctx, kind),
        "typ": kind,
    }
    return jwt.encode(claims, s.secret_key, algorithm=s.jwt_algorithm)


def decode_token(ctx: Context, token: str, kind: str = "access") -> TokenClaims:
    """Verify signature, expiry, issuer and kind of a token."""
    s = ctx.settings
    claims, expires = _verified(token, s.secret_key, s.jwt_algorithm, s.jwt_issuer, kind)
    if expires <= time.time():  # as PyJWT judges `exp`, for a token verified earlier
        raise TokenExpired()
    return claims


# A phone sends the same token with every call until it expires; verifying it costs more
# than the rest of a simple read. Only good tokens are kept (a failure raises, and is
# never cached), keyed by everything the verdict depends on; expiry is checked per call.
@functools.lru_cache(maxsize=4096)
def _verified(
    token: str, secret: str, algorithm: str, issuer: str, kind: str
) -> tuple[TokenClaims, float]:
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[algorithm],
            issuer=issuer,
            options={"require": ["exp", "sub", "iss"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise TokenExpired() from exc
    except jwt.PyJWTError as exc:
        raise Unauthenticated("登录凭证无效，请重新登录", "Invalid access token") from exc
    if claims.get("typ") != kind:
        raise Unauthenticated("登录凭证无效，请重新登录", "Invalid access token")
    try:
        verified = TokenClaims(
            user_id=int(claims["sub"]), role=Role(claims["role"]), token_version=int(claims["ver"])
        )
        return verified, float(claims["exp"])
    except (KeyError, ValueError, TypeError) as exc:
        raise Unauthenticated("登录凭证无效，请重新登录", "Invalid access token") from exc


def _result(ctx: Context, user: User) -> LoginResult:
    return LoginResult(
        access_token=issue_token(ctx, user),
        expires_in=int(_ttl(ctx, "access").total_seconds()),
        refresh_token=issue_token(ctx, user, "refresh"),
        refresh_expires_in=int(_ttl(ctx, "refresh").total_seconds()),
        user=user,
    )


def refresh(ctx: Context, refresh_token: str) -> LoginResult:
    """A new token pair for a valid refresh token; a password change or deactivation
    (token_version bump) revokes every refresh token issued before it."""
    claims = decode_token(ctx, refresh_token, "refresh")
    with ctx.read() as uow:
        user = uow.session.get(User, claims.user_id)
        if user is None or not user.active or user.token_version != claims.token_version:
            raise Unauthenticated("登录已失效，请重新登录", "Session revoked; log in again")
        return _result(ctx, user)


def password_login(ctx: Context, username: str, password: str) -> LoginResult:
    """Office staff log in with username and password, within the username's lockout
    (`LOGIN_LOCKOUT`; `lockout.LoginLocked` once it is spent)."""
    attempt = lockout.begin(ctx, username)
    try:
        # The hash is checked (a tenth of a second or more of Argon2) before the write
        # begins: on SQLite a writing unit holds the database's one write lock until it commits.
        with ctx.read() as uow:
            user = uow.session.scalar(select(User).where(User.username == username.strip()))
            ok = verify_password(user.password_hash if user else None, password)
            if user is None or not ok or not user.active:
                raise InvalidCredentials()
            user_id, checked_hash = user.id, user.password_hash
        with ctx.uow() as uow:
            user = uow.session.get(User, user_id)
            # Changed or deactivated meanwhile: the password just checked may no longer be valid.
            if user is None or user.password_hash != checked_hash or not user.active:
                raise InvalidCredentials()
            user.last_login_at = ctx.now()
            lockout.succeeded(uow.session, attempt)
            uow.commit()
            return _result(ctx, user)
    except InvalidCredentials:
        raise  # a failed login: its slot stays taken
    except BaseException:
        lockout.abandon(ctx, attempt)
        raise


class WrongPassword(ValidationFailed):
    code = "wrong_password"
    message, message_en = "原密码错误", "The current password is wrong"


def change_password(
    ctx: Context, claims: TokenClaims, old_password: str, new_password: str
) -> LoginResult:
    """The caller replaces their password (also a one-time one), proving the old one. Every
    token issued before is revoked (token_version bump); the answer carries the new pair.
    Wrong old passwords count toward the username's lockout like failed logins."""
    with ctx.read() as uow:
        user = uow.session.get(User, claims.user_id)
        if user is None or not user.active or user.token_version != claims.token_version:
            raise Unauthenticated("登录已失效，请重新登录", "Session revoked; log in again")
        if not user.username or not user.password_hash:
            raise PermissionDenied(
                "该账号用微信登录，没有密码", "This account logs in with WeChat and has no password"
            )
        username, user_id = user.username, user.id
    attempt = lockout.begin(ctx, username)
    try:
        with ctx.read() as uow:
            user = uow.session.get(User, user_id)
            checked_hash = user.password_hash if user is not None else None
            if not verify_password(checked_hash, old_password):
                raise WrongPassword(errors={"old_password": ["原密码错误 / wrong password"]})
    except WrongPassword:
        raise  # a failed guess: its slot stays taken
    except BaseException:
        lockout.abandon(ctx, attempt)
        raise
    try:
        passwords.check(new_password, username, field="new_password")
        if new_password == old_password:
            raise passwords.WeakPassword(
                "新密码不能与原密码相同",
                "The new password must differ from the current one",
                errors={"new_password": ["与原密码相同 / same as the current password"]},
            )
        new_hash = hash_password(new_password)  # Argon2 before the write lock is taken
        with ctx.uow() as uow:
            user = uow.session.get(User, user_id)
            if user is None or user.password_hash != checked_hash or not user.active:
                raise Unauthenticated("登录已失效，请重新登录", "Session revoked; log in again")
            user.password_hash = new_hash
            user.must_change_password = False
            user.token_version += 1
            lockout.succeeded(uow.session, attempt)
            uow.commit()
            return _result(ctx, user)
    except BaseException:
        lockout.abandon(ctx, attempt)  # the old password was right: no failure to count
        raise


def wechat_login(ctx: Context, client: WeChatClient, code: str) -> LoginResult:
    """Exchange a mini-program login code for our token; new users become reporters."""
    identity = client.code_to_session(code)
    with ctx.uow() as uow:
        user = uow.session.scalar(select(User).where(User.openid == identity.openid))
        if user is None:
            user = User(
                openid=identity.openid,
                unionid=identity.unionid,
                role=Role.REPORTER,
                display_name="微信用户",
                grids=[],
                must_change_password=False,
            )
            uow.session.add(user)
        elif not user.active:
            raise InvalidCredentials("账号已停用", "Account disabled")
        user.last_login_at = ctx.now()
        uow.commit()
        return _result(ctx, user)


def dev_login(ctx: Context, username: str | None, role: Role | None) -> LoginResult:
    """Development only: log in as an existing user by name, or as the first of a role."""
    if not ctx.settings.auth_dev_login:
        raise NotFound()  # the endpoint does not exist unless AUTH_DEV_LOGIN=1
    with ctx.read() as uow:
        query = select(User).where(User.active.is_(True)).order_by(User.id)
        if username:
            query = query.where(User.username == username)
        elif role:
            query = query.where(User.role == role)
        user = uow.session.scalars(query.limit(1)).first()
        if user is None:
            raise NotFound("没有符合条件的用户", "No matching user")
        return _result(ctx, user)
