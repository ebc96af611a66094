"""A loopback S3-protocol server (moto) shared by every test folder, as a pytest plugin.

Registered from tests/conftest.py with `pytest_plugins`, so API and integration tests
can both ask for `s3_endpoint`; the server starts once per run, and only when asked for.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from moto.server import ThreadedMotoServer

from service.media.storage import MinioStorage

S3_ACCESS_KEY = "testing"
S3_SECRET_KEY = "testing"


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
