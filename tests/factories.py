"""Small factories with unique values, and a ready-made little world for scoping tests."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from service.access.auth import hash_password
from service.directory import credit_code
from service.directory.models import Enterprise, Grid, Region, User
from service.hazards.models import Hazard
from uploads_schema.vocabulary import (
    HazardCategory,
    HazardLevel,
    HazardOrigin,
    HazardSource,
    HazardStatus,
    Industry,
    RegionLevel,
    RiskColor,
    Role,
)

_seq = itertools.count(1)
PASSWORD = "correct-horse-9"
_PASSWORD_HASH: str | None = None


def password_hash() -> str:
    """One Argon2 hash of PASSWORD, computed once (hashing is slow on purpose)."""
    global _PASSWORD_HASH
    if _PASSWORD_HASH is None:
        _PASSWORD_HASH = hash_password(PASSWORD)
    return _PASSWORD_HASH


def make_region(
    session: Session, *, parent: Region | None = None, level: RegionLevel | None = None, **kw: Any
) -> Region:
    n = next(_seq)
    if level is None:
        order = [RegionLevel.CITY, RegionLevel.DISTRICT, RegionLevel.STREET, RegionLevel.COMMUNITY]
        level = order[order.index(parent.level) + 1] if parent else RegionLevel.CITY
    code = kw.pop("code", f"{990000000000 + n * 1000:012d}"[-12:])
    region = Region(
        code=code,
        name=kw.pop("name", f"区域{n}"),
        level=level,
        parent_id=parent.id if parent else None,
        path=(parent.path if parent else "/") + code + "/",
        **kw,
    )
    session.add(region)
    session.flush()
    return region


def make_grid(session: Session, community: Region, **kw: Any) -> Grid:
    n = next(_seq)
    grid = Grid(
        code=kw.pop("code", f"G-{n}"),
        name=kw.pop("name", f"网格{n}"),
        region_id=community.id,
        region_path=community.path,
        **kw,
    )
    session.add(grid)
    session.flush()
    return grid


def make_enterprise(session: Session, grid: Grid, **kw: Any) -> Enterprise:
    n = next(_seq)
    enterprise = Enterprise(
        credit_code=kw.pop("credit_code", credit_code.generate()),
        name=kw.pop("name", f"测试企业{n}有限公司"),
        address=kw.pop("address", f"测试路{n}号"),
        lat=kw.pop("lat", 31.7),
        lng=kw.pop("lng", 119.9),
        industry=kw.pop("industry", Industry.INDUSTRY_TRADE),
        risk_color=kw.pop("risk_color", RiskColor.YELLOW),
        grid_id=grid.id,
        region_path=grid.region_path,
        credit_code_valid=kw.pop("credit_code_valid", True),
        active=kw.pop("active", True),
        **kw,
    )
    session.add(enterprise)
    session.flush()
    return enterprise


def make_user(session: Session, role: Role = Role.REPORTER, **kw: Any) -> User:
    n = next(_seq)
    grids = kw.pop("grids", [])
    user = User(
        username=kw.pop("username", f"user{n}"),
        password_hash=kw.pop("password_hash", password_hash()),
        display_name=kw.pop("display_name", f"用户{n}"),
        role=role,
        token_version=0,
        active=kw.pop("active", True),
        **kw,
    )
    user.grids = grids
    session.add(user)
    session.flush()
    return user


@dataclass
class World:
    """city → district → streets A and B → one community each → one grid each → enterprises."""

    city: Region
    district: Region
    street_a: Region
    street_b: Region
    community_a: Region
    community_b: Region
    grid_a: Grid
    grid_b: Grid
    enterprise_a: Enterprise
    enterprise_a2: Enterprise
    enterprise_b: Enterprise
    admin: User
    district_supervisor: User
    street_supervisor: User  # of street A
    inspector: User  # of grid A
    officer: User  # of enterprise A
    reporter: User


def build_world(session: Session) -> World:
    city = make_region(session, name="测试市")
    district = make_region(session, parent=city, name="测试区")
    street_a = make_region(session, parent=district, name="甲街道")
    street_b = make_region(session, parent=district, name="乙街道")
    community_a = make_region(session, parent=street_a, name="甲社区")
    community_b = make_region(session, parent=street_b, name="乙社区")
    grid_a = make_grid(session, community_a, name="甲网格")
    grid_b = make_grid(session, community_b, name="乙网格")
    enterprise_a = make_enterprise(session, grid_a, name="甲企业")
    enterprise_a2 = make_enterprise(session, grid_a, name="甲二企业")
    enterprise_b = make_enterprise(session, grid_b, name="乙企业")
    world = World(
        city=city,
        district=district,
        street_a=street_a,
        street_b=street_b,
        community_a=community_a,
        community_b=community_b,
        grid_a=grid_a,
        grid_b=grid_b,
        enterprise_a=enterprise_a,
        enterprise_a2=enterprise_a2,
        enterprise_b=enterprise_b,
        admin=make_user(session, Role.ADMIN, username="admin-t"),
        district_supervisor=make_user(session, Role.SUPERVISOR, region_id=district.id),
        street_supervisor=make_user(session, Role.SUPERVISOR, region_id=street_a.id),
        inspector=make_user(session, Role.INSPECTOR, grids=[grid_a]),
        officer=make_user(session, Role.ENTERPRISE_OFFICER, enterprise_id=enterprise_a.id),
        reporter=make_user(session, Role.REPORTER, openid="openid-reporter"),
    )
    session.commit()
    return world


def make_hazard(session: Session, enterprise: Enterprise, **kw: Any) -> Hazard:
    """A hazard row as the statistics see it (no events: the workflow is tested elsewhere)."""
    n = next(_seq)
    created = kw.pop("created_at")
    hazard = Hazard(
        number=kw.pop("number", f"YHTEST-{n:08d}"),
        enterprise_id=enterprise.id,
        grid_id=enterprise.grid_id,
        region_path=enterprise.region_path,
        source=kw.pop("source", HazardSource.INSPECTION),
        origin=kw.pop("origin", HazardOrigin.APP),
        category=kw.pop("category", HazardCategory.FIRE),
        description=kw.pop("description", f"隐患{n}"),
        level=kw.pop("level", HazardLevel.GENERAL),
        status=kw.pop("status", HazardStatus.REPORTED),
        version=1,
        event_seq=0,
        last_event_hash="0" * 64,
        created_at=created,
        updated_at=created,
        **kw,
    )
    if hazard.deadline is not None and hazard.original_deadline is None:
        hazard.original_deadline = hazard.deadline
    session.add(hazard)
    session.flush()
    return hazard
