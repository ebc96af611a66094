"""Processes a deployment runs, started for tests: gunicorn app boxes and job consumers,
each with the environment a box would have (no developer settings leak in)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path

import pytest
import requests

from service.core.settings import PROJECT_ROOT, Settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def box_environment(settings: dict[str, str]) -> dict[str, str]:
    """This process's environment without any of our settings, plus `settings`."""
    ours = {f.name.upper() for f in fields(Settings)} | {"GUNICORN_CMD_ARGS", "WEB_CONCURRENCY"}
    env = {k: v for k, v in os.environ.items() if k not in ours}
    fixed = {"APP_ENV": "test", "LOG_FORMAT": "text", "FLASK_APP": "wsgi:app"}
    fixed["PYTHONUNBUFFERED"] = "1"  # a consumer's "consuming …" line shows at once
    return env | fixed | settings


@dataclass
class Process:
    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def dying_with_us(command: list[str]) -> list[str]:
    """`command`, sent SIGTERM when the test process dies (util-linux's setpriv, where there
    is one): a suite killed midway would otherwise leave consumers running that take the
    next run's queued jobs."""
    setpriv = shutil.which("setpriv")
    return [setpriv, "--pdeathsig", "TERM", "--", *command] if setpriv else command


@contextmanager
def started(name: str, command: list[str], env: dict[str, str], folder: Path) -> Iterator[Process]:
    """A process whose output goes to `folder/name.log`; stopped (then killed) afterwards,
    its log's tail written to stderr (pytest shows it on failure)."""
    log = folder / f"{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            dying_with_us(command), cwd=PROJECT_ROOT, env=env, stdout=out,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    running = Process(name, process, log)
    try:
        yield running
    finally:
        stop(running)
        sys.stderr.write(f"--- {name} ---\n{running.output()[-8000:]}\n")


def stop(process: Process, grace: float = 15) -> None:
    if process.process.poll() is not None:
        return
    process.process.send_signal(signal.SIGTERM)
    try:
        process.process.wait(grace)
    except subprocess.TimeoutExpired:
        process.process.kill()
        process.process.wait()


@contextmanager
def gunicorn(name: str, env: dict[str, str], folder: Path, workers: int = 2) -> Iterator[str]:
    """An app box: gunicorn.conf.py with `workers` workers on a free port; yields its URL
    once /readyz answers 200."""
    port = free_port()
    command = [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py", "-w", str(workers)]
    command += ["--no-control-socket", "--bind", f"127.0.0.1:{port}", "wsgi:app"]
    base = f"http://127.0.0.1:{port}"
    with started(name, command, env, folder) as box:
        deadline = time.monotonic() + 60
        while True:
            if box.process.poll() is not None:
                pytest.fail(f"{name} exited with {box.process.returncode}:\n{box.output()}")
            try:
                if requests.get(f"{base}/api/v1/readyz", timeout=5).status_code == 200:
                    break
            except requests.RequestException:  # refused, or slow to answer on a busy machine
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"{name} not ready within 60 s:\n{box.output()}")
            time.sleep(0.2)
        yield base


def flask_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "flask", *args]


@contextmanager
def consumer(
    name: str, env: dict[str, str], folder: Path, *, workers: int = 1, scheduler: bool = True
) -> Iterator[Process]:
    """A box's job consumer (`flask jobs consume`), started and running."""
    args = ["jobs", "consume", "--workers", str(workers)]
    if not scheduler:
        args.append("--no-scheduler")
    with started(name, flask_command(*args), env, folder) as process:
        deadline = time.monotonic() + 30
        while "consuming" not in process.output():
            if process.process.poll() is not None:
                pytest.fail(f"{name} exited with {process.process.returncode}:\n{process.output()}")
            if time.monotonic() > deadline:
                pytest.fail(f"{name} did not start within 30 s:\n{process.output()}")
            time.sleep(0.1)
        yield process


def wait_for(check, timeout: float = 60, every: float = 0.2, explain=None):  # type: ignore[no-untyped-def]
    """Call `check` until it returns something true; that value, or fail after `timeout`
    (with what `explain()` says about the state things are in, when given)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"not within {timeout} s: {check}\n{explain() if explain else ''}")
        time.sleep(every)


def tails(processes: list[Process], chars: int = 6000) -> str:
    """The end of each process's log, for a failure message."""
    return "\n".join(f"--- {p.name} ---\n{p.output()[-chars:]}" for p in processes)
