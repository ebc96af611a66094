"""Reporting as a use case: one `HazardReport` in, the stored hazard and its receipt out."""

from __future__ import annotations

from dataclasses import FrozenInstanceError
from itertools import count

import pytest

from service.access.scoping import load_actor
from service.hazards.reporting import HazardReport, report_hazard
from service.media.models import Media
from service.qrcodes.codes import issue_qrcode
from uploads_schema.vocabulary import HazardCategory, HazardOrigin, MediaKind, MediaStatus

_photo = count(1)


def _pending_photo(db, uploader_id: int | None) -> int:
    n = next(_photo)
    media = Media(
        kind=MediaKind.PHOTO,
        status=MediaStatus.PENDING,
        uploader_id=uploader_id,
        sha256=f"{n:064x}",
        key=f"media/{n}.jpg",
        thumb_key=f"thumbs/{n}.jpg",
        content_type="image/jpeg",
        source_type="image/jpeg",
        size_bytes=1,
        width=1,
        height=1,
        thumb_width=1,
        thumb_height=1,
    )
    db.add(media)
    db.commit()
    return media.id


def test_a_report_without_a_caller_is_anonymous_whatever_it_says(ctx, db, world):
    admin = load_actor(db.connection(), world.admin.id)
    token = issue_qrcode(ctx, admin, world.enterprise_a.id).code.token
    report = HazardReport(
        category=HazardCategory.FIRE,
        description=" 安全出口被锁 ",
        media_ids=[_pending_photo(db, None)],
        qr_token=token,
        anonymous=False,
    )
    result = report_hazard(ctx, None, report)
    hazard = result.hazard
    assert hazard.anonymous and hazard.reporter_id is None and result.receipt_key
    assert hazard.description == "安全出口被锁" and hazard.origin is HazardOrigin.SCAN
    assert report.anonymous is False  # the caller's report is left as it was sent
    with pytest.raises(FrozenInstanceError):
        report.anonymous = True  # type: ignore[misc]


def test_staff_report_an_enterprise_in_their_scope_by_its_id(ctx, db, world):
    inspector = load_actor(db.connection(), world.inspector.id)
    report = HazardReport(
        category=HazardCategory.ELECTRICAL,
        description="配电箱门未关闭",
        media_ids=[_pending_photo(db, world.inspector.id)],
        enterprise_id=world.enterprise_a.id,
        lat=31.2304,
        lng=121.4737,
    )
    result = report_hazard(ctx, inspector, report)
    hazard = result.hazard
    assert hazard.enterprise_id == world.enterprise_a.id and hazard.origin is HazardOrigin.APP
    assert hazard.reporter_id == world.inspector.id and result.receipt_key is None
    assert (hazard.lat, hazard.lng) == (31.2304, 121.4737)
