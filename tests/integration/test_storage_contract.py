"""The ObjectStorage contract, run against LocalStorage and MinioStorage (on moto)."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
import requests
from moto.server import ThreadedMotoServer

from service.core.downloads import content_disposition
from service.core.storage import ObjectMissing, ObjectStorage, StorageUnavailable
from service.media.storage import LocalStorage, MinioStorage, content_key
from tests.fixtures_seaweed import make_seaweed_storage
from tests.integration.conftest import LOCAL_BASE_URL, make_local_storage, make_minio_storage

JPEG = "image/jpeg"
# Every byte value, so an accidental text decode or newline translation shows up.
PAYLOAD = bytes(range(256)) * 4


def _sha(n: int) -> str:
    return f"{n:02x}" * 32


# --- the contract, for both implementations --------------------------------------------


def test_put_then_get_returns_the_same_bytes(storage: ObjectStorage) -> None:
    storage.put("media/ab/cd/photo.jpg", PAYLOAD, JPEG)

    assert storage.get("media/ab/cd/photo.jpg") == PAYLOAD


def test_put_again_overwrites_the_object(storage: ObjectStorage) -> None:
    storage.put("media/x.jpg", b"first", JPEG)
    storage.put("media/x.jpg", b"first", JPEG)  # content-addressed retries re-put the same bytes
    storage.put("media/x.jpg", b"second!", "image/png")

    assert storage.get("media/x.jpg") == b"second!"
    assert storage.stat("media/x.jpg").content_type == "image/png"


def test_stat_reports_size_content_type_and_utc_time(storage: ObjectStorage) -> None:
    before = datetime.now(UTC) - timedelta(seconds=5)
    storage.put("media/s.jpg", PAYLOAD, JPEG)

    info = storage.stat("media/s.jpg")

    assert info.key == "media/s.jpg"
    assert info.size == len(PAYLOAD)
    assert info.content_type == JPEG
    assert info.last_modified.utcoffset() == timedelta(0)
    assert before <= info.last_modified <= datetime.now(UTC) + timedelta(seconds=5)


def test_exists_follows_put_and_delete(storage: ObjectStorage) -> None:
    assert not storage.exists("media/e.jpg")
    storage.put("media/e.jpg", b"x", JPEG)
    assert storage.exists("media/e.jpg")

    storage.delete("media/e.jpg")

    assert not storage.exists("media/e.jpg")
    with pytest.raises(ObjectMissing):
        storage.get("media/e.jpg")


def test_deleting_a_missing_key_is_not_an_error(storage: ObjectStorage) -> None:
    storage.delete("media/never-written.jpg")


def test_get_missing_key_raises_object_missing(storage: ObjectStorage) -> None:
    with pytest.raises(ObjectMissing) as excinfo:
        storage.get("media/missing.jpg")
    assert excinfo.value.key == "media/missing.jpg"


def test_stat_missing_key_raises_object_missing(storage: ObjectStorage) -> None:
    with pytest.raises(ObjectMissing):
        storage.stat("media/missing.jpg")


def test_iter_objects_lists_keys_under_a_prefix(storage: ObjectStorage) -> None:
    for key in ("media/ab/1.jpg", "media/ac/2.jpg", "thumbs/ab/1.jpg", "mediax.jpg"):
        storage.put(key, key.encode(), JPEG)

    def keys(prefix: str = "") -> list[str]:
        return sorted(info.key for info in storage.iter_objects(prefix))

    assert keys("media/") == ["media/ab/1.jpg", "media/ac/2.jpg"]
    assert keys("media/a") == ["media/ab/1.jpg", "media/ac/2.jpg"]  # prefixes match mid-name
    assert keys("media") == ["media/ab/1.jpg", "media/ac/2.jpg", "mediax.jpg"]
    assert keys() == ["media/ab/1.jpg", "media/ac/2.jpg", "mediax.jpg", "thumbs/ab/1.jpg"]
    assert keys("nothing/") == []
    sizes = {info.key: info.size for info in storage.iter_objects("thumbs/")}
    assert sizes == {"thumbs/ab/1.jpg": len(b"thumbs/ab/1.jpg")}


def test_content_key_roundtrips_through_storage(storage: ObjectStorage) -> None:
    key = content_key(_sha(0xAB).upper(), ".JPG")
    assert key == f"media/ab/ab/{_sha(0xAB)}.jpg"

    storage.put(key, PAYLOAD, JPEG)

    assert storage.get(key) == PAYLOAD


def test_check_passes_on_a_healthy_store(storage: ObjectStorage) -> None:
    storage.check()


@pytest.mark.parametrize("key", ["../x", "a/../../x", "/etc/passwd", "a\\b", "", "a//b", "./a"])
def test_unsafe_keys_are_rejected(storage: ObjectStorage, key: str) -> None:
    with pytest.raises(ValueError):
        storage.put(key, b"x", JPEG)
    with pytest.raises(ValueError):
        storage.get(key)


def test_presigned_get_returns_an_absolute_url(storage: ObjectStorage) -> None:
    storage.put("media/p.jpg", b"x", JPEG)

    url = urlsplit(storage.presigned_get("media/p.jpg", timedelta(minutes=5)))

    assert url.scheme in {"http", "https"}
    assert url.netloc
    assert url.path.endswith("/media/p.jpg")


@pytest.mark.parametrize("expires", [timedelta(0), timedelta(seconds=-1), timedelta(days=8)])
def test_presigned_get_rejects_out_of_range_expiry(
    storage: ObjectStorage, expires: timedelta
) -> None:
    with pytest.raises(ValueError):
        storage.presigned_get("media/p.jpg", expires)


# --- presigned URLs, per implementation ------------------------------------------------


def test_minio_presigned_url_downloads_the_object(s3_endpoint: str) -> None:
    storage = make_minio_storage(s3_endpoint)
    storage.put("media/ab/p.jpg", PAYLOAD, JPEG)

    url = storage.presigned_get("media/ab/p.jpg", timedelta(minutes=5))
    response = requests.get(url, timeout=5)

    assert response.status_code == 200
    assert response.content == PAYLOAD
    assert response.headers["Content-Type"] == JPEG


def test_seaweedfs_presigned_url_downloads_the_object_and_expires(seaweed) -> None:
    storage = make_seaweed_storage(seaweed)
    storage.put("media/ab/p.jpg", PAYLOAD, JPEG)

    url = storage.presigned_get("media/ab/p.jpg", timedelta(minutes=5))
    response = requests.get(url, timeout=5)
    assert response.status_code == 200
    assert response.content == PAYLOAD
    assert response.headers["Content-Type"] == JPEG
    # A link is signed for its lifetime: a tampered signature is refused.
    forged = url[:-4] + ("0000" if not url.endswith("0000") else "1111")
    assert requests.get(forged, timeout=5).status_code == 403


def test_minio_presigned_url_lasts_at_least_the_requested_time(s3_endpoint: str) -> None:
    storage = make_minio_storage(s3_endpoint)
    storage.put("media/x.jpg", b"x", JPEG)
    asked = int(time.time())

    query = parse_qs(urlsplit(storage.presigned_get("media/x.jpg", timedelta(minutes=5))).query)

    signed_at = datetime.strptime(query["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    valid_until = signed_at.timestamp() + int(query["X-Amz-Expires"][0])
    assert signed_at.timestamp() <= asked + 1  # never dated in the future (clock skew)
    assert asked + 300 <= valid_until <= asked + 300 + 75 + 1


def test_minio_presigned_url_carries_the_requested_expiry(s3_endpoint: str) -> None:
    """moto accepts expired presigned URLs, so we check the signed expiry instead of waiting."""
    storage = make_minio_storage(s3_endpoint)
    storage.put("media/exp.jpg", b"x", JPEG)

    query = parse_qs(urlsplit(storage.presigned_get("media/exp.jpg", timedelta(seconds=1))).query)

    assert query["X-Amz-Expires"] == ["1"]
    signed_at = datetime.strptime(query["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    assert abs(datetime.now(UTC) - signed_at) < timedelta(seconds=30)
    assert query["X-Amz-Signature"][0]


def _signed_parts(url: str) -> tuple[str, int, str]:
    """Split a LocalStorage URL into (key, expires, sig) the way the media route will."""
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    key = parts.path.removeprefix("/media-files/")
    return key, int(query["expires"][0]), query["sig"][0]


def test_local_presigned_url_has_the_documented_shape(tmp_path: Path) -> None:
    storage = make_local_storage(tmp_path)

    url = storage.presigned_get("media/ab/p.jpg", timedelta(minutes=5))

    assert url.startswith(f"{LOCAL_BASE_URL}/media-files/media/ab/p.jpg?expires=")
    before = time.time()
    key, expires, sig = _signed_parts(url)
    assert key == "media/ab/p.jpg"
    # Valid for at least the 5 minutes asked, at most a quarter longer (`link_window`).
    assert before + 300 - 1 <= expires <= time.time() + 300 + 75
    assert len(sig) == 64 and int(sig, 16) >= 0


@pytest.mark.parametrize("kind", ["local", "minio"])
def test_links_signed_moments_apart_are_the_same_url(
    kind: str, tmp_path: Path, s3_endpoint: str
) -> None:
    """Phones cache photos by URL: a list read twice must not re-sign every photo link."""
    if kind == "local":
        storage: ObjectStorage = make_local_storage(tmp_path)
    else:
        storage = make_minio_storage(s3_endpoint)
    storage.put("media/ab/same.jpg", PAYLOAD, JPEG)

    first = storage.presigned_get("media/ab/same.jpg", timedelta(hours=1))
    again = storage.presigned_get("media/ab/same.jpg", timedelta(hours=1))
    other = storage.presigned_get("media/ab/other.jpg", timedelta(hours=1))

    assert first == again and other != first


def test_local_signature_from_the_url_verifies(tmp_path: Path) -> None:
    storage = make_local_storage(tmp_path)
    key, expires, sig = _signed_parts(storage.presigned_get("media/v.jpg", timedelta(minutes=5)))

    assert storage.verify_signature(key, expires, sig)


def test_local_signature_rejects_tampering(tmp_path: Path) -> None:
    storage = make_local_storage(tmp_path)
    key, expires, sig = _signed_parts(storage.presigned_get("media/v.jpg", timedelta(minutes=5)))
    flipped = ("0" if sig[0] != "0" else "1") + sig[1:]

    assert not storage.verify_signature(key, expires, flipped)
    assert not storage.verify_signature("media/other.jpg", expires, sig)
    assert not storage.verify_signature(key, expires + 3600, sig)  # stretching the deadline
    assert not storage.verify_signature("../" + key, expires, sig)
    assert not storage.verify_signature(key, expires, "非十六进制")


NAMED = content_disposition("隐患统计-武进区-2026-11.xlsx", "hazard-stats-320412-2026-11.xlsx")


@pytest.mark.parametrize("kind", ["minio", "seaweedfs"])
def test_s3_answers_the_disposition_signed_in_the_link(kind: str, request) -> None:
    if kind == "minio":
        storage = make_minio_storage(request.getfixturevalue("s3_endpoint"))
    else:
        storage = make_seaweed_storage(request.getfixturevalue("seaweed"))
    storage.put("jobs/7/1/hazard-stats-320412-2026-11.xlsx", PAYLOAD, JPEG)

    url = storage.presigned_get(
        "jobs/7/1/hazard-stats-320412-2026-11.xlsx", timedelta(minutes=5), disposition=NAMED
    )
    response = requests.get(url, timeout=5)

    assert response.status_code == 200 and response.content == PAYLOAD
    header = response.headers["Content-Disposition"]
    assert header == NAMED
    encoded = header.partition("filename*=UTF-8''")[2]
    assert unquote(encoded) == "隐患统计-武进区-2026-11.xlsx"
    if kind == "seaweedfs":  # moto does not check signatures; SeaweedFS does
        # The disposition is signed: a link naming another file is refused.
        path, _, query = url.partition("?")
        forged = f"{path}?{query.replace('2026-11.xlsx', '2026-12.xlsx')}"
        assert requests.get(forged, timeout=5).status_code == 403
    # Without one, the link is the photo link it always was.
    plain = storage.presigned_get("jobs/7/1/hazard-stats-320412-2026-11.xlsx", timedelta(minutes=5))
    assert "response-content-disposition" not in plain
    assert "Content-Disposition" not in requests.get(plain, timeout=5).headers


def test_local_signature_covers_the_disposition(tmp_path: Path) -> None:
    storage = make_local_storage(tmp_path)
    url = storage.presigned_get("jobs/7/1/a.xlsx", timedelta(minutes=5), disposition=NAMED)
    key, expires, sig = _signed_parts(url)
    assert parse_qs(urlsplit(url).query)["response-content-disposition"] == [NAMED]

    assert storage.verify_signature(key, expires, sig, disposition=NAMED)
    assert not storage.verify_signature(key, expires, sig)
    assert not storage.verify_signature(key, expires, sig, disposition=NAMED.replace("11", "12"))
    plain = storage.presigned_get("jobs/7/1/a.xlsx", timedelta(minutes=5))
    assert plain != url and "response-content-disposition" not in plain


def test_local_signature_rejects_an_expired_link(tmp_path: Path) -> None:
    storage = make_local_storage(tmp_path)
    key, expires, sig = _signed_parts(storage.presigned_get("media/v.jpg", timedelta(seconds=60)))

    later = datetime.fromtimestamp(expires, tz=UTC) + timedelta(seconds=1)
    assert storage.verify_signature(key, expires, sig, now=later - timedelta(seconds=2))
    assert not storage.verify_signature(key, expires, sig, now=later)


def test_local_signature_depends_on_the_secret(tmp_path: Path) -> None:
    storage = make_local_storage(tmp_path)
    other = LocalStorage(tmp_path, base_url=LOCAL_BASE_URL, secret="another-secret")
    key, expires, sig = _signed_parts(storage.presigned_get("media/v.jpg", timedelta(minutes=5)))

    assert not other.verify_signature(key, expires, sig)


# --- LocalStorage specifics --------------------------------------------------------------


def test_local_path_for_stays_inside_the_root(tmp_path: Path) -> None:
    storage = make_local_storage(tmp_path)

    assert storage.path_for("media/ab/x.jpg") == tmp_path / "media" / "ab" / "x.jpg"
    with pytest.raises(ValueError):
        storage.path_for("../x")


def test_local_failed_write_keeps_the_old_file_and_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage = make_local_storage(tmp_path)
    storage.put("media/a.jpg", b"old", JPEG)

    def crash(src: str, dst: str) -> None:
        raise OSError("disk gone")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(StorageUnavailable):
        storage.put("media/a.jpg", b"new", JPEG)
    monkeypatch.undo()

    assert storage.get("media/a.jpg") == b"old"
    assert sorted(p.name for p in (tmp_path / "media").iterdir()) == ["a.jpg"]


def test_local_listing_ignores_hidden_and_metadata_files(tmp_path: Path) -> None:
    storage = make_local_storage(tmp_path)
    storage.put("media/a.jpg", b"x", JPEG)
    (tmp_path / "media" / ".a.jpg.123.tmp").write_bytes(b"half")  # left by a crash

    assert [info.key for info in storage.iter_objects()] == ["media/a.jpg"]


# --- MinIO outages --------------------------------------------------------------------------


@pytest.fixture
def closed_port() -> int:
    """A loopback port with nothing listening (bound, read, released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


OPERATIONS: dict[str, Callable[[MinioStorage], object]] = {
    "put": lambda s: s.put("media/x.jpg", b"x", JPEG),
    "get": lambda s: s.get("media/x.jpg"),
    "stat": lambda s: s.stat("media/x.jpg"),
    "exists": lambda s: s.exists("media/x.jpg"),
    "delete": lambda s: s.delete("media/x.jpg"),
    "iter_objects": lambda s: list(s.iter_objects()),
    "check": lambda s: s.check(),
}


@pytest.mark.parametrize("operation", OPERATIONS)
def test_unreachable_minio_raises_storage_unavailable_quickly(
    closed_port: int, operation: str
) -> None:
    started = time.monotonic()
    storage = make_minio_storage(f"127.0.0.1:{closed_port}")  # construction never connects

    with pytest.raises(StorageUnavailable):
        OPERATIONS[operation](storage)

    assert time.monotonic() - started < 5


def test_minio_creates_its_bucket_once_the_server_is_back(closed_port: int) -> None:
    storage = make_minio_storage(f"127.0.0.1:{closed_port}")
    with pytest.raises(StorageUnavailable):
        storage.check()

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=closed_port, verbose=False)
    server.start()
    try:
        storage.check()  # the failed bucket creation was not cached
        storage.put("media/late.jpg", b"late", JPEG)
        assert storage.get("media/late.jpg") == b"late"
    finally:
        server.stop()


def test_minio_check_fails_when_the_bucket_is_missing_and_not_ours_to_create(
    s3_endpoint: str,
) -> None:
    storage = make_minio_storage(s3_endpoint, create_bucket=False)

    with pytest.raises(StorageUnavailable, match="does not exist"):
        storage.check()


class _Failing(BaseHTTPRequestHandler):
    """Answers every request with 503, with or without an S3 XML error body."""

    hits = 0
    xml = True

    def _fail(self) -> None:
        type(self).hits += 1
        body = (
            b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code>'
            b"<Message>Please reduce your request rate.</Message></Error>"
            if self.xml
            else b"upstream down"
        )
        self.send_response(503)
        self.send_header("Content-Type", "application/xml" if self.xml else "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_PUT = do_HEAD = do_DELETE = _fail

    def log_message(self, format: str, *args: object) -> None:
        """Keep test output quiet."""


@pytest.fixture(params=[True, False], ids=["xml-503", "plain-503"])
def failing_endpoint(request: pytest.FixtureRequest) -> Iterator[type[_Failing]]:
    """A loopback HTTP server that answers 503 to everything, like an overloaded gateway."""
    handler = type("Handler", (_Failing,), {"hits": 0, "xml": request.param})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    # A short poll interval keeps shutdown() from costing half a second per test.
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    handler.endpoint = f"127.0.0.1:{server.server_address[1]}"  # type: ignore[attr-defined]
    yield handler
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.mark.parametrize("operation", ["put", "get", "stat"])
def test_minio_5xx_becomes_storage_unavailable_after_one_retry(
    failing_endpoint: type[_Failing], operation: str
) -> None:
    storage = make_minio_storage(
        failing_endpoint.endpoint,  # type: ignore[attr-defined]
        region="us-east-1",  # skip the bucket-location lookup so we count one operation
        create_bucket=False,
    )
    started = time.monotonic()

    with pytest.raises(StorageUnavailable):
        OPERATIONS[operation](storage)

    assert time.monotonic() - started < 5
    assert failing_endpoint.hits == 2  # the SDK default would retry 5 times with backoff
