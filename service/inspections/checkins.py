"""扫码打卡: inspectors check in at enterprises by scanning their QR code on site."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select

from service.access.scoping import Actor, checkin_scope, subtree
from service.core.clock import period_end, period_start
from service.core.context import Context
from service.core.errors import PermissionDenied
from service.core.pagination import Page, paginate
from service.directory.geo import haversine_m
from service.directory.regions import _visible_region
from service.inspections.models import Checkin
from service.qrcodes.codes import can_check_in, scanned_code
from uploads_schema.vocabulary import CheckinFlag


def check_in(
    ctx: Context,
    actor: Actor,
    token: str,
    *,
    lat: float,
    lng: float,
    accuracy: float | None = None,
) -> Checkin:
    """Record an on-site check-in with its distance to the enterprise and a geofence flag."""
    radius = ctx.settings.checkin_radius_m
    with ctx.uow() as uow:
        code = scanned_code(uow.session, token)
        enterprise = code.enterprise
        if not can_check_in(actor, enterprise):
            raise PermissionDenied(
                "只有本网格的网格员或上级监管人员可以在此打卡",
                "Only this grid's inspectors or supervisors above it may check in here",
            )
        distance = None
        flag = None
        if enterprise.lat is None or enterprise.lng is None:
            flag = CheckinFlag.NO_LOCATION
        else:
            distance = round(haversine_m(lat, lng, enterprise.lat, enterprise.lng), 1)
            if distance > radius:
                flag = CheckinFlag.TOO_FAR
            elif accuracy is not None and accuracy > radius:
                flag = CheckinFlag.POOR_ACCURACY
        checkin = Checkin(
            qrcode_id=code.id,
            enterprise_id=enterprise.id,
            grid_id=enterprise.grid_id,
            region_path=enterprise.region_path,
            inspector_id=actor.user_id,
            lat=lat,
            lng=lng,
            accuracy_m=accuracy,
            distance_m=distance,
            flagged=flag is not None,
            flag_reason=flag,
            created_at=ctx.now(),
        )
        uow.session.add(checkin)
        uow.commit()
        return checkin


def list_checkins(
    ctx: Context,
    actor: Actor,
    *,
    enterprise_id: int | None = None,
    grid_id: int | None = None,
    region_id: int | None = None,
    inspector_id: int | None = None,
    flagged: bool | None = None,
    date_from: date | datetime | None = None,
    date_to: date | datetime | None = None,
    page: int = 1,
    page_size: int = 20,
) -> Page[Checkin]:
    """Check-ins in scope, newest first, filtered by enterprise, grid, region, period (China
    dates, `to` included, or timestamps, `to` excluded)."""
    query = select(Checkin).where(checkin_scope(actor))
    if enterprise_id is not None:
        query = query.where(Checkin.enterprise_id == enterprise_id)
    if grid_id is not None:
        query = query.where(Checkin.grid_id == grid_id)
    if inspector_id is not None:
        query = query.where(Checkin.inspector_id == inspector_id)
    if flagged is not None:
        query = query.where(Checkin.flagged.is_(flagged))
    if date_from is not None:
        query = query.where(Checkin.created_at >= period_start(date_from))
    if date_to is not None:
        query = query.where(Checkin.created_at < period_end(date_to))
    with ctx.read() as uow:
        if region_id is not None:
            region = _visible_region(uow.session, actor, region_id)
            query = query.where(subtree(Checkin.region_path, region.path))
        query = query.order_by(Checkin.created_at.desc(), Checkin.id.desc())
        return paginate(uow.session, query, page, page_size)
