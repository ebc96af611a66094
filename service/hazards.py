"""Hazard use cases: report, assign, plan (五落实), submit fix, verify, reject, reopen, extend.

Each use case is one transaction; status changes go through `workflow.apply`, which appends
the hash-chained event. Writes take an optional `IdempotencyKey` and expected version.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, literal, or_, select, true, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, lazyload

from service import idempotency, outbox, workflow
from service.context import Context
from service.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from service.idempotency import IdempotencyKey
from service.models import (
    Enterprise,
    Hazard,
    HazardAction,
    HazardCategory,
    HazardCounter,
    HazardEvent,
    HazardLevel,
    HazardMedia,
    HazardOrigin,
    HazardSource,
    HazardStatus,
    Media,
    MediaRole,
    MediaStatus,
    NotificationKind,
    Point,
    Region,
    Role,
    User,
    grid_inspectors,
)
from service.qrcodes import scanned_code
from service.regions import _visible_region
from service.scoping import Actor, enterprise_scope

CHINA = ZoneInfo("Asia/Shanghai")  # numbers carry the local date the office works by
MAX_PHOTOS = 9
PLAN_FIELDS = ("responsible_person", "measures", "funds", "deadline", "contingency_plan")
OPEN_STATUSES = (HazardStatus.REPORTED, HazardStatus.RECTIFYING, HazardStatus.VERIFYING)
SOURCE_BY_ROLE = {
    Role.REPORTER: HazardSource.PUBLIC_TIP,
    Role.ENTERPRISE_OFFICER: HazardSource.SELF_CHECK,
    Role.INSPECTOR: HazardSource.INSPECTION,
    Role.SUPERVISOR: HazardSource.INSPECTION,
}


class MediaInvalid(ValidationFailed):
    code = "media_invalid"
    message = "照片无效：请重新上传后再提交"
    message_en = "Photos must be your own recent uploads, not yet used"


class PlanIncomplete(Conflict):
    code = "plan_incomplete"
    message = "重大隐患须先完善“五落实”方案（责任人、措施、资金、时限、预案）"
    message_en = "A major hazard needs a complete plan (person, measures, funds, deadline, plan)"


class ReceiptNotFound(NotFound):
    code = "receipt_not_found"
    message, message_en = "回执码无效", "Unknown receipt key"


# --- scope and loading -------------------------------------------------------------------------


def hazard_scope(actor: Actor) -> ColumnElement[bool]:
    """Hazards the actor may see: those they manage (like enterprises) and their own reports."""
    own = Hazard.reporter_id == actor.user_id
    match actor.role:
        case Role.ADMIN:
            return true()
        case Role.SUPERVISOR:
            if not actor.region_path:
                return own
            return or_(Hazard.region_path.like(f"{actor.region_path}%"), own)
        case Role.INSPECTOR:
            if not actor.grid_ids:
                return own
            return or_(Hazard.grid_id.in_(actor.grid_ids), own)
        case Role.ENTERPRISE_OFFICER:
            if actor.enterprise_id is None:
                return own
            return or_(Hazard.enterprise_id == actor.enterprise_id, own)
        case _:
            return own


def _load(session: Session, actor: Actor, hazard_id: int, *, lock: bool = False) -> Hazard:
    query = select(Hazard).where(Hazard.id == hazard_id, hazard_scope(actor))
    if lock:
        # Serializes concurrent transitions of one hazard (PostgreSQL; SQLite locks the file).
        query = query.with_for_update(of=Hazard)
    hazard = session.scalar(query)
    if hazard is None:
        raise NotFound("隐患不存在", "Hazard not found")
    return hazard


def shows_reporter(actor: Actor, hazard: Hazard) -> bool:
    """举报人信息保护: enterprise roles never see who reported; offices and the reporter do."""
    if hazard.reporter_id is None:
        return False
    if actor.user_id == hazard.reporter_id:
        return True
    return actor.role in (Role.ADMIN, Role.SUPERVISOR, Role.INSPECTOR)


# --- numbers -----------------------------------------------------------------------------------


def _district_code(region_path: str) -> str:
    codes = [c for c in region_path.split("/") if c]
    return (codes[1] if len(codes) > 1 else codes[0])[:6]


def next_number(session: Session, region_path: str, at: datetime) -> str:
    """`YH<district>-<yyyymmdd>-<seq>`: a per-district daily counter, row-locked on increment."""
    day = at.astimezone(CHINA).strftime("%Y%m%d")
    district = _district_code(region_path)
    scope = f"{district}-{day}"
    for _ in range(3):
        value = session.scalar(
            update(HazardCounter)
            .where(HazardCounter.scope == scope)
            .values(value=HazardCounter.value + 1)
            .returning(HazardCounter.value)
        )
        if value is not None:
            return f"YH{district}-{day}-{value:04d}"
        try:
            with session.begin_nested():
                session.add(HazardCounter(scope=scope, value=1))
            return f"YH{district}-{day}-0001"
        except IntegrityError:
            continue  # another report created the counter first; increment it instead
    raise Conflict("生成隐患编号失败，请重试", "Could not allocate a hazard number; retry")


# --- photos ------------------------------------------------------------------------------------


def _attach(
    session: Session,
    hazard: Hazard,
    media_ids: list[int],
    *,
    uploader_id: int | None,
    role: MediaRole,
    at: datetime,
    minimum: int,
    event_seq: int,
    anonymous: bool = False,
) -> list[int]:
    """Attach the uploader's own pending photos to the hazard, each at most once."""
    ids = list(dict.fromkeys(media_ids))
    if len(ids) != len(media_ids):
        raise MediaInvalid(errors={"media_ids": ["重复的照片 / duplicate ids"]})
    if not minimum <= len(ids) <= MAX_PHOTOS:
        raise MediaInvalid(
            f"请上传 {minimum}～{MAX_PHOTOS} 张照片",
            f"Attach {minimum} to {MAX_PHOTOS} photos",
            errors={"media_ids": [f"{minimum}..{MAX_PHOTOS} photos"]},
        )
    if not ids:
        return []
    rows = {
        m.id: m
        for m in session.scalars(select(Media).where(Media.id.in_(ids)).with_for_update(of=Media))
    }
    bad = [
        i
        for i in ids
        if i not in rows
        or rows[i].status is not MediaStatus.PENDING
        or rows[i].uploader_id != uploader_id
    ]
    if bad:
        raise MediaInvalid(errors={"media_ids": [f"unusable: {bad}"]})
    for position, media_id in enumerate(ids):
        media = rows[media_id]
        media.status, media.attached_at = MediaStatus.ATTACHED, at
        if anonymous:
            media.uploader_id = None  # no trail from the photo back to the reporter
        session.add(
            HazardMedia(
                hazard_id=hazard.id,
                media_id=media_id,
                role=role,
                position=position,
                event_seq=event_seq,
            )
        )
    return ids


# --- reporting ---------------------------------------------------------------------------------


@dataclass
class ReportResult:
    hazard: Hazard
    receipt_key: str | None = None
    replayed: bool = False


def _receipt_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def report_hazard(
    ctx: Context,
    actor: Actor | None,
    *,
    category: HazardCategory,
    description: str,
    media_ids: list[int],
    qr_token: str | None = None,
    enterprise_id: int | None = None,
    point_id: int | None = None,
    lat: float | None = None,
    lng: float | None = None,
    anonymous: bool = False,
    idem: IdempotencyKey | None = None,
) -> ReportResult:
    """Report a hazard with 1–9 photos, from a scanned code or, for staff, an enterprise id."""
    if actor is not None and actor.role is Role.ADMIN:
        raise PermissionDenied("管理员账号不能上报隐患", "Administrators do not report hazards")
    if actor is None and not anonymous:
        anonymous = True
    for attempt in (1, 2):
        with ctx.uow() as uow:
            s = uow.session
            previous = idempotency.replay(s, idem)
            if previous is not None:
                hazard = s.get(Hazard, previous.resource_id)
                return ReportResult(hazard, previous.extra.get("receipt_key"), replayed=True)
            result = _report(
                ctx,
                s,
                actor,
                category,
                description,
                media_ids,
                qr_token,
                enterprise_id,
                point_id,
                lat,
                lng,
                anonymous,
            )
            extra = {"receipt_key": result.receipt_key} if result.receipt_key else {}
            idempotency.remember(
                s, idem, status_code=201, resource_id=result.hazard.id, extra=extra
            )
            try:
                uow.commit()
            except IntegrityError:
                if idem is not None and attempt == 1:
                    continue  # a concurrent retry with the same key won: replay it
                raise MediaInvalid() from None
            return result
    raise AssertionError("unreachable")


def _source(actor: Actor | None, enterprise: Enterprise) -> HazardSource:
    # Staff reporting outside their own enterprise or grid speak as members of the public.
    if actor is None:
        return HazardSource.PUBLIC_TIP
    if actor.role is Role.ENTERPRISE_OFFICER and actor.enterprise_id != enterprise.id:
        return HazardSource.PUBLIC_TIP
    if actor.role is Role.INSPECTOR and enterprise.grid_id not in actor.grid_ids:
        return HazardSource.PUBLIC_TIP
    if actor.role is Role.SUPERVISOR and not (
        actor.region_path and enterprise.region_path.startswith(actor.region_path)
    ):
        return HazardSource.PUBLIC_TIP
    return SOURCE_BY_ROLE[actor.role]


def _report(
    ctx: Context,
    s: Session,
    actor: Actor | None,
    category: HazardCategory,
    description: str,
    media_ids: list[int],
    qr_token: str | None,
    enterprise_id: int | None,
    point_id: int | None,
    lat: float | None,
    lng: float | None,
    anonymous: bool,
) -> ReportResult:
    now = ctx.now()
    qrcode_id = None
    if qr_token:
        code = scanned_code(s, qr_token)
        enterprise, qrcode_id, point_id = code.enterprise, code.id, code.point_id
        origin = HazardOrigin.SCAN
    else:
        if actor is None or enterprise_id is None:
            raise ValidationFailed(errors={"qr_token": ["扫码后上报 / scan the code first"]})
        enterprise = s.scalar(
            select(Enterprise).where(Enterprise.id == enterprise_id, enterprise_scope(actor))
        )
        if enterprise is None:
            raise NotFound("企业不存在", "Enterprise not found")
        origin = HazardOrigin.APP
        if point_id is not None:
            point = s.get(Point, point_id)
            if point is None or point.enterprise_id != enterprise.id:
                raise ValidationFailed(errors={"point_id": ["点位不属于该企业 / wrong point"]})
    source = _source(actor, enterprise)
    hazard = Hazard(
        number=next_number(s, enterprise.region_path, now),
        enterprise_id=enterprise.id,
        point_id=point_id,
        qrcode_id=qrcode_id,
        grid_id=enterprise.grid_id,
        region_path=enterprise.region_path,
        source=source,
        origin=origin,
        category=category,
        description=description.strip(),
        level=HazardLevel.GENERAL,
        status=HazardStatus.REPORTED,
        version=1,
        event_seq=0,
        last_event_hash=workflow.GENESIS_HASH,
        reporter_id=None if anonymous or actor is None else actor.user_id,
        anonymous=anonymous,
        lat=lat,
        lng=lng,
        created_at=now,
        updated_at=now,
    )
    receipt_key = None
    if anonymous:
        receipt_key = secrets.token_urlsafe(18)
        hazard.receipt_key_hash = _receipt_hash(receipt_key)
    s.add(hazard)
    s.flush()
    hazard.enterprise = enterprise
    ids = _attach(
        s,
        hazard,
        media_ids,
        uploader_id=actor.user_id if actor else None,
        role=MediaRole.BEFORE,
        at=now,
        minimum=1,
        event_seq=1,
        anonymous=anonymous,
    )
    draft = workflow.EventDraft(
        HazardAction.REPORT, None, HazardStatus.REPORTED, "", {"media_ids": ids}
    )
    # An anonymous report's first event names no actor, so the chain cannot unmask them.
    workflow.append_event(s, hazard, draft, None if anonymous else actor, now)
    return ReportResult(hazard, receipt_key)


# --- transitions -------------------------------------------------------------------------------


def _transition(
    ctx: Context,
    actor: Actor,
    hazard_id: int,
    idem: IdempotencyKey | None,
    work: Callable[[Session, Hazard, datetime], None],
) -> Hazard:
    for attempt in (1, 2):
        with ctx.uow() as uow:
            s = uow.session
            previous = idempotency.replay(s, idem)
            if previous is not None:
                return _load(s, actor, previous.resource_id or hazard_id)
            hazard = _load(s, actor, hazard_id, lock=True)
            work(s, hazard, ctx.now())
            idempotency.remember(s, idem, status_code=200, resource_id=hazard.id)
            try:
                uow.commit()
            except IntegrityError:
                if idem is not None and attempt == 1:
                    continue
                raise Conflict() from None
            return hazard
    raise AssertionError("unreachable")


def _require_future(deadline: datetime, now: datetime, field_name: str = "deadline") -> None:
    if deadline.tzinfo is None:
        raise ValidationFailed(errors={field_name: ["请带时区 / include a UTC offset"]})
    if deadline <= now:
        raise ValidationFailed(
            errors={field_name: ["整改期限须晚于当前时间 / must be in the future"]}
        )


def plan_complete(plan: dict[str, Any] | None) -> bool:
    """五落实: every one of the five items is filled in."""
    return bool(plan) and all(str(plan.get(k) or "").strip() for k in PLAN_FIELDS)


def _notify(
    s: Session,
    kind: NotificationKind,
    hazard: Hazard,
    recipient_ids: list[int],
    at: datetime,
) -> None:
    # One message per event and recipient: the event's sequence number makes the key unique.
    for rid in recipient_ids:
        outbox.enqueue(
            s,
            kind=kind,
            hazard=hazard,
            recipient_id=rid,
            dedup_key=f"{kind.value}:{hazard.id}:{hazard.event_seq}:{rid}",
            at=at,
        )


def _verifiers(s: Session, hazard: Hazard) -> list[int]:
    """Who is told that a fix awaits verification: the grid's inspectors, or for 重大 the
    supervisors whose region contains the hazard."""
    if hazard.level is HazardLevel.GENERAL:
        return list(
            s.scalars(
                select(grid_inspectors.c.user_id).where(grid_inspectors.c.grid_id == hazard.grid_id)
            )
        )
    return list(
        s.scalars(
            select(User.id)
            .join(Region, Region.id == User.region_id)
            .where(User.role == Role.SUPERVISOR, User.active.is_(True))
            .where(literal(hazard.region_path).startswith(Region.path))  # an ancestor region
        )
    )


def assign(
    ctx: Context,
    actor: Actor,
    hazard_id: int,
    *,
    assignee_id: int,
    deadline: datetime,
    level: HazardLevel = HazardLevel.GENERAL,
    note: str = "",
    expected_version: int | None = None,
    idem: IdempotencyKey | None = None,
) -> Hazard:
    """交办: name who fixes it and by when; a 重大 hazard needs its plan and is 挂牌督办."""

    def work(s: Session, hazard: Hazard, now: datetime) -> None:
        _require_future(deadline, now)
        assignee = s.get(User, assignee_id)
        if (
            assignee is None
            or not assignee.active
            or assignee.role is not Role.ENTERPRISE_OFFICER
            or assignee.enterprise_id != hazard.enterprise_id
        ):
            raise ValidationFailed(
                errors={"assignee_id": ["须为该企业的安全员 / an officer of this enterprise"]}
            )
        if expected_version is not None and expected_version != hazard.version:
            raise workflow.StaleVersion()
        hazard.level = level
        if level is HazardLevel.MAJOR and not plan_complete(hazard.plan):
            raise PlanIncomplete()
        workflow.apply(
            s,
            hazard,
            HazardAction.ASSIGN,
            actor,
            at=now,
            note=note,
            data={
                "assignee_id": assignee_id,
                "deadline": deadline.isoformat(),
                "level": level.value,
            },
        )
        hazard.assignee_id = assignee_id
        hazard.deadline = deadline
        hazard.original_deadline = hazard.original_deadline or deadline
        hazard.supervised = hazard.supervised or level is HazardLevel.MAJOR
        _notify(s, NotificationKind.ASSIGNED, hazard, [assignee_id], now)

    return _transition(ctx, actor, hazard_id, idem, work)


def file_plan(
    ctx: Context,
    actor: Actor,
    hazard_id: int,
    *,
    expected_version: int | None = None,
    idem: IdempotencyKey | None = None,
    **plan: Any,
) -> Hazard:
    """五落实: record the responsible person, measures, funds, deadline and contingency plan."""

    def work(s: Session, hazard: Hazard, now: datetime) -> None:
        merged = {**(hazard.plan or {}), **{k: v for k, v in plan.items() if k in PLAN_FIELDS}}
        workflow.apply(
            s,
            hazard,
            HazardAction.FILE_PLAN,
            actor,
            at=now,
            data={"plan": merged},
            expected_version=expected_version,
        )
        hazard.plan = merged

    return _transition(ctx, actor, hazard_id, idem, work)


def submit_fix(
    ctx: Context,
    actor: Actor,
    hazard_id: int,
    *,
    note: str,
    media_ids: list[int],
    expected_version: int | None = None,
    idem: IdempotencyKey | None = None,
) -> Hazard:
    """整改完成: after-photos (at least one) and what was done; goes to verification."""

    def work(s: Session, hazard: Hazard, now: datetime) -> None:
        workflow.apply(
            s,
            hazard,
            HazardAction.SUBMIT_FIX,
            actor,
            at=now,
            note=note,
            data={"media_ids": media_ids},
            expected_version=expected_version,
        )
        _attach(
            s,
            hazard,
            media_ids,
            uploader_id=actor.user_id,
            role=MediaRole.AFTER,
            at=now,
            minimum=1,
            event_seq=hazard.event_seq,  # the event just appended
        )
        hazard.fix_note, hazard.fix_submitted_at = note, now
        _notify(s, NotificationKind.FIX_SUBMITTED, hazard, _verifiers(s, hazard), now)

    return _transition(ctx, actor, hazard_id, idem, work)


def verify(
    ctx: Context,
    actor: Actor,
    hazard_id: int,
    *,
    passed: bool,
    note: str = "",
    media_ids: list[int] | None = None,
    expected_version: int | None = None,
    idem: IdempotencyKey | None = None,
) -> Hazard:
    """验收: pass closes it (销号); fail sends it back to rectifying and counts a reopen."""

    def work(s: Session, hazard: Hazard, now: datetime) -> None:
        if not passed and not note.strip():
            raise ValidationFailed(errors={"note": ["验收不通过须说明原因 / reason required"]})
        action = HazardAction.PASS if passed else HazardAction.FAIL
        workflow.apply(
            s,
            hazard,
            action,
            actor,
            at=now,
            note=note,
            data={"media_ids": media_ids or []},
            expected_version=expected_version,
        )
        _attach(
            s,
            hazard,
            media_ids or [],
            uploader_id=actor.user_id,
            role=MediaRole.VERIFICATION,
            at=now,
            minimum=0,
            event_seq=hazard.event_seq,
        )
        if passed:
            hazard.closed_at, hazard.closed_by_id = now, actor.user_id
        else:
            hazard.reopen_count += 1
        assignees = [hazard.assignee_id] if hazard.assignee_id else []
        _notify(s, NotificationKind.VERIFIED, hazard, assignees, now)

    return _transition(ctx, actor, hazard_id, idem, work)


def reject(
    ctx: Context,
    actor: Actor,
    hazard_id: int,
    *,
    reason: str,
    duplicate_of: str | None = None,
    expected_version: int | None = None,
    idem: IdempotencyKey | None = None,
) -> Hazard:
    """不属实 / 重复: close the report as not a hazard, recording who and why."""

    def work(s: Session, hazard: Hazard, now: datetime) -> None:
        if not reason.strip():
            raise ValidationFailed(errors={"reason": ["请说明原因 / reason required"]})
        workflow.apply(
            s,
            hazard,
            HazardAction.REJECT,
            actor,
            at=now,
            note=reason,
            data={"duplicate_of": duplicate_of} if duplicate_of else {},
            expected_version=expected_version,
        )
        hazard.rejected_reason, hazard.rejected_by_id = reason.strip(), actor.user_id

    return _transition(ctx, actor, hazard_id, idem, work)


def reopen(
    ctx: Context,
    actor: Actor,
    hazard_id: int,
    *,
    reason: str,
    deadline: datetime,
    expected_version: int | None = None,
    idem: IdempotencyKey | None = None,
) -> Hazard:
    """A supervisor reopens a closed hazard with a new deadline; the original one is kept."""

    def work(s: Session, hazard: Hazard, now: datetime) -> None:
        if not reason.strip():
            raise ValidationFailed(errors={"reason": ["请说明原因 / reason required"]})
        _require_future(deadline, now)
        workflow.apply(
            s,
            hazard,
            HazardAction.REOPEN,
            actor,
            at=now,
            note=reason,
            data={"deadline": deadline.isoformat()},
            expected_version=expected_version,
        )
        hazard.reopen_count += 1
        hazard.closed_at = hazard.closed_by_id = None
        hazard.deadline, hazard.overdue, hazard.escalation_level = deadline, False, 0

    return _transition(ctx, actor, hazard_id, idem, work)


def extend(
    ctx: Context,
    actor: Actor,
    hazard_id: int,
    *,
    deadline: datetime | None = None,
    reason: str = "",
    approve: bool | None = None,
    expected_version: int | None = None,
    idem: IdempotencyKey | None = None,
) -> Hazard:
    """延期: the assignee asks (`deadline`, `reason`); an inspector (一般) or supervisor (重大)
    approves or declines (`approve`). The original deadline is kept for statistics."""

    def work(s: Session, hazard: Hazard, now: datetime) -> None:
        if approve is None:
            if deadline is None or not reason.strip():
                raise ValidationFailed(errors={"deadline": ["须给出新期限和理由 / required"]})
            _require_future(deadline, now)
            if hazard.deadline is not None and deadline <= hazard.deadline:
                raise ValidationFailed(errors={"deadline": ["须晚于现期限 / must be later"]})
            workflow.apply(
                s,
                hazard,
                HazardAction.REQUEST_EXTENSION,
                actor,
                at=now,
                note=reason,
                data={"until": deadline.isoformat()},
                expected_version=expected_version,
            )
            hazard.extension_until, hazard.extension_reason = deadline, reason.strip()
            return
        if hazard.extension_until is None:
            raise workflow.InvalidTransition("没有待审批的延期申请", "No extension request pending")
        action = HazardAction.APPROVE_EXTENSION if approve else HazardAction.DECLINE_EXTENSION
        workflow.apply(
            s,
            hazard,
            action,
            actor,
            at=now,
            note=reason,
            data={"until": hazard.extension_until.isoformat()},
            expected_version=expected_version,
        )
        if approve:
            hazard.deadline = hazard.extension_until
            if hazard.deadline > now:
                hazard.overdue, hazard.escalation_level = False, 0
        hazard.extension_until = hazard.extension_reason = None

    return _transition(ctx, actor, hazard_id, idem, work)


# --- reading -----------------------------------------------------------------------------------


# A reporter is shown by id and name: skip the extra query for the user's eager-loaded grids.
_NO_GRIDS = lazyload(User.grids)


@dataclass
class Photo:
    id: int
    role: MediaRole
    url: str
    thumbnail_url: str


@dataclass
class HazardView:
    """A hazard as one caller may see it."""

    hazard: Hazard
    reporter: User | None
    photos: dict[str, list[Photo]] = field(default_factory=dict)
    actions: list[str] = field(default_factory=list)

    @property
    def plan_complete(self) -> bool:
        return plan_complete(self.hazard.plan)


def _photos(ctx: Context, s: Session, hazard_ids: list[int]) -> dict[int, dict[str, list[Photo]]]:
    rows = s.execute(
        select(HazardMedia.hazard_id, HazardMedia.role, Media.id, Media.key, Media.thumb_key)
        .join(Media, Media.id == HazardMedia.media_id)
        .where(HazardMedia.hazard_id.in_(hazard_ids))
        .order_by(
            HazardMedia.hazard_id, HazardMedia.role, HazardMedia.event_seq, HazardMedia.position
        )
    ).all()
    ttl = timedelta(seconds=ctx.settings.media_url_ttl_seconds)
    result: dict[int, dict[str, list[Photo]]] = {
        hid: {r.value: [] for r in MediaRole} for hid in hazard_ids
    }
    storage = ctx.storage
    for hazard_id, role, media_id, key, thumb_key in rows:
        url = storage.presigned_get(key, ttl) if storage else ""
        thumb = storage.presigned_get(thumb_key, ttl) if storage else ""
        result[hazard_id][role.value].append(Photo(media_id, role, url, thumb))
    return result


def _view(actor: Actor, hazard: Hazard, reporter: User | None, photos: dict) -> HazardView:
    return HazardView(
        hazard=hazard,
        reporter=reporter if shows_reporter(actor, hazard) else None,
        photos=photos.get(hazard.id, {}),
        actions=workflow.available_actions(actor, hazard),
    )


def get_hazard(ctx: Context, actor: Actor, hazard_id: int) -> HazardView:
    """One hazard with photos, plan, deadlines, and what the caller may do next."""
    with ctx.uow() as uow:
        s = uow.session
        # The hazard and its reporter (shown or not, decided in `_view`) in one round trip.
        found = s.execute(
            select(Hazard, User)
            .outerjoin(User, User.id == Hazard.reporter_id)
            .options(_NO_GRIDS)
            .where(Hazard.id == hazard_id, hazard_scope(actor))
        ).first()
        if found is None:
            raise NotFound("隐患不存在", "Hazard not found")
        hazard, reporter = found
        return _view(actor, hazard, reporter, _photos(ctx, s, [hazard.id]))


def public_view(hazard: Hazard) -> HazardView:
    """What a reporter gets back from the public scan endpoint: the report, no one's names."""
    return HazardView(hazard=hazard, reporter=None, photos={r.value: [] for r in MediaRole})


def view_after_write(ctx: Context, actor: Actor, hazard: Hazard) -> HazardView:
    """The caller's view of a hazard just written. An anonymous report is kept from its
    reporter like from anyone (nothing links them): they get the public view back."""
    try:
        return get_hazard(ctx, actor, hazard.id)
    except NotFound:
        if hazard.anonymous:
            return public_view(hazard)
        raise


@dataclass
class HazardFilters:
    status: list[HazardStatus] | None = None
    level: HazardLevel | None = None
    category: HazardCategory | None = None
    source: HazardSource | None = None
    enterprise_id: int | None = None
    region_id: int | None = None
    grid_id: int | None = None
    overdue: bool | None = None
    supervised: bool | None = None
    date_from: datetime | None = None
    date_to: datetime | None = None
    q: str | None = None


def list_conditions(
    s: Session, actor: Actor, filters: HazardFilters, now: datetime
) -> list[ColumnElement[bool]]:
    """What a hazard list selects: the caller's scope and the filters (a region filter
    outside the caller's scope is 404)."""
    f = filters
    conditions = [hazard_scope(actor)]
    if f.status:
        conditions.append(Hazard.status.in_(f.status))
    for column, value in (
        (Hazard.level, f.level),
        (Hazard.category, f.category),
        (Hazard.source, f.source),
        (Hazard.enterprise_id, f.enterprise_id),
        (Hazard.grid_id, f.grid_id),
    ):
        if value is not None:
            conditions.append(column == value)
    if f.supervised is not None:
        conditions.append(Hazard.supervised.is_(f.supervised))
    overdue = Hazard.status.in_(OPEN_STATUSES) & (Hazard.deadline < now)
    if f.overdue is True:
        conditions.append(overdue)
    elif f.overdue is False:
        conditions.append(~overdue | Hazard.deadline.is_(None))
    if f.date_from is not None:
        conditions.append(Hazard.created_at >= f.date_from)
    if f.date_to is not None:
        conditions.append(Hazard.created_at < f.date_to)
    if f.q:
        conditions.append(
            or_(
                Hazard.number == f.q.strip().upper(),
                Hazard.description.contains(f.q, autoescape=True),
            )
        )
    if f.region_id is not None:
        region = _visible_region(s, actor, f.region_id)
        conditions.append(Hazard.region_path.like(f"{region.path}%"))
    return conditions


@dataclass
class EventLog:
    events: list[HazardEvent]
    chain_ok: bool
    breaks: list[workflow.ChainBreak]
    hide_actors: bool


def list_events(ctx: Context, actor: Actor, hazard_id: int) -> EventLog:
    """The hazard's history with its hash chain and whether it verifies."""
    with ctx.uow() as uow:
        s = uow.session
        hazard = _load(s, actor, hazard_id)
        events = list(
            s.scalars(
                select(HazardEvent)
                .where(HazardEvent.hazard_id == hazard.id)
                .order_by(HazardEvent.seq)
            )
        )
    breaks = workflow.verify_chain(events)
    return EventLog(events, not breaks, breaks, hide_actors=not shows_reporter(actor, hazard))


@dataclass
class Receipt:
    number: str
    status: HazardStatus
    created_at: datetime
    updated_at: datetime
    timeline: list[dict[str, Any]]


PUBLIC_NOTE_ACTIONS = {HazardAction.REJECT, HazardAction.PASS}


def receipt(ctx: Context, key: str) -> Receipt:
    """An anonymous reporter follows their report: status and public notes only."""
    with ctx.uow() as uow:
        s = uow.session
        hazard = s.scalar(select(Hazard).where(Hazard.receipt_key_hash == _receipt_hash(key)))
        if hazard is None:
            raise ReceiptNotFound()
        events = s.scalars(
            select(HazardEvent).where(HazardEvent.hazard_id == hazard.id).order_by(HazardEvent.seq)
        ).all()
    timeline = [
        {
            "action": e.action,
            "status": e.to_status,
            "at": e.created_at,
            "note": e.note if e.action in PUBLIC_NOTE_ACTIONS else "",
        }
        for e in events
        if e.action not in (HazardAction.MARK_OVERDUE, HazardAction.ESCALATE)
    ]
    return Receipt(hazard.number, hazard.status, hazard.created_at, hazard.updated_at, timeline)


def verify_all_chains(ctx: Context) -> tuple[int, list[workflow.ChainBreak]]:
    """Check every hazard's event chain; returns (hazards checked, breaks)."""
    breaks: list[workflow.ChainBreak] = []
    checked = 0
    with ctx.uow() as uow:
        s = uow.session
        ids = s.scalars(select(Hazard.id).order_by(Hazard.id)).all()
        for start in range(0, len(ids), 500):
            batch = ids[start : start + 500]
            events = s.scalars(
                select(HazardEvent)
                .where(HazardEvent.hazard_id.in_(batch))
                .order_by(HazardEvent.hazard_id, HazardEvent.seq)
            ).all()
            by_hazard: dict[int, list[HazardEvent]] = {i: [] for i in batch}
            for e in events:
                by_hazard[e.hazard_id].append(e)
            for hazard_id, chain in by_hazard.items():
                checked += 1
                if not chain:
                    breaks.append(workflow.ChainBreak(hazard_id, 0, "no events"))
                breaks.extend(workflow.verify_chain(chain))
            s.expunge_all()
    return checked, breaks
