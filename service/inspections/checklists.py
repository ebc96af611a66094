"""排查清单: checklists kept by an enterprise or shared by a region's office (maybe for one
industry), and their attachment to risk points with a frequency and an assignee."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from service.access.scoping import Actor, enterprise_scope, under
from service.core.context import Context
from service.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from service.core.pagination import Page, paginate
from service.directory.models import Enterprise, Region, User, grid_inspectors
from service.directory.regions import _visible_region
from service.inspections.models import Checklist, ChecklistItem, PointChecklist, ShiftSchedule
from service.inspections.windows import DEFAULT_SHIFTS
from service.risks.points import managed_enterprise, managed_point, visible_point
from uploads_schema.vocabulary import Frequency, Industry, Role

# Who may do an attached checklist, by role at the point's enterprise.
ASSIGNEE_ROLES = (Role.ENTERPRISE_OFFICER, Role.INSPECTOR, Role.SUPERVISOR)


@dataclass(frozen=True)
class ItemInput:
    """An item as edited: `id` keeps an existing item (changed in place), none adds one."""

    content: str
    basis: str = ""
    method: str = ""
    id: int | None = None


def _visible_condition(actor: Actor) -> ColumnElement[bool]:
    # Shared lists are standards, readable by every member of staff; an enterprise's own
    # list is seen like the enterprise.
    own = Checklist.enterprise_id.in_(select(Enterprise.id).where(enterprise_scope(actor)))
    if actor.role is Role.REPORTER:
        return own
    return or_(Checklist.enterprise_id.is_(None), own)


def _visible(session: Session, actor: Actor, checklist_id: int) -> Checklist:
    found = session.scalar(
        select(Checklist).where(Checklist.id == checklist_id, _visible_condition(actor))
    )
    if found is None:
        raise NotFound("排查清单不存在", "Checklist not found")
    return found


def _require_editor(session: Session, actor: Actor, checklist: Checklist) -> None:
    if checklist.enterprise_id is not None:
        managed_enterprise(session, actor, checklist.enterprise_id)
        return
    if actor.is_admin or (
        actor.role is Role.SUPERVISOR and under(checklist.region_path, actor.region_path)
    ):
        return
    raise PermissionDenied(
        "共享清单由发布它的监管部门维护", "A shared checklist is kept by the office sharing it"
    )


def _set_items(session: Session, checklist: Checklist, items: list[ItemInput]) -> None:
    if not items:
        raise ValidationFailed(errors={"items": ["清单至少需要一项 / at least one item"]})
    current = {
        i.id: i
        for i in session.scalars(
            select(ChecklistItem).where(
                ChecklistItem.checklist_id == checklist.id, ChecklistItem.active
            )
        )
    }
    kept = set()
    for position, given in enumerate(items):
        if given.id is not None:
            item = current.get(given.id)
            if item is None:
                raise ValidationFailed(errors={"items": [f"未知的条目 / unknown item {given.id}"]})
            kept.add(item.id)
        else:
            item = ChecklistItem(checklist_id=checklist.id, active=True)
            session.add(item)
        item.position, item.content = position, given.content.strip()
        item.basis, item.method = given.basis.strip(), given.method.strip()
    # Items no longer listed are retired, not deleted: done tasks keep their answers.
    for item_id, item in current.items():
        if item_id not in kept:
            item.active = False
    session.flush()
    session.expire(checklist, ["items"])


def create_checklist(
    ctx: Context,
    actor: Actor,
    *,
    name: str,
    items: list[ItemInput],
    enterprise_id: int | None = None,
    region_id: int | None = None,
    industry: Industry | None = None,
) -> Checklist:
    """Create a checklist: an enterprise's own (its officer, an admin), or one a region's
    office shares with the enterprises below it, maybe for one industry (a supervisor of
    that region, an admin)."""
    with ctx.uow() as uow:
        s = uow.session
        if actor.role is Role.ENTERPRISE_OFFICER and enterprise_id is None and region_id is None:
            enterprise_id = actor.enterprise_id  # an officer's list is their enterprise's
        if enterprise_id is not None:
            enterprise = managed_enterprise(s, actor, enterprise_id)
            checklist = Checklist(enterprise_id=enterprise.id, region_path=enterprise.region_path)
        else:
            if actor.role not in (Role.ADMIN, Role.SUPERVISOR):
                raise PermissionDenied(
                    "只有监管部门可以发布共享清单", "Only supervisors share checklists"
                )
            region_id = region_id or actor.region_id
            if region_id is None:
                raise ValidationFailed(errors={"region_id": ["共享清单须指定区域 / required"]})
            region: Region = _visible_region(s, actor, region_id)
            checklist = Checklist(region_id=region.id, region_path=region.path, industry=industry)
        checklist.name, checklist.active = name.strip(), True
        checklist.created_by_id, checklist.created_at = actor.user_id or None, ctx.now()
        s.add(checklist)
        s.flush()
        _set_items(s, checklist, items)
        uow.commit()
        s.refresh(checklist)
        return checklist


def update_checklist(
    ctx: Context,
    actor: Actor,
    checklist_id: int,
    *,
    name: str | None = None,
    items: list[ItemInput] | None = None,
    active: bool | None = None,
) -> Checklist:
    """Rename, re-edit the items of, or retire a checklist."""
    if actor.role not in (Role.ADMIN, Role.SUPERVISOR, Role.ENTERPRISE_OFFICER):
        raise PermissionDenied("没有权限修改排查清单", "You may not change checklists")
    with ctx.uow() as uow:
        s = uow.session
        checklist = _visible(s, actor, checklist_id)
        _require_editor(s, actor, checklist)
        if name is not None:
            checklist.name = name.strip()
        if active is not None:
            checklist.active = active
        if items is not None:
            _set_items(s, checklist, items)
        uow.commit()
        s.refresh(checklist)
        return checklist


def get_checklist(ctx: Context, actor: Actor, checklist_id: int) -> Checklist:
    """One checklist with its current items."""
    with ctx.read() as uow:
        return _visible(uow.session, actor, checklist_id)


def list_checklists(
    ctx: Context,
    actor: Actor,
    *,
    enterprise_id: int | None = None,
    shared: bool | None = None,
    page: int = 1,
    page_size: int = 20,
) -> Page[Checklist]:
    """Checklists the caller may see; with `enterprise_id`, those that enterprise may use
    (its own, and the shared ones of its regions and industry)."""
    query = select(Checklist).where(_visible_condition(actor), Checklist.active)
    if shared is not None:
        query = query.where(
            Checklist.enterprise_id.is_(None) if shared else Checklist.enterprise_id.is_not(None)
        )
    with ctx.read() as uow:
        if enterprise_id is not None:
            enterprise = uow.session.scalar(
                select(Enterprise).where(Enterprise.id == enterprise_id, enterprise_scope(actor))
            )
            if enterprise is None:
                raise NotFound("企业不存在", "Enterprise not found")
            query = query.where(usable_by(enterprise))
        return paginate(uow.session, query.order_by(Checklist.id), page, page_size)


def usable_by(enterprise: Enterprise) -> ColumnElement[bool]:
    """SQL: checklists an enterprise may attach: its own, and those shared by a region above
    it for every industry or for its own."""
    return or_(
        Checklist.enterprise_id == enterprise.id,
        and_(
            Checklist.enterprise_id.is_(None),
            func.substr(enterprise.region_path, 1, func.length(Checklist.region_path))
            == Checklist.region_path,
            or_(Checklist.industry.is_(None), Checklist.industry == enterprise.industry),
        ),
    )


# --- attachments ------------------------------------------------------------------------------


def _check_assignee(
    s: Session, enterprise: Enterprise, role: Role | None, user_id: int | None
) -> None:
    if (role is None) == (user_id is None):
        raise ValidationFailed(
            "请指定执行角色或具体人员（二选一）",
            "Name either a role or a person to do it",
            errors={"assignee_role": ["角色或人员二选一 / a role or a person"]},
        )
    if role is not None and role not in ASSIGNEE_ROLES:
        raise ValidationFailed(errors={"assignee_role": ["不能分派给该角色 / not this role"]})
    if user_id is not None:
        user = s.get(User, user_id)
        inspects = s.scalar(
            select(grid_inspectors.c.user_id).where(
                grid_inspectors.c.user_id == user_id,
                grid_inspectors.c.grid_id == enterprise.grid_id,
            )
        )
        if (
            user is None
            or not user.active
            or not (user.enterprise_id == enterprise.id or inspects is not None)
        ):
            raise ValidationFailed(
                "执行人须为本企业人员或本网格网格员",
                "The person must work at the enterprise or inspect its grid",
                errors={"assignee_user_id": ["不是本企业人员 / not at this enterprise"]},
            )


def attach(
    ctx: Context,
    actor: Actor,
    point_id: int,
    *,
    checklist_id: int,
    frequency: Frequency,
    assignee_role: Role | None = None,
    assignee_user_id: int | None = None,
) -> PointChecklist:
    """Attach a checklist to a point, how often and by whom; tasks follow from the next
    `flask inspections generate`."""
    with ctx.uow() as uow:
        s = uow.session
        point = managed_point(s, actor, point_id)
        enterprise = s.get(Enterprise, point.enterprise_id)
        assert enterprise is not None
        checklist = s.scalar(
            select(Checklist).where(
                Checklist.id == checklist_id, Checklist.active, usable_by(enterprise)
            )
        )
        if checklist is None:
            raise NotFound("排查清单不存在或不适用于该企业", "Checklist not usable here")
        _check_assignee(s, enterprise, assignee_role, assignee_user_id)
        attachment = s.scalar(
            select(PointChecklist).where(
                PointChecklist.point_id == point.id, PointChecklist.checklist_id == checklist.id
            )
        )
        if attachment is not None and attachment.active:
            raise Conflict("该清单已关联到此风险点", "This checklist is already attached")
        if attachment is None:
            attachment = PointChecklist(point_id=point.id, checklist_id=checklist.id)
            s.add(attachment)
        attachment.frequency, attachment.active = frequency, True
        attachment.assignee_role, attachment.assignee_user_id = assignee_role, assignee_user_id
        attachment.created_at = ctx.now()
        uow.commit()
        return attachment


def detach(ctx: Context, actor: Actor, point_id: int, attachment_id: int) -> PointChecklist:
    """Stop a checklist at a point: no new tasks; those generated stay."""
    with ctx.uow() as uow:
        s = uow.session
        point = managed_point(s, actor, point_id)
        attachment = s.scalar(
            select(PointChecklist).where(
                PointChecklist.id == attachment_id, PointChecklist.point_id == point.id
            )
        )
        if attachment is None or not attachment.active:
            raise NotFound("关联不存在", "Attachment not found")
        attachment.active = False
        uow.commit()
        return attachment


def list_attachments(ctx: Context, actor: Actor, point_id: int) -> list[PointChecklist]:
    """The checklists attached to a point."""
    with ctx.read() as uow:
        point = visible_point(uow.session, actor, point_id)
        return list(
            uow.session.scalars(
                select(PointChecklist)
                .where(PointChecklist.point_id == point.id, PointChecklist.active)
                .order_by(PointChecklist.id)
            )
        )


def set_shifts(ctx: Context, actor: Actor, enterprise_id: int, starts: list[str]) -> list[str]:
    """Set the enterprise's shift start times for checks done 每班."""
    with ctx.uow() as uow:
        s = uow.session
        managed_enterprise(s, actor, enterprise_id)
        row = s.get(ShiftSchedule, enterprise_id) or ShiftSchedule(enterprise_id=enterprise_id)
        row.starts = sorted(set(starts))
        s.add(row)
        uow.commit()
        return row.starts


def shifts_of(ctx: Context, actor: Actor, enterprise_id: int) -> list[str]:
    """The enterprise's shift start times (the default 08:00, 16:00, 24:00 without its own)."""

    with ctx.read() as uow:
        s = uow.session
        if (
            s.scalar(
                select(Enterprise.id).where(Enterprise.id == enterprise_id, enterprise_scope(actor))
            )
            is None
        ):
            raise NotFound("企业不存在", "Enterprise not found")
        row = s.get(ShiftSchedule, enterprise_id)
        return list(row.starts) if row else sorted(DEFAULT_SHIFTS)
