"""Integration fixtures: a `storage` fixture over both backends.

The moto S3 server (`s3_endpoint`) lives in tests/fixtures_s3.py so API tests can use it too.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from service.core.storage import ObjectStorage
from service.media.storage import LocalStorage
from tests.fixtures_s3 import make_minio_storage
from tests.fixtures_seaweed import make_seaweed_storage

# make_minio_storage is re-exported: test_storage_contract imports it from here.
__all__ = ["LOCAL_BASE_URL", "make_local_storage", "make_minio_storage"]

LOCAL_BASE_URL = "https://media.example.test"
LOCAL_SECRET = "test-signing-secret"


def make_local_storage(root: Path) -> LocalStorage:
    """Build a LocalStorage in root with the test signing secret."""
    return LocalStorage(root, base_url=LOCAL_BASE_URL + "/", secret=LOCAL_SECRET)


@pytest.fixture(params=["local", "minio", "seaweedfs"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> ObjectStorage:
    """Each implementation in turn, empty: a tmp folder, a fresh bucket on moto, a fresh
    bucket on SeaweedFS."""
    if request.param == "local":
        return make_local_storage(tmp_path / "media-root")
    if request.param == "seaweedfs":
        return make_seaweed_storage(request.getfixturevalue("seaweed"))
    # Only the minio case needs the server; resolve it lazily so local-only runs stay fast.
    endpoint = request.getfixturevalue("s3_endpoint")
    return make_minio_storage(endpoint)
