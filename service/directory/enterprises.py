"""Use cases for enterprises: register, edit, list in scope."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.access.scoping import Actor, enterprise_scope, subtree
from service.core.context import Context
from service.core.errors import Conflict, NotFound, ValidationFailed
from service.core.pagination import Page, paginate
from service.directory import credit_code
from service.directory.models import Enterprise, Grid
from service.directory.regions import _visible_region, require_admin
from uploads_schema.vocabulary import Industry, RiskColor

CHECKSUM_WARNING = "credit_code_checksum"


@dataclass
class EnterpriseResult:
    """An enterprise and any warnings raised while saving it."""

    enterprise: Enterprise
    warnings: list[str] = field(default_factory=list)


def checked_credit_code(raw: str) -> tuple[str, bool]:
    """Normalize a credit code; malformed is refused, a bad checksum only flagged."""
    result = credit_code.check(raw)
    if not result.wellformed:
        raise ValidationFailed(
            errors={
                "credit_code": [
                    "统一社会信用代码应为 18 位数字或大写字母（不含 I、O、S、V、Z） / "
                    "must be 18 characters of the GB 32100 alphabet"
                ]
            }
        )
    return result.code, result.checksum_ok


def _visible(session: Session, actor: Actor, enterprise_id: int) -> Enterprise:
    enterprise = session.scalar(
        select(Enterprise).where(Enterprise.id == enterprise_id, enterprise_scope(actor))
    )
    if enterprise is None:
        raise NotFound("企业不存在", "Enterprise not found")
    return enterprise


def _grid(session: Session, grid_id: int) -> Grid:
    grid = session.get(Grid, grid_id)
    if grid is None:
        raise ValidationFailed(errors={"grid_id": ["网格不存在 / no such grid"]})
    return grid


def _filtered(
    session: Session,
    actor: Actor,
    *,
    region_id: int | None = None,
    grid_id: int | None = None,
    industry: Industry | None = None,
    risk_color: RiskColor | None = None,
    active: bool | None = None,
    q: str | None = None,
) -> Select[tuple[Enterprise]]:
    """Enterprises in the actor's scope matching the filters (a region outside it is 404)."""
    query = select(Enterprise).where(enterprise_scope(actor))
    if grid_id is not None:
        query = query.where(Enterprise.grid_id == grid_id)
    if industry is not None:
        query = query.where(Enterprise.industry == industry)
    if risk_color is not None:
        query = query.where(Enterprise.risk_color == risk_color)
    if active is not None:
        query = query.where(Enterprise.active.is_(active))
    if q:
        query = query.where(
            or_(
                Enterprise.name.contains(q, autoescape=True),
                Enterprise.credit_code == credit_code.normalize(q),
            )
        )
    if region_id is not None:
        region = _visible_region(session, actor, region_id)
        query = query.where(subtree(Enterprise.region_path, region.path))
    return query


def list_enterprises(
    ctx: Context, actor: Actor, *, page: int = 1, page_size: int = 20, **filters: Any
) -> Page[Enterprise]:
    """Enterprises in the actor's scope, filtered (`_filtered`), ordered by id."""
    with ctx.read() as uow:
        query = _filtered(uow.session, actor, **filters).order_by(Enterprise.id)
        return paginate(uow.session, query, page, page_size)


# As for hazards (service.hazards.locations): one answer a map draws at once.
MAX_LOCATED = 5000


def located_enterprises(
    ctx: Context, actor: Actor, limit: int = MAX_LOCATED, **filters: Any
) -> tuple[list[Enterprise], bool]:
    """Enterprises in the actor's scope matching the filters that have coordinates, by id,
    at most `limit`; and whether more were left out (一张图)."""
    with ctx.read() as uow:
        query = (
            _filtered(uow.session, actor, **filters)
            .where(Enterprise.lat.is_not(None), Enterprise.lng.is_not(None))
            .order_by(Enterprise.id)
            .limit(limit + 1)
        )
        found = list(uow.session.scalars(query))
    return found[:limit], len(found) > limit


def get_enterprise(ctx: Context, actor: Actor, enterprise_id: int) -> Enterprise:
    """One enterprise, if in scope."""
    with ctx.read() as uow:
        return _visible(uow.session, actor, enterprise_id)


def create_enterprise(ctx: Context, actor: Actor, **values: Any) -> EnterpriseResult:
    """Register an enterprise; a checksum mismatch is kept with a warning."""
    require_admin(actor)
    with ctx.uow() as uow:
        result = _create(uow.session, values)
        try:
            uow.flush()
        except IntegrityError as exc:
            raise Conflict("该统一社会信用代码已登记", "Credit code already registered") from exc
        uow.commit()
        return result


def _create(session: Session, values: dict[str, Any]) -> EnterpriseResult:
    code, valid = checked_credit_code(values["credit_code"])
    grid = _grid(session, values["grid_id"])
    enterprise = Enterprise(
        credit_code=code,
        credit_code_valid=valid,
        name=values["name"].strip(),
        address=(values.get("address") or "").strip(),
        lat=values.get("lat"),
        lng=values.get("lng"),
        industry=values["industry"],
        risk_color=values["risk_color"],
        grid_id=grid.id,
        region_path=grid.region_path,
        active=values.get("active", True),
    )
    session.add(enterprise)
    return EnterpriseResult(enterprise, [] if valid else [CHECKSUM_WARNING])


def _apply_changes(session: Session, enterprise: Enterprise, values: dict[str, Any]) -> list[str]:
    warnings: list[str] = []
    if "credit_code" in values:
        enterprise.credit_code, enterprise.credit_code_valid = checked_credit_code(
            values["credit_code"]
        )
    if not enterprise.credit_code_valid:
        warnings.append(CHECKSUM_WARNING)
    if "grid_id" in values:
        grid = _grid(session, values["grid_id"])
        enterprise.grid_id, enterprise.region_path = grid.id, grid.region_path
    for name in ("name", "address"):
        if name in values:
            setattr(enterprise, name, (values[name] or "").strip())
    for name in ("lat", "lng", "industry", "risk_color", "active"):
        if name in values:
            setattr(enterprise, name, values[name])
    return warnings


def update_enterprise(
    ctx: Context, actor: Actor, enterprise_id: int, **values: Any
) -> EnterpriseResult:
    """Change an enterprise's fields; moving it to another grid moves its scope."""
    require_admin(actor)
    with ctx.uow() as uow:
        enterprise = _visible(uow.session, actor, enterprise_id)
        warnings = _apply_changes(uow.session, enterprise, values)
        try:
            uow.flush()
        except IntegrityError as exc:
            raise Conflict("该统一社会信用代码已登记", "Credit code already registered") from exc
        uow.commit()
        return EnterpriseResult(enterprise, warnings)
