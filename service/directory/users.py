"""Use cases for user accounts and their role bindings."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from service.access import lockout, passwords
from service.access.auth import hash_one_time_password, hash_password
from service.access.scoping import Actor, user_scope
from service.core import ratelimits
from service.core.context import Context
from service.core.errors import Conflict, NotFound, ValidationFailed
from service.core.pagination import Page, paginate
from service.directory.models import Enterprise, Grid, Region, User
from service.directory.regions import require_admin
from uploads_schema.vocabulary import Role

# Usernames of office accounts created from files and the command line: what people type to
# log in, nothing a shell or a spreadsheet mangles.
USERNAME = re.compile(r"[A-Za-z0-9._@-]{3,64}")


def _query(actor: Actor):  # type: ignore[no-untyped-def]
    return select(User).where(user_scope(actor)).options(selectinload(User.grids))


def _visible(session: Session, actor: Actor, user_id: int) -> User:
    user = session.scalar(_query(actor).where(User.id == user_id))
    if user is None:
        raise NotFound("用户不存在", "User not found")
    return user


def _with_lock_state(ctx: Context, session: Session, users: list[User]) -> None:
    """Mark which accounts are locked by failed password logins, for the admin to see."""
    until = lockout.locked_until(ctx, session, [u.username for u in users if u.username])
    for user in users:
        user.locked_until = until.get(user.username) if user.username else None


def list_users(
    ctx: Context,
    actor: Actor,
    *,
    role: Role | None = None,
    q: str | None = None,
    page: int = 1,
    page_size: int = 20,
) -> Page[User]:
    """Users the actor may see."""
    query = _query(actor).order_by(User.id)
    if role is not None:
        query = query.where(User.role == role)
    if q:
        query = query.where(
            or_(
                User.display_name.contains(q, autoescape=True),
                User.username.contains(q, autoescape=True),
            )
        )
    with ctx.read() as uow:
        found = paginate(uow.session, query, page, page_size)
        _with_lock_state(ctx, uow.session, found.items)
        return found


def get_user(ctx: Context, actor: Actor, user_id: int) -> User:
    """One user, if in scope (everyone may see themselves)."""
    with ctx.read() as uow:
        user = _visible(uow.session, actor, user_id)
        _with_lock_state(ctx, uow.session, [user])
        return user


def _bind(session: Session, user: User, values: dict[str, Any]) -> None:
    """Set role-dependent bindings and check they fit the role."""
    # Look-ups must not flush the half-edited user: a taken username or a dangling id would
    # fail in SQL (a 500) instead of being reported here or as a 409 by the caller's flush.
    errors: dict[str, list[str]] = {}
    with session.no_autoflush:
        if "enterprise_id" in values:
            enterprise_id = values["enterprise_id"]
            if enterprise_id is not None and session.get(Enterprise, enterprise_id) is None:
                errors["enterprise_id"] = ["企业不存在 / no such enterprise"]
            user.enterprise_id = enterprise_id
        if "region_id" in values:
            region_id = values["region_id"]
            if region_id is not None and session.get(Region, region_id) is None:
                errors["region_id"] = ["区域不存在 / no such region"]
            user.region_id = region_id
        if "grid_ids" in values:
            grid_ids = values["grid_ids"] or []
            grids = list(session.scalars(select(Grid).where(Grid.id.in_(grid_ids))))
            if len(grids) != len(set(grid_ids)):
                errors["grid_ids"] = ["网格不存在 / no such grid"]
            user.grids = grids
        if user.role is Role.ENTERPRISE_OFFICER and user.enterprise_id is None:
            errors.setdefault("enterprise_id", []).append("企业安全员必须绑定企业 / required")
        if user.role is Role.SUPERVISOR and user.region_id is None:
            errors.setdefault("region_id", []).append("监管人员必须绑定区域 / required")
        if user.role is not Role.INSPECTOR and user.grids:
            errors.setdefault("grid_ids", []).append("只有网格员可以绑定网格 / inspectors only")
    if errors:
        raise ValidationFailed(errors=errors)


def _set_password(user: User, password: str | None) -> None:
    if password is None:
        return
    passwords.check(password, user.username)
    user.password_hash = hash_password(password)
    user.token_version += 1  # a new password logs out every other session


def create_user(ctx: Context, actor: Actor, **values: Any) -> User:
    """Create an account; office staff get a username and password."""
    require_admin(actor)
    with ctx.uow() as uow:
        username = values.get("username") or None
        if username and uow.session.scalar(select(User.id).where(User.username == username)):
            raise Conflict(f"用户名 {username} 已存在", f"Username {username} is already taken")
        user = User(
            username=username,
            openid=values.get("openid") or None,
            display_name=values.get("display_name") or "",
            phone=values.get("phone") or "",
            role=values["role"],
            token_version=0,
            grids=[],
            must_change_password=False,
        )
        _set_password(user, values.get("password"))
        uow.session.add(user)
        _bind(uow.session, user, values)
        try:
            uow.flush()
        except IntegrityError as exc:
            raise Conflict("用户名或微信账号已存在", "Username or openid already taken") from exc
        # Failures under a username count before it exists (unknown names are locked alike).
        _with_lock_state(ctx, uow.session, [user])
        uow.commit()
        return user


def update_user(ctx: Context, actor: Actor, user_id: int, **values: Any) -> User:
    """Change an account: role and bindings, password, active flag."""
    require_admin(actor)
    with ctx.uow() as uow:
        user = _visible(uow.session, actor, user_id)
        for name in ("display_name", "phone"):
            if name in values:
                setattr(user, name, values[name] or "")
        if "username" in values:
            user.username = values["username"] or None
        if "role" in values:
            user.role = values["role"]
        if "active" in values and values["active"] != user.active:
            user.active = values["active"]
            user.token_version += 1
        _set_password(user, values.get("password"))
        _bind(uow.session, user, values)
        try:
            uow.flush()
        except IntegrityError as exc:
            raise Conflict("用户名已存在", "Username already taken") from exc
        _with_lock_state(ctx, uow.session, [user])
        uow.commit()
        return user


@dataclass(frozen=True)
class PasswordReset:
    user: User
    one_time_password: str  # shown once, in this answer; only its hash is stored


def reset_password(ctx: Context, actor: Actor, user_id: int) -> PasswordReset:
    """Give an office account a generated one-time password (admin): its sessions end, its
    lockout is lifted, and its owner must choose a new password at the next login."""
    require_admin(actor)
    one_time = passwords.generate()
    new_hash = hash_one_time_password(one_time)  # hashed before the write lock is taken
    with ctx.uow() as uow:
        user = _visible(uow.session, actor, user_id)
        if not user.username:
            raise ValidationFailed(
                "该账号用微信登录，没有密码可重置",
                "This account logs in with WeChat and has no password to reset",
                errors={"username": ["无用户名 / no username"]},
            )
        user.password_hash = new_hash
        user.must_change_password = True
        user.token_version += 1
        ratelimits.clear(uow.session, lockout.counter_key(ctx, user.username))
        uow.commit()
        return PasswordReset(user, one_time)


@dataclass(frozen=True)
class Unlocked:
    user: User
    failed_logins_forgotten: int


def unlock(ctx: Context, actor: Actor, user_id: int) -> Unlocked:
    """Lift an account's login lockout (admin): its failed password logins are forgotten,
    so it may log in again at once. An account without a username has none to forget."""
    require_admin(actor)
    with ctx.uow() as uow:
        user = _visible(uow.session, actor, user_id)
        forgotten = lockout.forget(ctx, uow.session, user.username) if user.username else 0
        user.locked_until = None
        uow.commit()
        return Unlocked(user, forgotten)
