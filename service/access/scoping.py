"""Who may see what, in one place (SPEC §1 "Visibility is scoped, always server-side").

Each function returns a SQL condition for one kind of object; queries AND it in.
Out-of-scope objects are then simply "not found" (404), so ids cannot be probed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, bindparam, false, or_, select, true
from sqlalchemy.orm import Session

from service.core.errors import Unauthenticated
from service.directory.models import Enterprise, Grid, Region, User, grid_inspectors
from uploads_schema.vocabulary import Role


@dataclass(frozen=True)
class Actor:
    """The authenticated caller, loaded fresh for each request."""

    user_id: int
    role: Role
    enterprise_id: int | None = None
    region_id: int | None = None
    region_path: str | None = None
    grid_ids: frozenset[int] = frozenset()

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN


# The caller is loaded on every request: one query for the user and their region's path
# (not the User entity with its eager-loaded grids), grid ids for inspectors only. Built
# once, as building a statement costs more than running it.
_CALLER = (
    select(
        User.id,
        User.role,
        User.active,
        User.token_version,
        User.enterprise_id,
        User.region_id,
        Region.path,
    )
    .outerjoin(Region, Region.id == User.region_id)
    .where(User.id == bindparam("user_id"))
)
_GRID_IDS = select(grid_inspectors.c.grid_id).where(
    grid_inspectors.c.user_id == bindparam("user_id")
)


def load_actor(session: Session, user_id: int, token_version: int | None = None) -> Actor:
    """Load the caller; a deactivated user or a revoked token is unauthenticated."""
    params = {"user_id": user_id}
    # Plain rows through the connection: the ORM's execution path costs more than the query.
    connection = session.connection()
    user = connection.execute(_CALLER, params).one_or_none()
    grid_ids: frozenset[int] = frozenset()
    if user is not None and user.role is Role.INSPECTOR:
        grid_ids = frozenset(connection.scalars(_GRID_IDS, params))
    return checked_actor(user, grid_ids, token_version)


def checked_actor(user: Any, grid_ids: frozenset[int], token_version: int | None) -> Actor:
    """The Actor of a caller row (id, role, active, token_version, enterprise_id, region_id,
    path), or 401 if there is none, it is deactivated or the token was revoked."""
    if user is None or not user.active:
        raise Unauthenticated()
    if token_version is not None and user.token_version != token_version:
        raise Unauthenticated("登录已失效，请重新登录", "Session revoked; log in again")
    return Actor(
        user_id=user.id,
        role=user.role,
        enterprise_id=user.enterprise_id,
        region_id=user.region_id,
        region_path=user.path,
        grid_ids=grid_ids,
    )


def _subtree(column: ColumnElement[str] | object, path: str | None) -> ColumnElement[bool]:
    # Paths hold only digits and slashes, so a plain prefix LIKE is safe and index-friendly.
    if not path:
        return false()
    return column.like(f"{path}%")  # type: ignore[attr-defined, no-any-return]


def enterprise_scope(actor: Actor) -> ColumnElement[bool]:
    """Enterprises the actor may see."""
    match actor.role:
        case Role.ADMIN:
            return true()
        case Role.SUPERVISOR:
            return _subtree(Enterprise.region_path, actor.region_path)
        case Role.INSPECTOR:
            return Enterprise.grid_id.in_(actor.grid_ids) if actor.grid_ids else false()
        case Role.ENTERPRISE_OFFICER:
            if actor.enterprise_id is None:
                return false()
            return Enterprise.id == actor.enterprise_id
        case _:
            return false()


def grid_scope(actor: Actor) -> ColumnElement[bool]:
    """Grids the actor may see."""
    match actor.role:
        case Role.ADMIN:
            return true()
        case Role.SUPERVISOR:
            return _subtree(Grid.region_path, actor.region_path)
        case Role.INSPECTOR:
            return Grid.id.in_(actor.grid_ids) if actor.grid_ids else false()
        case _:
            return false()


def region_scope(actor: Actor) -> ColumnElement[bool]:
    """Regions the actor may see: a supervisor's subtree, an inspector's communities."""
    match actor.role:
        case Role.ADMIN:
            return true()
        case Role.SUPERVISOR:
            return _subtree(Region.path, actor.region_path)
        case Role.INSPECTOR:
            if not actor.grid_ids:
                return false()
            return Region.id.in_(select(Grid.region_id).where(Grid.id.in_(actor.grid_ids)))
        case _:
            return false()


def user_scope(actor: Actor) -> ColumnElement[bool]:
    """Users the actor may see: everyone for admins, the staff of a subtree, else oneself."""
    me = User.id == actor.user_id
    if actor.role is Role.ADMIN:
        return true()
    if actor.role is Role.SUPERVISOR and actor.region_path:
        in_regions = select(Region.id).where(_subtree(Region.path, actor.region_path))
        in_enterprises = select(Enterprise.id).where(
            _subtree(Enterprise.region_path, actor.region_path)
        )
        in_grids = (
            select(grid_inspectors.c.user_id)
            .join(Grid, Grid.id == grid_inspectors.c.grid_id)
            .where(_subtree(Grid.region_path, actor.region_path))
        )
        return or_(
            me,
            User.region_id.in_(in_regions),
            User.enterprise_id.in_(in_enterprises),
            User.id.in_(in_grids),
        )
    return me
