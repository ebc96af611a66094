"""The photo flow on MinIO: moto's S3 server on loopback, presigned URLs fetched over real HTTP."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
import requests
from PIL import Image
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from miniprogram_api import create_app
from service.core.context import Context
from service.media import photos as media_service
from service.media.models import Media
from service.media.storage import MinioStorage
from tests import hostile
from tests.api.helpers import assert_error
from tests.fixtures_s3 import S3_ACCESS_KEY, S3_SECRET_KEY, make_minio_storage


@pytest.fixture
def bucket(s3_endpoint: str) -> MinioStorage:
    return make_minio_storage(s3_endpoint)


@pytest.fixture
def minio_ctx(settings, session_factory, s3_endpoint: str, bucket: MinioStorage) -> Context:
    minio_settings = settings.with_overrides(
        storage_backend="minio",
        minio_endpoint=s3_endpoint,
        minio_access_key=S3_ACCESS_KEY,
        minio_secret_key=S3_SECRET_KEY,
        minio_bucket=bucket.bucket,
    )
    return Context(settings=minio_settings, session_factory=session_factory, storage=bucket)


@pytest.fixture
def minio_client(minio_ctx: Context):
    return create_app(context=minio_ctx).test_client()


def upload(client, headers, data: bytes, filename: str = "photo.jpg", content_type="image/jpeg"):
    fields = MultiDict({"file": FileStorage(io.BytesIO(data), filename, content_type=content_type)})
    boundary, body = encode_multipart(fields)
    return client.post(
        "/api/v1/media",
        data=body,
        headers=headers,
        content_type=f'multipart/form-data; boundary="{boundary}"',
    )


def bucket_keys(storage: MinioStorage) -> set[str]:
    return {info.key for info in storage.iter_objects()}


def test_upload_then_redirect_to_a_presigned_url_that_serves_the_stored_bytes(
    minio_client, bucket, db, world, auth_header
):
    headers = auth_header(world.reporter)
    response = upload(minio_client, headers, hostile.jpeg_with_gps_and_orientation(1200, 800))
    assert response.status_code == 201, response.json
    media = db.scalars(select(Media).where(Media.id == response.json["id"])).one()

    for path, key in (("", media.key), ("/thumbnail", media.thumb_key)):
        redirect = minio_client.get(f"/api/v1/media/{media.id}{path}", headers=headers)
        assert redirect.status_code == 302
        location = redirect.headers["Location"]
        assert "X-Amz-Signature=" in location and bucket.bucket in location

        fetched = requests.get(location, timeout=10)

        assert fetched.status_code == 200
        assert fetched.content == bucket.get(key)
    image = Image.open(io.BytesIO(bucket.get(media.key)))
    assert image.size == (800, 1200) and not image.getexif()


def test_the_links_in_the_upload_answer_are_presigned_too(minio_client, bucket, world, auth_header):
    body = upload(minio_client, auth_header(world.reporter), hostile.plain_jpeg()).json

    assert requests.get(body["url"], timeout=10).content == bucket.get(
        next(k for k in bucket_keys(bucket) if k.startswith("media/"))
    )
    assert requests.get(body["thumbnail_url"], timeout=10).status_code == 200


def test_the_local_file_route_answers_404_on_minio(minio_client, db, world, auth_header):
    body = upload(minio_client, auth_header(world.reporter), hostile.plain_jpeg()).json
    key = db.scalar(select(Media.key).where(Media.id == body["id"]))

    response = minio_client.get(f"/media-files/{key}?expires=9999999999&sig=00")

    assert_error(response, 404, "not_found")


def test_a_hostile_upload_leaves_the_bucket_empty(minio_client, bucket, db, world, auth_header):
    response = upload(
        minio_client,
        auth_header(world.reporter),
        hostile.svg_with_script(),
        "x.svg",
        "image/svg+xml",
    )

    assert_error(response, 415, "unsupported_media_type")
    assert db.scalar(select(func.count(Media.id))) == 0
    assert bucket_keys(bucket) == set()


def test_the_same_photo_from_two_users_is_stored_once(minio_client, bucket, world, auth_header):
    photo = hostile.plain_jpeg(500, 400)
    first = upload(minio_client, auth_header(world.reporter), photo).json
    second = upload(minio_client, auth_header(world.inspector), photo).json

    assert first["id"] != second["id"]
    assert len(bucket_keys(bucket)) == 2  # one photo, one thumbnail


def test_gc_on_minio_removes_expired_uploads_and_their_objects(
    minio_client, minio_ctx, bucket, db, world, auth_header
):
    upload(minio_client, auth_header(world.reporter), hostile.plain_jpeg())
    bucket.put("exports/keep.csv", b"a,b\n", "text/csv")  # outside media/ and thumbs/
    later = datetime.now(UTC) + timedelta(hours=48)
    minio_ctx.clock = lambda: later

    dry = media_service.collect_garbage(minio_ctx, timedelta(hours=24), dry_run=True)
    assert (dry.rows_deleted, dry.objects_deleted) == (1, 2)
    assert len(bucket_keys(bucket)) == 3

    report = media_service.collect_garbage(minio_ctx, timedelta(hours=24))

    assert (report.rows_deleted, report.objects_deleted, report.objects_scanned) == (1, 2, 2)
    assert db.scalar(select(func.count(Media.id))) == 0
    assert bucket_keys(bucket) == {"exports/keep.csv"}
