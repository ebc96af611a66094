"""Use cases for QR codes: issue, list, render, revoke, rotate, and the public scan."""

from __future__ import annotations

import hmac
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import BinaryIO

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import qr
from service.access.scoping import Actor, enterprise_place, enterprise_scope, in_charge, subtree
from service.core.context import Context
from service.core.errors import Conflict, DomainError, NotFound, PermissionDenied
from service.core.pagination import Page, paginate
from service.directory.models import Enterprise, Point
from service.directory.regions import _visible_region, require_admin, scope_region
from service.qrcodes.models import QrCode, ScanLog
from uploads_schema.vocabulary import INDUSTRY_LABELS, QrStatus, Role

log = logging.getLogger(__name__)


class QrCodeNotFound(NotFound):
    code = "qrcode_not_found"
    message, message_en = "二维码无效，请确认是否为本系统的二维码", "Unknown QR code"


class QrCodeRevoked(DomainError):
    status, code = 410, "qrcode_revoked"
    message = "该二维码已停用，请联系企业或属地应急管理部门获取新的二维码"
    message_en = "This QR code has been revoked; ask for a new one"


class PosterFontMissing(DomainError):
    status, code = 500, "poster_font_missing"
    message = "服务器缺少中文字体，无法生成海报（请配置 QR_FONT_PATH）"
    message_en = "No CJK font for posters: install fonts-wqy-microhei or set QR_FONT_PATH"


@dataclass
class IssuedCode:
    """A QR code with what clients need to print or embed it."""

    code: QrCode
    url: str
    scene: str
    short_id: str


@dataclass
class ScanResult:
    """What a scan reveals: the enterprise's public context and the caller's actions."""

    code: QrCode
    enterprise: Enterprise
    actions: list[str] = field(default_factory=list)
    # The reference to the scan this call logged (`scan_ref`); None when it logged none.
    ref: str | None = None


def _issued(ctx: Context, code: QrCode) -> IssuedCode:
    return IssuedCode(
        code=code,
        url=qr.scan_url(ctx.settings.public_base_url, code.token),
        scene=code.token,
        short_id=qr.format_short_id(code.id),
    )


def _visible_code(session: Session, actor: Actor, code_id: int) -> QrCode:
    code = session.scalar(
        select(QrCode).join(QrCode.enterprise).where(QrCode.id == code_id, enterprise_scope(actor))
    )
    if code is None:
        raise NotFound("二维码不存在", "QR code not found")
    return code


def _new_code(
    session: Session, actor: Actor, enterprise: Enterprise, point: Point | None
) -> QrCode:
    # 131 random bits: a collision is practically impossible, but retry rather than 500.
    for _ in range(3):
        code = QrCode(
            token=qr.new_token(),
            enterprise_id=enterprise.id,
            point_id=point.id if point else None,
            status=QrStatus.ACTIVE,
            created_by_id=actor.user_id,
        )
        try:
            with session.begin_nested():
                session.add(code)
                session.flush()
        except IntegrityError:
            continue
        code.enterprise, code.point = enterprise, point
        return code
    raise Conflict("生成二维码失败，请重试", "Could not allocate a unique token; retry")


def issue_qrcode(
    ctx: Context, actor: Actor, enterprise_id: int, *, point_name: str | None = None
) -> IssuedCode:
    """Issue a code for an enterprise, or for a named point inside it (车间, 仓库 …)."""
    require_admin(actor)
    with ctx.uow() as uow:
        s = uow.session
        enterprise = s.scalar(
            select(Enterprise).where(Enterprise.id == enterprise_id, enterprise_scope(actor))
        )
        if enterprise is None:
            raise NotFound("企业不存在", "Enterprise not found")
        point = None
        if point_name and point_name.strip():
            name = point_name.strip()
            point = s.scalar(
                select(Point).where(Point.enterprise_id == enterprise.id, Point.name == name)
            )
            if point is None:
                point = Point(enterprise_id=enterprise.id, name=name)
                s.add(point)
                s.flush()
        code = _new_code(s, actor, enterprise, point)
        uow.commit()
        return _issued(ctx, code)


def list_qrcodes(
    ctx: Context,
    actor: Actor,
    *,
    enterprise_id: int | None = None,
    region_id: int | None = None,
    status: QrStatus | None = None,
    page: int = 1,
    page_size: int = 20,
) -> Page[IssuedCode]:
    """QR codes of the enterprises the caller may see."""
    query = select(QrCode).join(QrCode.enterprise).where(enterprise_scope(actor))
    if enterprise_id is not None:
        query = query.where(QrCode.enterprise_id == enterprise_id)
    if status is not None:
        query = query.where(QrCode.status == status)
    with ctx.read() as uow:
        if region_id is not None:
            region = _visible_region(uow.session, actor, region_id)
            query = query.where(subtree(Enterprise.region_path, region.path))
        result = paginate(uow.session, query.order_by(QrCode.id), page, page_size)
    return Page(
        items=[_issued(ctx, c) for c in result.items],
        page=result.page,
        page_size=result.page_size,
        total=result.total,
    )


def get_qrcode(ctx: Context, actor: Actor, code_id: int) -> IssuedCode:
    """One code, if its enterprise is in scope."""
    with ctx.read() as uow:
        return _issued(ctx, _visible_code(uow.session, actor, code_id))


def _revoke(ctx: Context, actor: Actor, code: QrCode) -> None:
    code.status, code.revoked_at, code.revoked_by_id = QrStatus.REVOKED, ctx.now(), actor.user_id


def revoke_qrcode(ctx: Context, actor: Actor, code_id: int) -> IssuedCode:
    """Revoke a code (lost poster, abuse); scans then answer 410."""
    require_admin(actor)
    with ctx.uow() as uow:
        code = _visible_code(uow.session, actor, code_id)
        if code.status is QrStatus.REVOKED:
            raise Conflict("该二维码已停用", "QR code already revoked")
        _revoke(ctx, actor, code)
        uow.commit()
        return _issued(ctx, code)


def rotate_qrcode(ctx: Context, actor: Actor, code_id: int) -> IssuedCode:
    """Revoke a code and issue its replacement for the same enterprise and point."""
    require_admin(actor)
    with ctx.uow() as uow:
        s = uow.session
        old = _visible_code(s, actor, code_id)
        if old.replaced_by_id is not None:
            raise Conflict("该二维码已换发过新码", "QR code already rotated")
        if old.status is QrStatus.ACTIVE:
            _revoke(ctx, actor, old)
        new = _new_code(s, actor, old.enterprise, old.point)
        old.replaced_by_id = new.id
        uow.commit()
        return _issued(ctx, new)


# --- rendering -------------------------------------------------------------------------------


def _poster_spec(ctx: Context, code: QrCode) -> qr.PosterSpec:
    return qr.PosterSpec(
        url=qr.scan_url(ctx.settings.public_base_url, code.token),
        enterprise_name=code.enterprise.name,
        point_name=code.point.name if code.point else None,
        short_id=qr.format_short_id(code.id),
    )


def render_qrcode(ctx: Context, actor: Actor, code_id: int, fmt: str) -> bytes:
    """The code as PNG, SVG or a printable poster; always the printed payload."""
    with ctx.read() as uow:
        code = _visible_code(uow.session, actor, code_id)
    url = qr.scan_url(ctx.settings.public_base_url, code.token)
    if fmt == "png":
        return qr.render_png(url)
    if fmt == "svg":
        return qr.render_svg(url)
    spec = _poster_spec(ctx, code)
    try:
        return qr.render_poster(
            url=spec.url,
            enterprise_name=spec.enterprise_name,
            point_name=spec.point_name,
            short_id=spec.short_id,
            font_path=ctx.settings.qr_font_path,
        )
    except qr.FontMissing as exc:
        log.error("poster font problem: %s", exc)
        raise PosterFontMissing() from exc


@dataclass
class PosterBatch:
    """The active codes of a region's subtree (or of all the caller sees), as posters."""

    region_name: str  # "全部" without a region
    region_code: str | None
    specs: list[qr.PosterSpec]


def active_codes_in_region(ctx: Context, actor: Actor, region_id: int | None) -> PosterBatch:
    """Poster specs for every active code in a region's subtree (in scope), by short id; by
    default a supervisor's own region, as the statistics default (admins: every code)."""
    if actor.role not in (Role.ADMIN, Role.SUPERVISOR):
        raise PermissionDenied(
            "只有管理员和监管人员可以批量打印海报", "Admins and supervisors only"
        )
    with ctx.read() as uow:
        region = scope_region(uow.session, actor, region_id)
        query = (
            select(QrCode)
            .join(QrCode.enterprise)
            .where(QrCode.status == QrStatus.ACTIVE, enterprise_scope(actor))
            .order_by(QrCode.id)  # by short id, as they are numbered on the posters
        )
        if region is not None:
            query = query.where(subtree(Enterprise.region_path, region.path))
        codes = uow.session.scalars(query).all()
        return PosterBatch(
            region_name=region.name if region else "全部",
            region_code=region.code if region else None,
            specs=[_poster_spec(ctx, c) for c in codes],
        )


def poster_footer(ctx: Context) -> qr.PosterFooter:
    """The office's name and hotline, printed on every poster."""
    return qr.PosterFooter(office_name=ctx.settings.office_name, hotline=ctx.settings.hotline)


def write_region_posters(
    ctx: Context,
    specs: list[qr.PosterSpec],
    out: BinaryIO,
    progress: Callable[[int], None] | None = None,
    size: str = "A5",
) -> int:
    """Write the posters as one vector PDF, a poster a page (A5 or A4); returns the page
    count."""
    if not specs:
        raise NotFound("该区域没有有效的二维码", "No active QR codes in this region")
    try:
        return qr.write_vector_posters_pdf(
            iter(specs),
            out,
            font_path=ctx.settings.qr_font_path,
            size=size,
            footer=poster_footer(ctx),
            progress=progress,
        )
    except qr.FontMissing as exc:
        log.error("poster font problem: %s", exc)
        raise PosterFontMissing() from exc


# --- scanning --------------------------------------------------------------------------------


def _code_by_token(session: Session, token: str) -> QrCode:
    if not qr.is_wellformed_token(token):
        raise QrCodeNotFound()
    code = session.scalar(select(QrCode).where(QrCode.token == token))
    if code is None:
        raise QrCodeNotFound()
    return code


def can_check_in(actor: Actor | None, enterprise: Enterprise) -> bool:
    """扫码打卡 is for the inspectors and supervisors in charge of the enterprise."""
    if actor is None or actor.role not in (Role.INSPECTOR, Role.SUPERVISOR):
        return False
    return in_charge(actor, enterprise_place(enterprise))


# A scan reference: the /q/<token> page logs the scan and hands its page this signed value,
# which the staff on-site page passes back with its own GET /scan/{token} (its actions depend
# on who asks), so that one visit stays one ScanLog row. It names the code and the moment,
# never who scanned, and is worth something only for a few minutes.
SCAN_REF_SECONDS = 300
# Another app box may have signed it with its clock a little ahead of this one's.
SCAN_REF_SKEW_SECONDS = 30
_SCAN_REF = re.compile(r"(\d{1,12})\.([0-9a-f]{32})", re.ASCII)


def _scan_ref_signature(ctx: Context, code_id: int, signed_at: int) -> str:
    message = f"qr-scan-ref\n{code_id}\n{signed_at}".encode()
    return hmac.new(ctx.settings.secret_key.encode(), message, "sha256").hexdigest()[:32]


def scan_ref(ctx: Context, code_id: int) -> str:
    """A reference to a scan of this code logged now, "<unix time>.<signature>"."""
    signed_at = int(ctx.now().timestamp())
    return f"{signed_at}.{_scan_ref_signature(ctx, code_id, signed_at)}"


def already_logged(ctx: Context, code_id: int, ref: str | None) -> bool:
    """Whether `ref` is ours, for this code and fresh: its scan is logged already. Anything
    else (missing, forged, expired, another code's) is no reference at all."""
    found = _SCAN_REF.fullmatch(ref or "")
    if found is None:
        return False
    signed_at, signature = int(found[1]), found[2]
    expected = _scan_ref_signature(ctx, code_id, signed_at)
    # Compare before the age check so timing says nothing about the signature.
    valid = hmac.compare_digest(expected, signature)
    age = ctx.now().timestamp() - signed_at
    return valid and -SCAN_REF_SKEW_SECONDS <= age <= SCAN_REF_SECONDS


def scan(
    ctx: Context,
    actor: Actor | None,
    token: str,
    *,
    ip: str = "",
    user_agent: str = "",
    ref: str | None = None,
) -> ScanResult:
    """A scan: log it, then answer the public context; a scan grants no rights. With `ref`
    from the page that already logged this scan (fresh, for this code), nothing is logged
    again; the checks and the answer are the same."""
    with ctx.uow() as uow:
        s = uow.session
        code = _code_by_token(s, token)
        revoked = code.status is QrStatus.REVOKED
        new_scan = not already_logged(ctx, code.id, ref)
        if new_scan:
            s.add(
                ScanLog(
                    qrcode_id=code.id,
                    ip=ip[:64],
                    user_agent=user_agent[:300],
                    outcome="revoked" if revoked else "ok",
                )
            )
            uow.commit()
        log.info("qr scan", extra={"qrcode_id": code.id, "revoked": revoked, "new_row": new_scan})
        if revoked:
            raise QrCodeRevoked()
        enterprise = code.enterprise
        if not enterprise.active:
            raise QrCodeRevoked("该企业已停用二维码", "This enterprise is no longer active")
        actions = ["report"]
        if can_check_in(actor, enterprise):
            actions.append("checkin")
        ref = scan_ref(ctx, code.id) if new_scan else None
        return ScanResult(code=code, enterprise=enterprise, actions=actions, ref=ref)


def scanned_code(session: Session, token: str) -> QrCode:
    """The active code behind a token, for writes started from a scan (check-in, report)."""
    code = _code_by_token(session, token)
    if code.status is QrStatus.REVOKED or not code.enterprise.active:
        raise QrCodeRevoked()
    return code


def industry_label(enterprise: Enterprise) -> str:
    """The Chinese name of the enterprise's industry."""
    return INDUSTRY_LABELS[enterprise.industry]


__all__ = [
    "IssuedCode",
    "PosterBatch",
    "QrCodeNotFound",
    "QrCodeRevoked",
    "ScanResult",
    "active_codes_in_region",
    "already_logged",
    "get_qrcode",
    "issue_qrcode",
    "list_qrcodes",
    "render_qrcode",
    "revoke_qrcode",
    "rotate_qrcode",
    "scan",
    "scan_ref",
    "scanned_code",
    "write_region_posters",
]
