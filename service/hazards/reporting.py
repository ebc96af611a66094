"""Reporting a hazard: numbers, photos, the source by reporter, anonymous receipts."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.access.scoping import Actor, enterprise_place, enterprise_scope, in_charge
from service.core import idempotency
from service.core.clock import china_date
from service.core.context import Context
from service.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from service.core.idempotency import IdempotencyKey
from service.directory.models import Enterprise, Point
from service.hazards import workflow
from service.hazards.models import Hazard, HazardCounter, HazardMedia
from service.hazards.rules import (
    MAX_PHOTOS,
    SOURCE_BY_ROLE,
    MediaInvalid,
    receipt_hash,
)
from service.media.models import Media
from service.media.photos import upload_session
from service.qrcodes.codes import scanned_code
from uploads_schema.vocabulary import (
    HazardAction,
    HazardCategory,
    HazardLevel,
    HazardOrigin,
    HazardSource,
    HazardStatus,
    MediaRole,
    MediaStatus,
    Role,
)

# --- numbers -----------------------------------------------------------------------------------


def _district_code(region_path: str) -> str:
    codes = [c for c in region_path.split("/") if c]
    return (codes[1] if len(codes) > 1 else codes[0])[:6]


def next_number(session: Session, region_path: str, at: datetime) -> str:
    """`YH<district>-<yyyymmdd>-<seq>`: a per-district daily counter, row-locked on increment."""
    day = china_date(at).strftime("%Y%m%d")  # numbers carry the date the office works by
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
    scan_session: str | None = None,
    qrcode_id: int | None = None,
) -> list[int]:
    """Attach the uploader's own pending photos to the hazard, each at most once; photos
    sent anonymously from a scanned code only with that code and that scan session."""
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

    def usable(media: Media) -> bool:
        if media.status is not MediaStatus.PENDING:
            return False
        if media.upload_session is not None:  # anonymous: the same code and scan session
            return (
                scan_session is not None
                and media.upload_session == scan_session
                and media.qrcode_id == qrcode_id
            )
        return media.uploader_id == uploader_id

    bad = [i for i in ids if i not in rows or not usable(rows[i])]
    if bad:
        raise MediaInvalid(errors={"media_ids": [f"unusable: {bad}"]})
    for position, media_id in enumerate(ids):
        media = rows[media_id]
        media.status, media.attached_at = MediaStatus.ATTACHED, at
        media.upload_session = None  # its work is done; attached photos belong to the hazard
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


@dataclass(frozen=True)
class HazardReport:
    """What a reporter sends: from a scanned code (`qr_token`) or, for staff, an enterprise
    in their scope (`enterprise_id`, maybe a `point_id`)."""

    category: HazardCategory
    description: str
    media_ids: list[int]  # 1–9 of the reporter's own pending uploads
    qr_token: str | None = None
    enterprise_id: int | None = None
    point_id: int | None = None
    lat: float | None = None
    lng: float | None = None
    anonymous: bool = False
    # Photos sent without an account from the scanned code (POST /scan/{token}/media):
    # the scan session's upload token they were sent with.
    upload_token: str | None = None


@dataclass
class ReportResult:
    hazard: Hazard
    receipt_key: str | None = None
    replayed: bool = False


def report_hazard(
    ctx: Context,
    actor: Actor | None,
    report: HazardReport,
    *,
    idem: IdempotencyKey | None = None,
) -> ReportResult:
    """Report a hazard with 1–9 photos, from a scanned code or, for staff, an enterprise id."""
    if actor is not None and actor.role is Role.ADMIN:
        raise PermissionDenied("管理员账号不能上报隐患", "Administrators do not report hazards")
    if actor is None and not report.anonymous:
        report = replace(report, anonymous=True)
    for attempt in (1, 2):
        with ctx.uow() as uow:
            s = uow.session
            previous = idempotency.replay(s, idem)
            if previous is not None:
                hazard = s.get(Hazard, previous.resource_id)
                return ReportResult(hazard, previous.extra.get("receipt_key"), replayed=True)
            result = _report(ctx, s, actor, report)
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


def report_within(ctx: Context, s: Session, actor: Actor, report: HazardReport) -> Hazard:
    """Report a hazard inside the caller's unit of work (a 不合格 item of an inspection task
    becomes a hazard in the same transaction as the task's answers)."""
    return _report(ctx, s, actor, report).hazard


def _source(actor: Actor | None, enterprise: Enterprise) -> HazardSource:
    # Staff reporting outside their charge (enterprise, grid, region) speak as the public.
    if actor is None or not in_charge(actor, enterprise_place(enterprise)):
        return HazardSource.PUBLIC_TIP
    return SOURCE_BY_ROLE[actor.role]


def _report(ctx: Context, s: Session, actor: Actor | None, report: HazardReport) -> ReportResult:
    now, anonymous = ctx.now(), report.anonymous
    point_id, qrcode_id = report.point_id, None
    if report.qr_token:
        code = scanned_code(s, report.qr_token)
        enterprise, qrcode_id, point_id = code.enterprise, code.id, code.point_id
        origin = HazardOrigin.SCAN
    else:
        if actor is None or report.enterprise_id is None:
            raise ValidationFailed(errors={"qr_token": ["扫码后上报 / scan the code first"]})
        enterprise = s.scalar(
            select(Enterprise).where(Enterprise.id == report.enterprise_id, enterprise_scope(actor))
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
        category=report.category,
        description=report.description.strip(),
        level=HazardLevel.GENERAL,
        status=HazardStatus.REPORTED,
        version=1,
        event_seq=0,
        last_event_hash=workflow.GENESIS_HASH,
        reporter_id=None if anonymous or actor is None else actor.user_id,
        anonymous=anonymous,
        lat=report.lat,
        lng=report.lng,
        created_at=now,
        updated_at=now,
    )
    receipt_key = None
    if anonymous:
        receipt_key = secrets.token_urlsafe(18)
        hazard.receipt_key_hash = receipt_hash(receipt_key)
    s.add(hazard)
    s.flush()
    hazard.enterprise = enterprise
    ids = _attach(
        s,
        hazard,
        report.media_ids,
        uploader_id=actor.user_id if actor else None,
        role=MediaRole.BEFORE,
        at=now,
        minimum=1,
        event_seq=1,
        anonymous=anonymous,
        scan_session=upload_session(report.upload_token) if report.upload_token else None,
        qrcode_id=qrcode_id,
    )
    draft = workflow.EventDraft(
        HazardAction.REPORT, None, HazardStatus.REPORTED, "", {"media_ids": ids}
    )
    # An anonymous report's first event names no actor, so the chain cannot unmask them.
    workflow.append_event(s, hazard, draft, None if anonymous else actor, now)
    return ReportResult(hazard, receipt_key)
