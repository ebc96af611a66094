"""Risk points (风险点) and their assessments: the enterprise's officer manages its points;
inspectors, supervisors and admins see them as they see the enterprise."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.access.scoping import Actor, enterprise_scope, subtree
from service.core.context import Context
from service.core.errors import Conflict, NotFound, PermissionDenied
from service.core.pagination import Page, count_total, page_window
from service.directory.models import Enterprise, Point
from service.directory.regions import _visible_region
from service.inspections.tasks import out_of_control_condition
from service.risks.grading import grade
from service.risks.models import Assessment
from uploads_schema.vocabulary import (
    AssessmentMethod,
    ControlLevel,
    PointKind,
    RiskColor,
    Role,
)

# Who may change an enterprise's points, assessments and checklists.
MANAGERS = (Role.ADMIN, Role.ENTERPRISE_OFFICER)


@dataclass
class PointDoc:
    """A point with its state now: 失控 (out of control) or not."""

    point: Point
    enterprise_name: str
    out_of_control: bool

    def __getattr__(self, name: str) -> Any:
        return getattr(self.point, name)  # the point's own fields, for the schema


def require_manager(actor: Actor) -> None:
    """Points, assessments and checklists are changed by the enterprise (or an admin)."""
    if actor.role not in MANAGERS:
        raise PermissionDenied(
            "只有企业安全管理人员可以管理风险点和排查清单",
            "Only the enterprise's safety officer (or an admin) manages risk points",
        )


def managed_enterprise(session: Session, actor: Actor, enterprise_id: int) -> Enterprise:
    """An enterprise the actor manages (403 for roles that never do, 404 outside scope)."""
    require_manager(actor)
    enterprise = session.scalar(
        select(Enterprise).where(Enterprise.id == enterprise_id, enterprise_scope(actor))
    )
    if enterprise is None:
        raise NotFound("企业不存在", "Enterprise not found")
    return enterprise


def _point_query(actor: Actor):  # type: ignore[no-untyped-def]
    return (
        select(Point, Enterprise.name)
        .join(Enterprise, Enterprise.id == Point.enterprise_id)
        .where(enterprise_scope(actor))
    )


def visible_point(session: Session, actor: Actor, point_id: int) -> Point:
    """A point at an enterprise in the actor's scope (404 otherwise)."""
    row = session.execute(_point_query(actor).where(Point.id == point_id)).first()
    if row is None:
        raise NotFound("风险点不存在", "Risk point not found")
    return row[0]  # type: ignore[no-any-return]


def managed_point(session: Session, actor: Actor, point_id: int) -> Point:
    """A point the actor manages (403 for roles that never do, 404 outside scope)."""
    require_manager(actor)
    return visible_point(session, actor, point_id)


def _doc(ctx: Context, session: Session, point: Point) -> PointDoc:
    out = session.scalar(select(out_of_control_condition(point.id, ctx.now())))
    enterprise = session.get(Enterprise, point.enterprise_id)
    return PointDoc(point, enterprise.name if enterprise else "", bool(out))


def create_point(
    ctx: Context, actor: Actor, *, enterprise_id: int, name: str, **fields: Any
) -> PointDoc:
    """Register a risk point at an enterprise."""
    with ctx.uow() as uow:
        s = uow.session
        managed_enterprise(s, actor, enterprise_id)
        point = Point(enterprise_id=enterprise_id, name=name.strip(), **fields)
        try:
            with s.begin_nested():
                s.add(point)
                s.flush()
        except IntegrityError:
            raise Conflict("该企业已有同名风险点", "A point of this name exists") from None
        uow.commit()
        return _doc(ctx, s, point)


def update_point(ctx: Context, actor: Actor, point_id: int, **fields: Any) -> PointDoc:
    """Change a point's description (its level changes only by assessment)."""
    with ctx.uow() as uow:
        s = uow.session
        point = managed_point(s, actor, point_id)
        for key, value in fields.items():
            setattr(point, key, value.strip() if key == "name" else value)
        try:
            with s.begin_nested():
                s.flush()
        except IntegrityError:
            raise Conflict("该企业已有同名风险点", "A point of this name exists") from None
        uow.commit()
        return _doc(ctx, s, point)


def get_point(ctx: Context, actor: Actor, point_id: int) -> PointDoc:
    """One point in scope, with its state."""
    with ctx.read() as uow:
        return _doc(ctx, uow.session, visible_point(uow.session, actor, point_id))


def list_points(
    ctx: Context,
    actor: Actor,
    *,
    enterprise_id: int | None = None,
    region_id: int | None = None,
    risk_level: RiskColor | None = None,
    kind: PointKind | None = None,
    control_level: ControlLevel | None = None,
    out_of_control: bool | None = None,
    page: int = 1,
    page_size: int = 20,
) -> Page[PointDoc]:
    """Points in scope with their level and state (the 四色 table of an enterprise)."""
    now = ctx.now()
    state = out_of_control_condition(Point.id, now).label("out_of_control")
    query = (
        select(Point, Enterprise.name, state)
        .join(Enterprise, Enterprise.id == Point.enterprise_id)
        .where(enterprise_scope(actor), Point.active)
    )
    if enterprise_id is not None:
        query = query.where(Point.enterprise_id == enterprise_id)
    if risk_level is not None:
        query = query.where(Point.risk_level == risk_level)
    if kind is not None:
        query = query.where(Point.kind == kind)
    if control_level is not None:
        query = query.where(Point.control_level == control_level)
    if out_of_control is not None:
        condition = out_of_control_condition(Point.id, now)
        query = query.where(condition if out_of_control else ~condition)
    with ctx.read() as uow:
        if region_id is not None:
            region = _visible_region(uow.session, actor, region_id)
            query = query.where(subtree(Enterprise.region_path, region.path))
        page, page_size = page_window(page, page_size)
        s = uow.session
        total = count_total(s, select(func.count()).select_from(query.subquery()), None)
        rows = s.execute(
            query.order_by(Point.enterprise_id, Point.id)
            .offset((page - 1) * page_size)
            .limit(page_size)
        ).all()
        return Page(
            items=[PointDoc(p, name, bool(out)) for p, name, out in rows],
            page=page,
            page_size=page_size,
            total=total,
        )


def assess(
    ctx: Context,
    actor: Actor,
    point_id: int,
    *,
    method: AssessmentMethod,
    inputs: dict[str, Any] | None = None,
    level: RiskColor | None = None,
    reason: str = "",
    assessor_name: str = "",
) -> Assessment:
    """Assess a point (风险评价): the grade by its method becomes the point's level; earlier
    assessments stay as its history."""
    result = grade(method, inputs, level=level, reason=reason)
    with ctx.uow() as uow:
        s = uow.session
        point = managed_point(s, actor, point_id)
        seq = (
            s.scalar(select(func.max(Assessment.seq)).where(Assessment.point_id == point.id)) or 0
        ) + 1
        assessment = Assessment(
            point_id=point.id,
            method=method,
            inputs=result.inputs,
            score=result.score,
            level=result.level,
            reason=reason.strip(),
            assessed_by_id=actor.user_id or None,
            assessor_name=assessor_name.strip(),
            created_at=ctx.now(),
            seq=seq,
        )
        point.risk_level = result.level
        try:
            with s.begin_nested():
                s.add(assessment)
                s.flush()
        except IntegrityError:
            raise Conflict(
                "该风险点正在被另一人评价，请重试", "Assessed concurrently; retry"
            ) from None
        uow.commit()
        return assessment


def list_assessments(ctx: Context, actor: Actor, point_id: int) -> list[Assessment]:
    """A point's assessments, latest first (its grading history)."""
    with ctx.read() as uow:
        point = visible_point(uow.session, actor, point_id)
        return list(
            uow.session.scalars(
                select(Assessment)
                .where(Assessment.point_id == point.id)
                .order_by(Assessment.seq.desc())
            )
        )
