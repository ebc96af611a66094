"""Anonymous photos from a scanned code (POST /scan/{token}/media) and the anonymous report
that uses them: bound to the code and to the scan session's upload token, sanitized like
every upload, rate limited per client and per code, expiring when never used. Also the
public vocabulary and what a receipt shows."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from PIL import Image
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from miniprogram_api import create_app
from service.hazards.models import Hazard, HazardMedia
from service.media import photos as media_service
from service.media.models import Media
from tests import hostile
from tests.api.helpers import assert_error
from uploads_schema.vocabulary import MediaStatus


def issue(client, headers, enterprise_id, **body):
    response = client.post(
        f"/api/v1/enterprises/{enterprise_id}/qrcodes", json=body, headers=headers
    )
    assert response.status_code == 201, response.json
    return response.json["token"]


@pytest.fixture
def admin(world, auth_header):
    return auth_header(world.admin)


@pytest.fixture
def code(client, world, admin) -> str:
    return issue(client, admin, world.enterprise_a.id, point_name="一号车间")


def send(client, token, data, *, upload_token=None, address="198.51.100.7", headers=None):
    fields = MultiDict({"file": FileStorage(io.BytesIO(data), "photo.jpg", "image/jpeg")})
    if upload_token is not None:
        fields["upload_token"] = upload_token
    boundary, body = encode_multipart(fields)
    return client.post(
        f"/api/v1/scan/{token}/media",
        data=body,
        headers=headers or {},
        content_type=f'multipart/form-data; boundary="{boundary}"',
        environ_base={"REMOTE_ADDR": address},
    )


def sent(client, token, data, **kw):
    response = send(client, token, data, **kw)
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.json


def report(client, token, media_ids, upload_token=None, *, headers=None, **extra):
    body = {"category": "fire", "description": "消防通道堆放杂物", "media_ids": media_ids}
    if upload_token is not None:
        body["upload_token"] = upload_token
    body.update(extra)
    return client.post(f"/api/v1/scan/{token}/hazards", json=body, headers=headers or {})


def media_row(db, media_id: int) -> Media:
    db.expire_all()
    return db.get(Media, media_id)


def test_a_scan_session_sends_photos_and_reports_with_them_anonymously(client, db, code):
    first = sent(client, code, hostile.plain_jpeg(320, 240))
    session = first["upload_token"]
    assert len(session) >= 22 and first["status"] == "pending"
    second = sent(client, code, hostile.plain_jpeg(300, 200), upload_token=session)
    assert second["upload_token"] == session and second["id"] != first["id"]
    # A retried photo (the answer was lost) answers the same row.
    again = sent(client, code, hostile.plain_jpeg(320, 240), upload_token=session)
    assert again["id"] == first["id"]

    answer = report(client, code, [first["id"], second["id"]], session)
    assert answer.status_code == 201, answer.json
    assert answer.json["receipt_key"] and answer.json["hazard"]["reporter"] is None
    hazard_id = answer.json["hazard"]["id"]
    attached = db.scalars(
        select(HazardMedia.media_id).where(HazardMedia.hazard_id == hazard_id)
    ).all()
    assert sorted(attached) == sorted([first["id"], second["id"]])
    for media_id in attached:
        row = media_row(db, media_id)
        assert row.status is MediaStatus.ATTACHED
        assert row.uploader_id is None and row.upload_session is None


def test_photos_serve_only_the_code_and_session_they_were_sent_with(client, db, world, admin, code):
    mine = sent(client, code, hostile.plain_jpeg(320, 240))
    theirs = sent(client, code, hostile.plain_jpeg(320, 240))  # the same picture, another phone
    assert theirs["id"] != mine["id"]  # two anonymous uploaders are not one person
    assert theirs["upload_token"] != mine["upload_token"]

    assert_error(report(client, code, [mine["id"]]), 422, "media_invalid")
    assert_error(report(client, code, [mine["id"]], theirs["upload_token"]), 422, "media_invalid")
    other_code = issue(client, admin, world.enterprise_a2.id)
    assert_error(
        report(client, other_code, [mine["id"]], mine["upload_token"]), 422, "media_invalid"
    )
    assert media_row(db, mine["id"]).status is MediaStatus.PENDING

    assert report(client, code, [mine["id"]], mine["upload_token"]).status_code == 201
    assert report(client, code, [theirs["id"]], theirs["upload_token"]).status_code == 201


def test_staff_cannot_attach_anonymous_photos_to_a_report_of_their_own(
    client, world, auth_header, code
):
    photo = sent(client, code, hostile.plain_jpeg(320, 240))
    inspector = auth_header(world.inspector)
    body = {
        "category": "fire",
        "description": "灭火器过期",
        "media_ids": [photo["id"]],
        "enterprise_id": world.enterprise_a.id,
    }
    assert_error(client.post("/api/v1/hazards", json=body, headers=inspector), 422, "media_invalid")


def test_a_retried_report_makes_one_hazard_and_answers_the_same_receipt(client, db, code):
    photo = sent(client, code, hostile.plain_jpeg(320, 240))
    key = {"Idempotency-Key": "report-7f3c2a"}
    first = report(client, code, [photo["id"]], photo["upload_token"], headers=key)
    again = report(client, code, [photo["id"]], photo["upload_token"], headers=key)
    assert first.status_code == again.status_code == 201
    assert again.json["hazard"]["id"] == first.json["hazard"]["id"]
    assert again.json["receipt_key"] == first.json["receipt_key"]
    assert db.scalar(select(func.count(Hazard.id))) == 1


def test_anonymous_photos_are_sanitized_like_every_upload(client, db, code):
    photo = sent(client, code, hostile.jpeg_with_gps_and_orientation(400, 200))
    row = media_row(db, photo["id"])
    assert (photo["width"], photo["height"]) == (200, 400)  # turned upright
    assert row.gps_lat is None and row.captured_at is None  # never kept for anonymous photos
    with client.get(photo["url"]) as stored:
        image = Image.open(io.BytesIO(stored.get_data()))
        assert not image.getexif()
    assert_error(send(client, code, hostile.svg_with_script()), 415, "unsupported_media_type")
    assert_error(send(client, code, hostile.bomb_png()), 413)
    bad_token = send(client, code, hostile.plain_jpeg(), upload_token="short")
    assert_error(bad_token, 422, "validation_error")


def test_a_revoked_or_unknown_code_takes_no_photo(client, db, world, admin):
    answer = client.post(
        f"/api/v1/enterprises/{world.enterprise_a.id}/qrcodes", json={}, headers=admin
    ).json
    client.post(f"/api/v1/qrcodes/{answer['id']}/revoke", headers=admin)
    before = db.scalar(select(func.count(Media.id)))
    assert_error(send(client, answer["token"], hostile.plain_jpeg()), 410, "qrcode_revoked")
    assert_error(send(client, "aB3dE5gH7jK9mN1pQ3sT5v", hostile.plain_jpeg()), 404)
    assert db.scalar(select(func.count(Media.id))) == before


def test_photos_are_limited_per_client_and_per_code(ctx, world, auth_header):
    ctx.settings = ctx.settings.with_overrides(
        ratelimit_scan_upload="2/minute", ratelimit_scan_upload_code="3/hour"
    )
    client = create_app(context=ctx).test_client()
    admin = auth_header(world.admin)
    code = issue(client, admin, world.enterprise_a.id)
    other = issue(client, admin, world.enterprise_a2.id)
    for n in range(2):
        assert send(client, code, hostile.plain_jpeg(200 + n, 150)).status_code == 201
    assert_error(send(client, code, hostile.plain_jpeg(230, 150)), 429, "rate_limited")
    # Another phone at the same code: one more, then the code's own limit.
    another_phone = send(client, code, hostile.plain_jpeg(240, 150), address="203.0.113.9")
    assert another_phone.status_code == 201
    refused = send(client, code, hostile.plain_jpeg(250, 150), address="203.0.113.10")
    assert_error(refused, 429, "rate_limited")
    # Another code is counted apart.
    elsewhere = send(client, other, hostile.plain_jpeg(260, 150), address="203.0.113.10")
    assert elsewhere.status_code == 201


def test_photos_never_used_expire_like_every_upload(client, ctx, db, code):
    photo = sent(client, code, hostile.plain_jpeg(320, 240))
    kept = media_service.collect_garbage(ctx, older_than=timedelta(hours=1))
    assert kept.rows_deleted == 0 and media_row(db, photo["id"]) is not None
    ctx.clock = lambda: media_row(db, photo["id"]).created_at + timedelta(hours=2)
    report_ = media_service.collect_garbage(ctx, older_than=timedelta(hours=1))
    assert report_.rows_deleted == 1
    db.expire_all()
    assert db.get(Media, photo["id"]) is None


def test_the_vocabulary_names_every_category_and_level_in_chinese(client):
    answer = client.get("/api/v1/vocabulary")
    assert answer.status_code == 200
    body = answer.json
    assert {"value": "fire", "label": "消防安全"} in body["categories"]
    assert {"value": "major", "label": "重大隐患"} in body["levels"]
    assert {"value": "closed", "label": "已销号"} in body["statuses"]
    assert {"value": "pass", "label": "验收通过"} in body["actions"]
    assert len(body["categories"]) == 10
    assert answer.headers["Cache-Control"] == "public, max-age=3600"


def test_a_receipt_names_the_place_the_category_and_each_step_in_chinese(client, code):
    photo = sent(client, code, hostile.plain_jpeg(320, 240))
    key = report(client, code, [photo["id"]], photo["upload_token"]).json["receipt_key"]
    receipt = client.get(f"/api/v1/receipts/{key}").json
    assert receipt["enterprise_name"] == "甲企业" and receipt["point_name"] == "一号车间"
    assert (receipt["category"], receipt["category_label"]) == ("fire", "消防安全")
    assert receipt["status_label"] == "已上报"
    step = receipt["timeline"][0]
    assert (step["action"], step["action_label"], step["status_label"]) == (
        "report",
        "上报",
        "已上报",
    )
