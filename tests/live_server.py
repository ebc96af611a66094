"""The production gunicorn config as a real process, for tests where processes matter."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import fields
from pathlib import Path

import pytest
import requests

from service.core.settings import PROJECT_ROOT, Settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def app_env(**settings: str) -> dict[str, str]:
    """The parent's environment minus every setting of ours, plus these (upper-case names)."""
    ours = {f.name.upper() for f in fields(Settings)} | {"GUNICORN_CMD_ARGS", "WEB_CONCURRENCY"}
    env = {k: v for k, v in os.environ.items() if k not in ours}
    env.update(settings)
    return env


@contextmanager
def gunicorn(
    env: dict[str, str], log_path: Path, *, workers: int = 2, threads: int = 4
) -> Iterator[str]:
    """Run gunicorn.conf.py with `workers` × `threads`; yield its base URL once ready.

    Its log goes to a file (a full pipe would block the workers) and is replayed on
    stderr, which pytest shows when the test fails."""
    base = f"http://127.0.0.1:{free_port()}"
    command = [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py"]
    command += ["-w", str(workers), "--threads", str(threads)]
    # No control socket: its default path is shared by every gunicorn of this user.
    command += ["--no-control-socket", "--bind", base.removeprefix("http://"), "wsgi:app"]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        _wait_ready(process, base)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        _replay_log(log_path)


def _wait_ready(process: subprocess.Popen[bytes], base: str) -> None:
    deadline = time.monotonic() + 60  # a loaded 2-core machine, or parallel tests
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"gunicorn exited with {process.returncode} before it was ready")
        try:
            if requests.get(f"{base}/api/v1/readyz", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    pytest.fail("gunicorn was not ready within 60 s")


def _replay_log(log_path: Path) -> None:
    """Everything but the access lines of successful requests."""
    lines = log_path.read_text(errors="replace").splitlines()
    noisy = [
        line
        for line in lines
        if not (line.startswith("127.0.0.1") and '" 20' in line)  # gunicorn's access log
        and not line.endswith("mashangcha.access: request")  # the app's, in text format
    ]
    sys.stderr.write(f"--- gunicorn log ({len(lines)} lines, access lines of 2xx left out) ---\n")
    sys.stderr.write("\n".join(noisy[-400:]) + "\n")
