"""Photo links phones can open: signed for MINIO_PUBLIC_ENDPOINT, stored through MINIO_ENDPOINT.

The app talks to moto's S3 server at 127.0.0.1:<port> (the internal endpoint); phones reach
the same server through another name and port, `localhost:<gate>`, a gate that checks each
link's signature for the host it was reached at, as S3 and MinIO do (moto does not).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import requests
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from miniprogram_api import create_app
from service.bootstrap import storage_for
from service.core.context import Context
from tests import hostile
from tests.fakes.s3_gate import SigV4Gate
from tests.fixtures_s3 import S3_ACCESS_KEY, S3_SECRET_KEY, make_minio_storage

REGION = "us-east-1"
PHOTO = b"\xff\xd8\xff\xe0 not really a jpeg, bytes are bytes"
KEY = "media/ab/cd/public-link.jpg"


@pytest.fixture
def gate(s3_endpoint: str) -> Iterator[SigV4Gate]:
    gate = SigV4Gate(s3_endpoint, S3_SECRET_KEY).start()
    yield gate
    gate.close()


def public_url(gate: SigV4Gate) -> str:
    """The public endpoint: the gate under another host name than the internal 127.0.0.1."""
    return f"http://localhost:{gate.port}"


def on_host(url: str, netloc: str) -> str:
    """The same link sent to another host (what a proxy in front of storage would do)."""
    return urlsplit(url)._replace(netloc=netloc).geturl()


def test_a_link_signed_for_the_public_host_downloads_the_photo_there(s3_endpoint, gate):
    storage = make_minio_storage(s3_endpoint, region=REGION, public_endpoint=public_url(gate))
    storage.put(KEY, PHOTO, "image/jpeg")

    link = storage.presigned_get(KEY, timedelta(minutes=5))

    assert urlsplit(link).netloc == f"localhost:{gate.port}"
    fetched = requests.get(link, timeout=10)
    assert fetched.status_code == 200, fetched.text
    assert fetched.content == PHOTO
    assert gate.checked == 1 and gate.refused == 0


def test_a_link_signed_for_one_host_fails_on_another(s3_endpoint, gate):
    public = make_minio_storage(s3_endpoint, region=REGION, public_endpoint=public_url(gate))
    public.put(KEY, PHOTO, "image/jpeg")
    internal = make_minio_storage(s3_endpoint, region=REGION, bucket=public.bucket)

    # Signed for localhost:<gate>, sent to 127.0.0.1:<gate>: the same server, another Host.
    moved = on_host(public.presigned_get(KEY, timedelta(minutes=5)), f"127.0.0.1:{gate.port}")
    # Signed for the internal endpoint, then sent through the public host (a proxy's rewrite).
    proxied = on_host(internal.presigned_get(KEY, timedelta(minutes=5)), f"localhost:{gate.port}")

    for link in (moved, proxied):
        refused = requests.get(link, timeout=10)
        assert refused.status_code == 403
        assert "<Code>SignatureDoesNotMatch</Code>" in refused.text
    assert gate.refused == 2


def test_signing_for_the_public_host_needs_no_connection_to_it(s3_endpoint):
    # Nothing listens on port 9: a request to the public host would fail.
    storage = make_minio_storage(s3_endpoint, region=REGION, public_endpoint="https://localhost:9")

    link = storage.presigned_get(KEY, timedelta(minutes=5))

    assert link.startswith(f"https://localhost:9/{storage.bucket}/{KEY}?")
    assert "X-Amz-Signature=" in link


def test_a_public_endpoint_without_a_region_is_refused(s3_endpoint):
    with pytest.raises(ValueError, match="region"):
        make_minio_storage(s3_endpoint, public_endpoint="https://media.example.cn")


def _minio_settings(settings, s3_endpoint: str, gate: SigV4Gate, bucket: str):
    return settings.with_overrides(
        storage_backend="minio",
        minio_endpoint=s3_endpoint,
        minio_access_key=S3_ACCESS_KEY,
        minio_secret_key=S3_SECRET_KEY,
        minio_bucket=bucket,
        minio_region=REGION,
        minio_public_endpoint=public_url(gate),
    )


def test_the_api_hands_phones_links_on_the_public_host(
    settings, session_factory, s3_endpoint, gate, world, auth_header
):
    bucket = make_minio_storage(s3_endpoint).bucket
    public_settings = _minio_settings(settings, s3_endpoint, gate, bucket)
    ctx = Context(
        settings=public_settings,
        session_factory=session_factory,
        storage=storage_for(public_settings),  # what create_app wires from the environment
    )
    client = create_app(context=ctx).test_client()
    headers = auth_header(world.reporter)
    fields = MultiDict(
        {"file": FileStorage(io.BytesIO(hostile.plain_jpeg()), "p.jpg", content_type="image/jpeg")}
    )
    boundary, body = encode_multipart(fields)
    uploaded = client.post(
        "/api/v1/media",
        data=body,
        headers=headers,
        content_type=f'multipart/form-data; boundary="{boundary}"',
    )
    assert uploaded.status_code == 201, uploaded.json
    assert urlsplit(uploaded.json["url"]).netloc == f"localhost:{gate.port}"

    for path in ("", "/thumbnail"):
        redirect = client.get(f"/api/v1/media/{uploaded.json['id']}{path}", headers=headers)
        assert redirect.status_code == 302
        location = redirect.headers["Location"]
        assert urlsplit(location).netloc == f"localhost:{gate.port}"
        fetched = requests.get(location, timeout=10)
        assert fetched.status_code == 200
        assert fetched.content[:2] == b"\xff\xd8"  # the stored JPEG, through the public host
