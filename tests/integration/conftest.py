"""Integration fixtures: a loopback S3 server (moto) and a `storage` fixture over both backends."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from moto.server import ThreadedMotoServer

from service.storage import LocalStorage, MinioStorage, ObjectStorage

S3_ACCESS_KEY = "testing"
S3_SECRET_KEY = "testing"
LOCAL_BASE_URL = "https://media.example.test"
LOCAL_SECRET = "test-signing-secret"


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """Start moto's S3-protocol server on a free loopback port and yield "host:port"."""
    # port=0 lets the OS choose; get_host_and_port() reports the bound port, so no race.
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"{host}:{port}"
    # moto builds its S3 backend on the first request (slow under coverage or -X dev); pay
    # that once here, with a generous timeout, rather than inside the first test.
    make_minio_storage(endpoint, bucket="warm-up", timeout_seconds=60.0).check()
    yield endpoint
    server.stop()


def make_minio_storage(endpoint: str, **overrides: object) -> MinioStorage:
    """Build a MinioStorage on a fresh, uniquely named bucket."""
    options: dict[str, object] = {
        "endpoint": endpoint,
        "access_key": S3_ACCESS_KEY,
        "secret_key": S3_SECRET_KEY,
        "bucket": f"test-{uuid.uuid4().hex[:16]}",
    }
    options.update(overrides)
    return MinioStorage(**options)  # type: ignore[arg-type]


def make_local_storage(root: Path) -> LocalStorage:
    """Build a LocalStorage in root with the test signing secret."""
    return LocalStorage(root, base_url=LOCAL_BASE_URL + "/", secret=LOCAL_SECRET)


@pytest.fixture(params=["local", "minio"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> ObjectStorage:
    """Each implementation in turn, empty: a tmp folder or a fresh bucket on moto."""
    if request.param == "local":
        return make_local_storage(tmp_path / "media-root")
    # Only the minio case needs the server; resolve it lazily so local-only runs stay fast.
    endpoint = request.getfixturevalue("s3_endpoint")
    return make_minio_storage(endpoint)
