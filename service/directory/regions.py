"""Use cases for the region tree (市 → 区县 → 镇街 → 村社区) and grids (网格)."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from service.access.scoping import Actor, grid_scope, region_scope, subtree
from service.core.context import Context
from service.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from service.core.pagination import Page, paginate
from service.directory.models import Grid, Region, User
from uploads_schema.vocabulary import LEVEL_ORDER, RegionLevel, Role

REGION_CODE = re.compile(r"^\d{12}$")


def require_admin(actor: Actor) -> None:
    """Directory changes are an administrator's job."""
    if not actor.is_admin:
        raise PermissionDenied("只有管理员可以执行此操作", "Only administrators may do this")


def _visible_region(session: Session, actor: Actor, region_id: int) -> Region:
    region = session.scalar(select(Region).where(Region.id == region_id, region_scope(actor)))
    if region is None:
        raise NotFound("区域不存在", "Region not found")
    return region


def scope_region(session: Session, actor: Actor, region_id: int | None) -> Region | None:
    """The region a request is about: the one asked for (in the actor's scope, else 404) or,
    by default, a supervisor's own; None (all the caller sees) for others. Statistics,
    exports and poster batches default alike."""
    if region_id is not None:
        return _visible_region(session, actor, region_id)
    if actor.role is Role.SUPERVISOR and actor.region_id is not None:
        return session.get(Region, actor.region_id)
    return None


def list_regions(
    ctx: Context,
    actor: Actor,
    *,
    parent_id: int | None = None,
    level: RegionLevel | None = None,
    q: str | None = None,
    page: int = 1,
    page_size: int = 50,
) -> Page[Region]:
    """Regions the actor may see, ordered by code."""
    query = select(Region).where(region_scope(actor)).order_by(Region.code, Region.id)
    if parent_id is not None:
        query = query.where(Region.parent_id == parent_id)
    if level is not None:
        query = query.where(Region.level == level)
    if q:
        query = query.where(Region.name.contains(q, autoescape=True))
    with ctx.read() as uow:
        return paginate(uow.session, query, page, page_size)


def region_id_by_code(ctx: Context, code: str) -> int:
    """The id of the region with this statistical area code."""
    with ctx.read() as uow:
        region_id = uow.session.scalar(select(Region.id).where(Region.code == code))
    if region_id is None:
        raise NotFound(f"区划代码 {code} 不存在", f"No region with code {code}")
    return region_id


def get_region(ctx: Context, actor: Actor, region_id: int) -> Region:
    """One region, if in scope."""
    with ctx.read() as uow:
        return _visible_region(uow.session, actor, region_id)


def create_region(
    ctx: Context, actor: Actor, *, code: str, name: str, level: RegionLevel, parent_id: int | None
) -> Region:
    """Add a region under its parent; the level must be one below the parent's."""
    require_admin(actor)
    if not REGION_CODE.match(code):
        raise ValidationFailed(errors={"code": ["区划代码应为 12 位数字 / 12-digit area code"]})
    with ctx.uow() as uow:
        parent = None
        if parent_id is not None:
            parent = uow.session.get(Region, parent_id)
            if parent is None:
                raise ValidationFailed(errors={"parent_id": ["上级区域不存在 / no such parent"]})
        expected_level = (
            LEVEL_ORDER[LEVEL_ORDER.index(parent.level) + 1]
            if parent is not None and parent.level is not RegionLevel.COMMUNITY
            else None
        )
        if parent is None and level is not RegionLevel.CITY:
            raise ValidationFailed(errors={"parent_id": ["非市级区域必须指定上级 / required"]})
        if parent is not None and level is not expected_level:
            raise ValidationFailed(
                errors={"level": [f"上级为 {parent.level.value}，本级应为 {expected_level}"]}
            )
        region = Region(
            code=code,
            name=name.strip(),
            level=level,
            parent_id=parent_id,
            path=(parent.path if parent else "/") + code + "/",
        )
        uow.session.add(region)
        try:
            uow.flush()
        except IntegrityError as exc:
            raise Conflict("区划代码已存在", "Region code already exists") from exc
        uow.commit()
        return region


def update_region(ctx: Context, actor: Actor, region_id: int, *, name: str) -> Region:
    """Rename a region (codes are permanent: they key the statistics)."""
    require_admin(actor)
    with ctx.uow() as uow:
        region = _visible_region(uow.session, actor, region_id)
        region.name = name.strip()
        uow.commit()
        return region


# --- grids -------------------------------------------------------------------------------


def _grid_query(actor: Actor):  # type: ignore[no-untyped-def]
    return select(Grid).where(grid_scope(actor)).options(selectinload(Grid.inspectors))


def _visible_grid(session: Session, actor: Actor, grid_id: int) -> Grid:
    grid = session.scalar(_grid_query(actor).where(Grid.id == grid_id))
    if grid is None:
        raise NotFound("网格不存在", "Grid not found")
    return grid


def _inspectors(session: Session, user_ids: list[int]) -> list[User]:
    users = list(session.scalars(select(User).where(User.id.in_(user_ids)).order_by(User.id)))
    if len(users) != len(set(user_ids)) or any(u.role is not Role.INSPECTOR for u in users):
        raise ValidationFailed(
            errors={"inspector_ids": ["只能指定网格员账号 / only inspector accounts"]}
        )
    return users


def list_grids(
    ctx: Context,
    actor: Actor,
    *,
    region_id: int | None = None,
    page: int = 1,
    page_size: int = 50,
) -> Page[Grid]:
    """Grids the actor may see, optionally within a region's subtree."""
    query = _grid_query(actor).order_by(Grid.code, Grid.id)
    with ctx.read() as uow:
        if region_id is not None:
            region = _visible_region(uow.session, actor, region_id)
            query = query.where(subtree(Grid.region_path, region.path))
        return paginate(uow.session, query, page, page_size)


def get_grid(ctx: Context, actor: Actor, grid_id: int) -> Grid:
    """One grid, if in scope."""
    with ctx.read() as uow:
        return _visible_grid(uow.session, actor, grid_id)


def create_grid(
    ctx: Context,
    actor: Actor,
    *,
    code: str,
    name: str,
    region_id: int,
    inspector_ids: list[int] | None = None,
) -> Grid:
    """Add a grid under a community, with its inspectors."""
    require_admin(actor)
    with ctx.uow() as uow:
        community = uow.session.get(Region, region_id)
        if community is None or community.level is not RegionLevel.COMMUNITY:
            raise ValidationFailed(errors={"region_id": ["网格必须位于村/社区之下 / community"]})
        grid = Grid(code=code.strip(), name=name.strip(), region_id=community.id)
        grid.region_path = community.path
        grid.inspectors = _inspectors(uow.session, inspector_ids or [])
        uow.session.add(grid)
        try:
            uow.flush()
        except IntegrityError as exc:
            raise Conflict("网格编码已存在", "Grid code already exists") from exc
        uow.commit()
        return grid


def update_grid(
    ctx: Context,
    actor: Actor,
    grid_id: int,
    *,
    name: str | None = None,
    inspector_ids: list[int] | None = None,
) -> Grid:
    """Rename a grid or replace its inspectors."""
    require_admin(actor)
    with ctx.uow() as uow:
        grid = _visible_grid(uow.session, actor, grid_id)
        if name is not None:
            grid.name = name.strip()
        if inspector_ids is not None:
            grid.inspectors = _inspectors(uow.session, inspector_ids)
        uow.commit()
        return grid
