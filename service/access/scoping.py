"""Who may see what, in one place (SPEC §1 "Visibility is scoped, always server-side").

The rule is one table, `CHARGE`: what each role is in charge of (an admin everything, a
supervisor their region's subtree, an inspector their grids, an enterprise officer their
enterprise, a reporter nothing). Every form the code needs is built from it:
`in_charge` (Python, for an object at hand), `charge_condition` (SQL for a loaded caller)
and `caller_charge_condition` (SQL against the caller's row, for reads that load the
caller in the same statement). Each scope below says where its objects sit (`Place`) and
ANDs the condition in; out-of-scope objects are then simply "not found" (404), so ids
cannot be probed.

The caller is loaded by one statement too (`CALLER`, checked by `actor_of`), alone
(`load_actor`, `load_caller`) or joined into a read.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    String,
    and_,
    bindparam,
    cast,
    false,
    func,
    or_,
    select,
    true,
)

from service.access.auth import TokenClaims
from service.access.passwords import PasswordChangeRequired
from service.core.context import Context
from service.core.db import DirectStatement
from service.core.errors import Unauthenticated
from service.directory.models import Enterprise, Grid, Region, User, grid_inspectors
from service.hazards.models import Hazard
from service.inspections.models import Checkin
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


# --- the rule ----------------------------------------------------------------------------------


class Charge(Enum):
    """What a role is in charge of."""

    EVERYTHING = "everything"
    REGION_SUBTREE = "region_subtree"  # everything under the caller's region
    OWN_GRIDS = "own_grids"
    OWN_ENTERPRISE = "own_enterprise"
    NOTHING = "nothing"


CHARGE: dict[Role, Charge] = {
    Role.ADMIN: Charge.EVERYTHING,
    Role.SUPERVISOR: Charge.REGION_SUBTREE,
    Role.INSPECTOR: Charge.OWN_GRIDS,
    Role.ENTERPRISE_OFFICER: Charge.OWN_ENTERPRISE,
    Role.REPORTER: Charge.NOTHING,
}


@dataclass(frozen=True)
class Place:
    """Where an object sits: its region path, grid and enterprise, as values or columns.
    `enterprise_id` is None for objects that belong to no enterprise (a grid)."""

    region_path: Any
    grid_id: Any
    enterprise_id: Any = None


def under(path: str, ancestor: str | None) -> bool:
    """Is `path` in the subtree of `ancestor` (Python form of `subtree`)?"""
    return bool(ancestor) and path.startswith(ancestor)  # type: ignore[arg-type]


def subtree(column: Any, path: str | None) -> ColumnElement[bool]:
    """SQL: the column's path is in the subtree of `path` (nothing when there is none)."""
    # Paths hold only digits and slashes, so a plain prefix LIKE is safe and index-friendly.
    if not path:
        return false()
    return column.like(f"{path}%")  # type: ignore[no-any-return]


def in_charge(actor: Actor | None, place: Place) -> bool:
    """Is the object at `place` in the actor's charge (Python values)?"""
    if actor is None:
        return False
    match CHARGE[actor.role]:
        case Charge.EVERYTHING:
            return True
        case Charge.REGION_SUBTREE:
            return under(place.region_path, actor.region_path)
        case Charge.OWN_GRIDS:
            return place.grid_id in actor.grid_ids
        case Charge.OWN_ENTERPRISE:
            return actor.enterprise_id is not None and place.enterprise_id == actor.enterprise_id
        case _:
            return False


def charge_condition(actor: Actor, place: Place) -> ColumnElement[bool]:
    """SQL: the objects at `place` (columns) in the actor's charge."""
    match CHARGE[actor.role]:
        case Charge.EVERYTHING:
            return true()
        case Charge.REGION_SUBTREE:
            return subtree(place.region_path, actor.region_path)
        case Charge.OWN_GRIDS:
            return place.grid_id.in_(actor.grid_ids) if actor.grid_ids else false()
        case Charge.OWN_ENTERPRISE:
            if actor.enterprise_id is None or place.enterprise_id is None:
                return false()
            return place.enterprise_id == actor.enterprise_id  # type: ignore[no-any-return]
        case _:
            return false()


# --- the caller --------------------------------------------------------------------------------

_u, _r, _gi = User.__table__, Region.__table__, grid_inspectors

# The caller's row: the user, their region's path and (one column) their grids. Built once,
# as building a statement costs more than running it; `caller_id` is its parameter.
CALLER = (
    select(
        _u.c.id,
        _u.c.role,
        _u.c.active,
        _u.c.token_version,
        _u.c.must_change_password,
        _u.c.enterprise_id,
        _u.c.region_id,
        _r.c.path,
        select(func.aggregate_strings(cast(_gi.c.grid_id, String), ","))
        .where(_gi.c.user_id == _u.c.id)
        .scalar_subquery()
        .label("grid_ids"),
    )
    .outerjoin(_r, _r.c.id == _u.c.region_id)
    .where(_u.c.id == bindparam("caller_id"))
    .cte("caller")
)


def caller_columns() -> list[Any]:
    """The caller's columns as `caller_<name>`, to select beside a read's own."""
    return [c.label(f"caller_{c.name}") for c in CALLER.c]


def caller_charge_condition(place: Place) -> ColumnElement[bool]:
    """`charge_condition` written against the caller's row (`CALLER`) instead of a loaded
    Actor, for a read that loads the caller in the same statement."""
    c = CALLER.c
    forms: dict[Charge, ColumnElement[bool]] = {
        Charge.EVERYTHING: true(),
        Charge.REGION_SUBTREE: and_(
            c.path.is_not(None),
            func.substr(place.region_path, 1, func.length(c.path)) == c.path,
        ),
        Charge.OWN_GRIDS: place.grid_id.in_(select(_gi.c.grid_id).where(_gi.c.user_id == c.id)),
        Charge.OWN_ENTERPRISE: (
            place.enterprise_id == c.enterprise_id if place.enterprise_id is not None else false()
        ),
    }
    return or_(
        *(and_(c.role == role, forms[charge]) for role, charge in CHARGE.items() if charge in forms)
    )


def actor_of(row: Any, token_version: int | None) -> Actor:
    """The Actor of a row carrying the `caller_*` columns; 401 if there is no such user, they
    are deactivated or the token was revoked (issued before their `token_version`); 403
    `password_change_required` while they still hold a one-time password."""
    if row is None or row.caller_id is None or not row.caller_active:
        raise Unauthenticated()
    if token_version is not None and row.caller_token_version != token_version:
        raise Unauthenticated("登录已失效，请重新登录", "Session revoked; log in again")
    if row.caller_must_change_password:
        raise PasswordChangeRequired()
    grid_ids: frozenset[int] = frozenset()
    if row.caller_role is Role.INSPECTOR and row.caller_grid_ids:
        grid_ids = frozenset(int(g) for g in row.caller_grid_ids.split(","))
    return Actor(
        user_id=row.caller_id,
        role=row.caller_role,
        enterprise_id=row.caller_enterprise_id,
        region_id=row.caller_region_id,
        region_path=row.caller_path,
        grid_ids=grid_ids,
    )


_CALLER_ALONE = DirectStatement(select(*caller_columns()).select_from(CALLER))


def load_actor(connection: Connection, user_id: int, token_version: int | None = None) -> Actor:
    """Load a user as the caller on this connection (see `actor_of` for the 401s)."""
    return actor_of(_CALLER_ALONE.first(connection, {"caller_id": user_id}), token_version)


def load_caller(ctx: Context, claims: TokenClaims) -> Actor:
    """The caller of a verified token, in one statement outside any transaction: what Flask
    and the hot path both authenticate with."""
    with ctx.read_connection() as connection:
        return load_actor(connection, claims.user_id, claims.token_version)


# --- the scopes --------------------------------------------------------------------------------

ENTERPRISE_PLACE = Place(Enterprise.region_path, Enterprise.grid_id, Enterprise.id)
GRID_PLACE = Place(Grid.region_path, Grid.id)
HAZARD_PLACE = Place(Hazard.region_path, Hazard.grid_id, Hazard.enterprise_id)
CHECKIN_PLACE = Place(Checkin.region_path, Checkin.grid_id, Checkin.enterprise_id)


def enterprise_place(enterprise: Any) -> Place:
    """Where an enterprise (or its QR code's scan) sits."""
    return Place(enterprise.region_path, enterprise.grid_id, enterprise.id)


def hazard_place(hazard: Any) -> Place:
    """Where a hazard (an ORM object or a row) sits."""
    return Place(hazard.region_path, hazard.grid_id, hazard.enterprise_id)


def enterprise_scope(actor: Actor) -> ColumnElement[bool]:
    """Enterprises the actor may see."""
    return charge_condition(actor, ENTERPRISE_PLACE)


def grid_scope(actor: Actor) -> ColumnElement[bool]:
    """Grids the actor may see."""
    return charge_condition(actor, GRID_PLACE)


def checkin_scope(actor: Actor) -> ColumnElement[bool]:
    """Check-ins the actor may see: those at enterprises in their charge."""
    return charge_condition(actor, CHECKIN_PLACE)


def hazard_scope(actor: Actor) -> ColumnElement[bool]:
    """Hazards the actor may see: those in their charge and their own reports."""
    return or_(Hazard.reporter_id == actor.user_id, charge_condition(actor, HAZARD_PLACE))


def caller_hazard_scope() -> ColumnElement[bool]:
    """`hazard_scope` against the caller's row (`CALLER`)."""
    return or_(
        Hazard.__table__.c.reporter_id == CALLER.c.id,
        caller_charge_condition(
            Place(
                Hazard.__table__.c.region_path,
                Hazard.__table__.c.grid_id,
                Hazard.__table__.c.enterprise_id,
            )
        ),
    )


def region_scope(actor: Actor) -> ColumnElement[bool]:
    """Regions the actor may see: a supervisor's subtree, an inspector's communities."""
    match actor.role:
        case Role.ADMIN:
            return true()
        case Role.SUPERVISOR:
            return subtree(Region.path, actor.region_path)
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
        in_regions = select(Region.id).where(subtree(Region.path, actor.region_path))
        in_enterprises = select(Enterprise.id).where(
            subtree(Enterprise.region_path, actor.region_path)
        )
        in_grids = (
            select(grid_inspectors.c.user_id)
            .join(Grid, Grid.id == grid_inspectors.c.grid_id)
            .where(subtree(Grid.region_path, actor.region_path))
        )
        return or_(
            me,
            User.region_id.in_(in_regions),
            User.enterprise_id.in_(in_enterprises),
            User.id.in_(in_grids),
        )
    return me
