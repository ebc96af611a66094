"""Photos through the API: hostile uploads, EXIF stripping, dedup, signed links, access, GC."""

from __future__ import annotations

import hashlib
import io
import os
import socket
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from PIL import Image
from PIL.ExifTags import IFD, Base
from sqlalchemy import func, select, update
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from miniprogram_api import create_app
from service.core.context import Context
from service.core.db import DatabaseUnavailable, UnitOfWork
from service.media import photos as media_service
from service.media.images import ImageRejected, process_image
from service.media.models import Media
from service.media.storage import MinioStorage, content_key
from tests import hostile
from tests.api.helpers import assert_error
from tests.factories import make_user
from uploads_schema.vocabulary import MediaStatus, Role

BASE = "https://mashangcha.test"
JFIF_INFO_KEYS = {"jfif", "jfif_version", "jfif_unit", "jfif_density"}
RESPONSE_KEYS = {"id", "sha256", "width", "height", "url", "thumbnail_url", "status", "created_at"}


def upload(client, headers, data, *, filename="photo.jpg", content_type="image/jpeg", **form):
    fields = MultiDict({"file": FileStorage(io.BytesIO(data), filename, content_type=content_type)})
    fields.update(form)
    # Encoded in memory: the test client would spool a large body to a temp file it
    # never closes (an unraisable ResourceWarning under filterwarnings=error).
    boundary, body = encode_multipart(fields)
    return client.post(
        "/api/v1/media",
        data=body,
        headers=headers,
        content_type=f'multipart/form-data; boundary="{boundary}"',
    )


def uploaded(client, headers, data, **form):
    response = upload(client, headers, data, **form)
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.json


def media_count(db) -> int:
    return db.scalar(select(func.count(Media.id)))


def row(db, media_id: int) -> Media:
    db.expire_all()
    return db.scalars(select(Media).where(Media.id == media_id)).one()


def stored_keys(storage) -> set[str]:
    return {info.key for info in storage.iter_objects()}


def fetch(client, url):
    """GET a URL served by the app and return (status, headers, bytes), closing the file."""
    with client.get(url) as response:
        return response.status_code, response.headers, response.get_data()


def open_image(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


@pytest.fixture
def reporter(world, auth_header):
    return auth_header(world.reporter)


# --- hostile uploads ------------------------------------------------------------------


@pytest.mark.parametrize("case", hostile.CASES, ids=lambda case: case.name)
def test_hostile_upload_gets_its_documented_error_and_stores_nothing(
    client, ctx, db, reporter, case
):
    response = upload(
        client, reporter, case.build(), filename=case.filename, content_type=case.declared_type
    )

    body = assert_error(response, case.status, case.code)
    assert body["message"] != body["message_en"]  # a Chinese message for the phone
    assert media_count(db) == 0
    assert stored_keys(ctx.storage) == set()


@pytest.mark.parametrize("case", hostile.CASES, ids=lambda case: case.name)
def test_a_refused_upload_answers_in_the_image_checks_own_words(
    client, settings, db, reporter, case
):
    # One definition per rejection: the API answers with the very error the check raised,
    # its specific messages included ("文件为空", the pixel count, the byte cap).
    data = case.build()
    cap = settings.media_max_bytes
    with pytest.raises(ImageRejected) as refused:
        process_image(data[: cap + 1], max_bytes=cap)

    response = upload(
        client, reporter, data, filename=case.filename, content_type=case.declared_type
    )

    error = refused.value
    body = assert_error(response, error.status, error.code)
    assert (body["message"], body["message_en"]) == (error.message, error.message_en)


def test_upload_without_a_file_is_422(client, db, reporter):
    response = client.post(
        "/api/v1/media",
        data={"share_location": "1"},
        headers=reporter,
        content_type="multipart/form-data",
    )

    body = assert_error(response, 422, "validation_error")
    assert "file" in body["errors"]
    assert media_count(db) == 0


def test_a_text_field_named_file_is_not_a_file(client, db, reporter):
    response = client.post(
        "/api/v1/media",
        data={"file": "not a file"},
        headers=reporter,
        content_type="multipart/form-data",
    )

    body = assert_error(response, 422, "validation_error")
    assert "file" in body["errors"]


def test_upload_needs_a_login(client, db):
    assert_error(upload(client, {}, hostile.plain_jpeg()), 401, "unauthenticated")
    assert media_count(db) == 0


# --- a good upload --------------------------------------------------------------------


def test_upload_answers_the_row_with_short_lived_links(client, ctx, db, reporter, world):
    body = uploaded(client, reporter, hostile.plain_jpeg(640, 480))

    assert set(body) == RESPONSE_KEYS
    assert body["status"] == "pending"
    assert (body["width"], body["height"]) == (640, 480)
    media = row(db, body["id"])
    assert media.uploader_id == world.reporter.id
    assert media.source_type == "image/jpeg" and media.content_type == "image/jpeg"
    assert media.key == content_key(body["sha256"], ".jpg")
    assert media.thumb_key.startswith("thumbs/")
    stored = ctx.storage.get(media.key)
    assert hashlib.sha256(stored).hexdigest() == body["sha256"]
    assert media.size_bytes == len(stored)
    assert body["url"].startswith(f"{BASE}/media-files/{media.key}?expires=")
    assert body["thumbnail_url"].startswith(f"{BASE}/media-files/{media.thumb_key}?expires=")


@pytest.mark.parametrize(
    ("data", "source_type"),
    [
        (hostile.plain_png(320, 240), "image/png"),
        (hostile.plain_webp(320, 240, alpha=True), "image/webp"),
    ],
    ids=["png", "webp"],
)
def test_png_and_webp_are_stored_as_jpeg(client, ctx, db, reporter, data, source_type):
    body = uploaded(client, reporter, data)

    media = row(db, body["id"])
    assert media.source_type == source_type
    assert open_image(ctx.storage.get(media.key)).format == "JPEG"


def test_exif_orientation_is_applied_and_every_trace_of_metadata_is_gone(client, ctx, db, reporter):
    body = uploaded(client, reporter, hostile.jpeg_with_gps_and_orientation(400, 200))

    # Stored 400×200 with Orientation=6: upright it is 200×400, red half on top.
    assert (body["width"], body["height"]) == (200, 400)
    media = row(db, body["id"])
    for key in (media.key, media.thumb_key):
        data = ctx.storage.get(key)
        image = open_image(data)
        assert image.format == "JPEG"
        assert not image.getexif()
        assert set(image.info) <= JFIF_INFO_KEYS
        for trace in (b"Exif", b"GPS", b"xmpmeta", b"ICC_PROFILE", b"13800138000", b"HUAWEI"):
            assert trace not in data
    image = open_image(ctx.storage.get(media.key))
    assert image.size == (200, 400)
    top, bottom = image.getpixel((100, 20)), image.getpixel((100, 380))
    assert top[0] > 200 and top[2] < 60  # red
    assert bottom[2] > 200 and bottom[0] < 60  # blue


def test_a_photo_dated_year_one_is_kept_without_a_capture_time(client, db, world, auth_header):
    # The earliest time EXIF can say; turning it into UTC once overflowed into a 500.
    exif = hostile.phone_exif(1)
    exif.get_ifd(IFD.Exif)[Base.DateTimeOriginal] = "0001:01:01 00:00:00"
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (90, 120, 150)).save(buf, "JPEG", exif=exif)
    answer = uploaded(client, auth_header(world.reporter), buf.getvalue(), share_location="1")
    assert row(db, answer["id"]).captured_at is None


def test_capture_time_and_gps_are_kept_only_when_the_uploader_shares_location(
    client, db, world, auth_header
):
    photo = hostile.jpeg_with_gps_and_orientation()
    shared = uploaded(client, auth_header(world.reporter), photo, share_location="1")
    private = uploaded(client, auth_header(world.inspector), photo)
    declined = uploaded(client, auth_header(world.officer), photo, share_location="false")

    media = row(db, shared["id"])
    assert media.gps_lat == pytest.approx(hostile.GPS_LAT, abs=1e-4)
    assert media.gps_lng == pytest.approx(hostile.GPS_LNG, abs=1e-4)
    # EXIF wall-clock time from a phone in China (UTC+8), stored as UTC.
    assert media.captured_at == datetime(2026, 5, 20, 1, 31, 7, tzinfo=UTC)
    for media_id in (private["id"], declined["id"]):
        media = row(db, media_id)
        assert (media.gps_lat, media.gps_lng, media.captured_at) == (None, None, None)
    assert "gps_lat" not in shared and "captured_at" not in shared


# --- dedup ----------------------------------------------------------------------------


def test_the_same_photo_twice_from_one_user_is_one_row_and_one_object(client, ctx, db, reporter):
    photo = hostile.plain_jpeg(500, 400)

    first = uploaded(client, reporter, photo)
    again = uploaded(client, reporter, photo)

    assert again["id"] == first["id"] and again["sha256"] == first["sha256"]
    assert media_count(db) == 1
    keys = stored_keys(ctx.storage)
    assert len([k for k in keys if k.startswith("media/")]) == 1
    assert len([k for k in keys if k.startswith("thumbs/")]) == 1


def test_the_same_photo_from_two_users_is_two_rows_sharing_one_object(
    client, ctx, db, world, auth_header
):
    photo = hostile.plain_jpeg(500, 400)

    mine = uploaded(client, auth_header(world.reporter), photo)
    theirs = uploaded(client, auth_header(world.inspector), photo)

    assert mine["id"] != theirs["id"] and mine["sha256"] == theirs["sha256"]
    assert media_count(db) == 2
    assert row(db, mine["id"]).key == row(db, theirs["id"]).key
    assert len(stored_keys(ctx.storage)) == 2  # one photo, one thumbnail


def test_an_attached_photo_uploaded_again_gets_a_new_pending_row(client, db, reporter):
    photo = hostile.plain_jpeg(500, 400)
    first = uploaded(client, reporter, photo)
    db.execute(update(Media).where(Media.id == first["id"]).values(status=MediaStatus.ATTACHED))
    db.commit()

    again = uploaded(client, reporter, photo)

    assert again["id"] != first["id"] and again["status"] == "pending"


# --- signed links ---------------------------------------------------------------------


def test_photo_redirects_to_a_signed_link_serving_the_stored_bytes(client, ctx, db, reporter):
    body = uploaded(client, reporter, hostile.plain_jpeg(640, 480))
    media = row(db, body["id"])

    redirect = client.get(f"/api/v1/media/{body['id']}", headers=reporter)

    assert redirect.status_code == 302
    assert "no-store" in redirect.headers["Cache-Control"]
    location = redirect.headers["Location"]
    assert location.startswith(f"{BASE}/media-files/{media.key}?")
    status, headers, data = fetch(client, location)
    assert status == 200
    assert data == ctx.storage.get(media.key)
    assert headers["Content-Type"] == "image/jpeg"
    assert headers["X-Content-Type-Options"] == "nosniff"
    cache = headers["Cache-Control"]
    assert cache.startswith("private, max-age=")
    assert 0 < int(cache.rpartition("=")[2]) <= ctx.settings.media_url_ttl_seconds


def test_thumbnail_redirects_to_the_stored_thumbnail(client, ctx, db, reporter):
    body = uploaded(client, reporter, hostile.plain_jpeg(1200, 900))
    media = row(db, body["id"])

    redirect = client.get(f"/api/v1/media/{body['id']}/thumbnail", headers=reporter)

    assert redirect.status_code == 302
    status, _headers, data = fetch(client, redirect.headers["Location"])
    assert status == 200
    assert data == ctx.storage.get(media.thumb_key)
    assert open_image(data).size == (480, 360)


def test_the_links_in_the_upload_answer_work_too(client, ctx, db, reporter):
    body = uploaded(client, reporter, hostile.plain_jpeg())
    media = row(db, body["id"])

    assert fetch(client, body["url"])[2] == ctx.storage.get(media.key)
    assert fetch(client, body["thumbnail_url"])[2] == ctx.storage.get(media.thumb_key)


def _with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {name: values[0] for name, values in parse_qs(parts.query).items()}
    query.update(changes)
    return f"{parts.path}?{urlencode(query)}"


def test_a_tampered_link_is_403(client, db, reporter):
    body = uploaded(client, reporter, hostile.plain_jpeg())
    url = body["url"]
    sig = parse_qs(urlsplit(url).query)["sig"][0]
    forged = ("1" if sig[0] == "0" else "0") + sig[1:]  # always a different signature

    assert_error(client.get(_with_query(url, sig=forged)), 403, "media_link_invalid")
    # A later expiry under the old signature, or no signature at all, is no better.
    later = str(int(parse_qs(urlsplit(url).query)["expires"][0]) + 3600)
    assert_error(client.get(_with_query(url, expires=later)), 403, "media_link_invalid")
    assert_error(client.get(urlsplit(url).path), 403, "media_link_invalid")
    assert_error(client.get(_with_query(url, expires="soon")), 403, "media_link_invalid")


def test_a_link_signed_for_the_thumbnail_does_not_open_the_photo(client, db, reporter):
    body = uploaded(client, reporter, hostile.plain_jpeg())
    thumb_query = urlsplit(body["thumbnail_url"]).query
    photo_path = urlsplit(body["url"]).path

    assert_error(client.get(f"{photo_path}?{thumb_query}"), 403, "media_link_invalid")


def test_an_expired_link_is_403(client, ctx, reporter):
    body = uploaded(client, reporter, hostile.plain_jpeg())
    expires = int(parse_qs(urlsplit(body["url"]).query)["expires"][0])
    ttl = ctx.settings.media_url_ttl_seconds
    assert expires >= datetime.now(UTC).timestamp() + ttl - 1  # at least the TTL
    later = datetime.fromtimestamp(expires + 1, UTC)
    ctx.clock = lambda: later

    assert_error(client.get(body["url"]), 403, "media_link_invalid")


def test_a_genuine_link_to_a_vanished_object_is_404(client, ctx, db, reporter):
    body = uploaded(client, reporter, hostile.plain_jpeg())
    ctx.storage.delete(row(db, body["id"]).key)

    assert_error(client.get(body["url"]), 404, "not_found")


def test_a_link_cannot_escape_the_media_folder(client, ctx, reporter):
    secret = os.path.join(os.path.dirname(ctx.settings.media_root), "secret.txt")
    with open(secret, "w") as fh:
        fh.write("do not serve")
    response = client.get("/media-files/media/..%2F..%2Fsecret.txt?expires=9999999999&sig=00")

    assert response.status_code in (403, 404)
    assert b"do not serve" not in response.get_data()


# --- who may see a photo --------------------------------------------------------------


@pytest.mark.parametrize(
    "stranger",
    ["other_reporter", "inspector", "officer", "street_supervisor", "district_supervisor"],
)
@pytest.mark.parametrize("path", ["", "/thumbnail"])
def test_someone_elses_photo_is_not_found(client, db, world, auth_header, stranger, path):
    body = uploaded(client, auth_header(world.reporter), hostile.plain_jpeg())
    user = (
        make_user(db, Role.REPORTER) if stranger == "other_reporter" else getattr(world, stranger)
    )
    db.commit()

    response = client.get(f"/api/v1/media/{body['id']}{path}", headers=auth_header(user))

    assert_error(response, 404, "not_found")


def test_an_admin_may_see_any_photo(client, world, auth_header):
    body = uploaded(client, auth_header(world.reporter), hostile.plain_jpeg())

    response = client.get(f"/api/v1/media/{body['id']}", headers=auth_header(world.admin))

    assert response.status_code == 302


def test_fetching_a_photo_needs_a_login_and_an_existing_id(client, reporter):
    body = uploaded(client, reporter, hostile.plain_jpeg())

    assert_error(client.get(f"/api/v1/media/{body['id']}"), 401, "unauthenticated")
    assert_error(client.get("/api/v1/media/999999", headers=reporter), 404, "not_found")


# --- failures -------------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_storage_outage_is_503_and_leaves_no_row(settings, session_factory, db, reporter):
    down = MinioStorage(
        endpoint=f"127.0.0.1:{_closed_port()}",
        access_key="k",
        secret_key="s",
        bucket="photos",
        timeout_seconds=1.0,
    )
    app = create_app(
        context=Context(settings=settings, session_factory=session_factory, storage=down)
    )

    response = upload(app.test_client(), reporter, hostile.plain_jpeg())

    assert_error(response, 503, "storage_unavailable")
    assert response.headers["Retry-After"]
    assert media_count(db) == 0


def test_a_failed_row_commit_leaves_the_objects_for_gc_and_a_retry_reuses_them(
    client, ctx, db, reporter, monkeypatch
):
    photo = hostile.plain_jpeg()
    commit = UnitOfWork.commit

    def lost_connection(self):
        # The photo row's commit only: the upload limit's count commits first, and holds.
        if any(isinstance(added, Media) for added in self.session.new):
            raise DatabaseUnavailable()
        commit(self)

    with monkeypatch.context() as patch:
        patch.setattr(UnitOfWork, "commit", lost_connection)
        assert_error(upload(client, reporter, photo), 503, "database_unavailable")
    assert media_count(db) == 0
    orphans = stored_keys(ctx.storage)
    assert len(orphans) == 2

    body = uploaded(client, reporter, photo)

    assert stored_keys(ctx.storage) == orphans
    assert {row(db, body["id"]).key, row(db, body["id"]).thumb_key} == orphans


# --- garbage collection ---------------------------------------------------------------


def _age(storage, key: str, when: datetime) -> None:
    stamp = when.timestamp()
    os.utime(storage.path_for(key), (stamp, stamp))


def _put(storage, key: str, when: datetime) -> str:
    storage.put(key, b"\xff\xd8\xff orphan", "image/jpeg")
    _age(storage, key, when)
    return key


def _orphan_key(n: int, prefix: str = "media") -> str:
    return content_key(hashlib.sha256(str(n).encode()).hexdigest(), ".jpg", prefix=prefix)


@pytest.fixture
def gc_scene(client, ctx, db, world, auth_header):
    """Photos and objects of every age and state, with what GC must delete and keep."""
    now = datetime.now(UTC)
    long_ago = now - timedelta(hours=48)
    reporter, inspector = auth_header(world.reporter), auth_header(world.inspector)
    photos = {name: hostile.plain_jpeg(300 + n * 10, 200) for n, name in enumerate("abcd")}

    ctx.clock = lambda: long_ago
    old = uploaded(client, reporter, photos["a"])["id"]
    attached = uploaded(client, reporter, photos["b"])["id"]
    shared_old = uploaded(client, reporter, photos["c"])["id"]
    ctx.clock = lambda: now
    fresh = uploaded(client, reporter, photos["d"])["id"]
    shared_fresh = uploaded(client, inspector, photos["c"])["id"]
    db.execute(update(Media).where(Media.id == attached).values(status=MediaStatus.ATTACHED))
    db.commit()

    storage = ctx.storage
    for media_id in (old, attached, shared_old):
        media = row(db, media_id)
        _age(storage, media.key, long_ago)
        _age(storage, media.thumb_key, long_ago)
    old_media = row(db, old)
    return {
        "now": now,
        "deleted_rows": {old, shared_old},
        "kept_rows": {attached, fresh, shared_fresh},
        "deleted_keys": {
            old_media.key,
            old_media.thumb_key,
            _put(storage, _orphan_key(1), long_ago),
            _put(storage, _orphan_key(2, "thumbs"), long_ago),
        },
        "kept_keys": {
            row(db, attached).key,
            row(db, fresh).key,
            row(db, shared_fresh).key,
            row(db, shared_fresh).thumb_key,
            _put(storage, _orphan_key(3), now - timedelta(hours=1)),  # an upload in flight
            _put(storage, "exports/old-report.jpg", long_ago),  # not ours to collect
        },
    }


def _media_ids(db) -> set[int]:
    return set(db.scalars(select(Media.id)))


def test_gc_deletes_expired_uploads_and_old_orphans_and_keeps_the_rest(ctx, db, gc_scene):
    before = stored_keys(ctx.storage)

    report = media_service.collect_garbage(ctx, timedelta(hours=24))

    assert report.rows_deleted == 2
    assert report.objects_deleted == 4
    assert report.bytes_freed > 0
    assert _media_ids(db) == gc_scene["kept_rows"]
    after = stored_keys(ctx.storage)
    assert after == before - gc_scene["deleted_keys"]
    assert gc_scene["kept_keys"] <= after

    again = media_service.collect_garbage(ctx, timedelta(hours=24))
    assert (again.rows_deleted, again.objects_deleted) == (0, 0)


def test_gc_dry_run_reports_the_same_and_deletes_nothing(ctx, db, gc_scene):
    before_rows, before_keys = _media_ids(db), stored_keys(ctx.storage)

    report = media_service.collect_garbage(ctx, timedelta(hours=24), dry_run=True)

    assert report.dry_run
    assert (report.rows_deleted, report.objects_deleted) == (2, 4)
    assert _media_ids(db) == before_rows
    assert stored_keys(ctx.storage) == before_keys


def test_gc_uses_the_pending_ttl_by_default(ctx, db, gc_scene):
    ctx.settings = ctx.settings.with_overrides(media_pending_ttl_hours=72)

    report = media_service.collect_garbage(ctx)

    assert (report.rows_deleted, report.objects_deleted) == (0, 0)


def test_flask_media_gc_prints_a_summary_and_honours_dry_run(app, ctx, db, gc_scene):
    runner = app.test_cli_runner()

    dry = runner.invoke(args=["media", "gc", "--dry-run", "--older-than-hours", "24"])

    assert dry.exit_code == 0, dry.output
    assert "would delete 2 pending photos older than 24 h and 4 of" in dry.output
    assert len(_media_ids(db)) == 5

    real = runner.invoke(args=["media", "gc"])

    assert real.exit_code == 0, real.output
    assert "deleted 2 pending photos older than 24 h and 4 of" in real.output
    assert _media_ids(db) == gc_scene["kept_rows"]


def test_flask_media_gc_refuses_a_zero_grace_period(app):
    result = app.test_cli_runner().invoke(args=["media", "gc", "--older-than-hours", "0"])

    assert result.exit_code != 0


# --- documentation --------------------------------------------------------------------


def test_openapi_documents_the_upload_form_and_the_redirects(client):
    spec = client.get("/api/openapi.json").json
    upload_op = spec["paths"]["/api/v1/media"]["post"]
    form = upload_op["requestBody"]["content"]["multipart/form-data"]["schema"]
    name = form["$ref"].rpartition("/")[2]
    assert {"file", "share_location"} <= set(spec["components"]["schemas"][name]["properties"])
    assert {"201", "413", "415", "422", "503"} <= set(upload_op["responses"])
    for path in ("/api/v1/media/{media_id}", "/api/v1/media/{media_id}/thumbnail"):
        found = spec["paths"][path]["get"]["responses"]["302"]
        assert "Location" in found["headers"]
    files = spec["paths"]["/media-files/{key}"]["get"]
    assert files["security"] == []
    assert "image/jpeg" in files["responses"]["200"]["content"]
