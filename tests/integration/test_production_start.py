"""Starting as a server does: `.env`, refusals and warnings, and two instances on one box.

Real processes: the `flask` command and gunicorn (2 workers), each in a temporary working
directory with its own `.env` (the environment file of a deploy), never the checkout's.
"""

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
from gunicorn.ctl.client import ControlClient

from service.core.settings import PROJECT_ROOT, Settings

BIN = Path(sys.executable).parent
PRODUCTION = {
    "APP_ENV": "production",
    "SECRET_KEY": "s" * 40,
    "PUBLIC_BASE_URL": "https://hazard.example.cn",
    "WECHAT_APPID": "wx-appid",
    "WECHAT_SECRET": "wx-secret",
}


def clean_env(home: Path, **values: str) -> dict[str, str]:
    """The parent's environment without any of our settings, plus `values`."""
    ours = {f.name.upper() for f in fields(Settings)}
    ours |= {"FLASK_APP", "FLASK_SKIP_DOTENV", "GUNICORN_CMD_ARGS", "WEB_CONCURRENCY"}
    env = {k: v for k, v in os.environ.items() if k not in ours}
    # The control socket's default folder is $XDG_RUNTIME_DIR (else ~/.gunicorn): the test's.
    env |= {"HOME": str(home), "XDG_RUNTIME_DIR": str(home), "PYTHONPATH": str(PROJECT_ROOT)}
    env |= {"FLASK_APP": "wsgi:app", "LOG_FORMAT": "text"}
    return env | values


def write_env_file(folder: Path, **values: str) -> None:
    lines = [f"{name}={value}" for name, value in values.items()]
    (folder / ".env").write_text("# the deploy's environment file\n" + "\n".join(lines) + "\n")


def flask(folder: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "flask"), *args],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def assert_refused_in_one_line(done: subprocess.CompletedProcess[str], *phrases: str) -> None:
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("mashangcha: ")
    for phrase in phrases:
        assert phrase in line


def test_the_flask_command_reads_the_env_file_of_its_directory(tmp_path: Path):
    database = tmp_path / "from-env-file.db"
    write_env_file(tmp_path, DATABASE_URL=f"sqlite:///{database}")

    done = flask(tmp_path, clean_env(tmp_path), "db", "upgrade")

    assert done.returncode == 0, done.stderr
    assert database.exists()
    purged = flask(tmp_path, clean_env(tmp_path), "idempotency", "purge", "--dry-run")
    assert purged.returncode == 0, purged.stderr
    assert "would forget 0 Idempotency-Keys" in purged.stdout


def test_the_wsgi_entry_reads_the_same_env_file(tmp_path: Path):
    write_env_file(tmp_path, DATABASE_URL=f"sqlite:///{tmp_path / 'served.db'}")

    done = subprocess.run(
        [sys.executable, "-c", "import wsgi; print(wsgi.settings.database_url)"],
        cwd=tmp_path,
        env=clean_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"sqlite:///{tmp_path / 'served.db'}"


def test_a_variable_already_set_wins_over_the_env_file(tmp_path: Path):
    write_env_file(tmp_path, DATABASE_URL=f"sqlite:///{tmp_path / 'from-file.db'}")
    env = clean_env(tmp_path, DATABASE_URL=f"sqlite:///{tmp_path / 'from-environment.db'}")

    done = flask(tmp_path, env, "db", "upgrade")

    assert done.returncode == 0, done.stderr
    assert (tmp_path / "from-environment.db").exists()
    assert not (tmp_path / "from-file.db").exists()


def test_production_refuses_a_command_without_database_url(tmp_path: Path):
    # A cron line without the environment file: it must not run on an empty SQLite file.
    done = flask(tmp_path, clean_env(tmp_path, **PRODUCTION), "hazards", "sweep")

    assert_refused_in_one_line(done, "DATABASE_URL must be set in production")
    # With the environment file in its directory, the same line runs.
    write_env_file(tmp_path, DATABASE_URL=f"sqlite:///{tmp_path / 'prod.db'}")
    assert flask(tmp_path, clean_env(tmp_path, **PRODUCTION), "db", "upgrade").returncode == 0
    swept = flask(tmp_path, clean_env(tmp_path, **PRODUCTION), "hazards", "sweep")
    assert swept.returncode == 0, swept.stderr
    assert "marked overdue" in swept.stdout


@pytest.mark.parametrize(
    ("setting", "phrase"),
    [
        ({"JWT_ACCESS_TTL_MINUTES": "soon"}, "JWT_ACCESS_TTL_MINUTES"),
        ({"MINIO_ENDPOINT": "http://minio:9000/"}, "MINIO_ENDPOINT must be host:port"),
        ({"STORAGE_BACKEND": "s3"}, "STORAGE_BACKEND must be"),
    ],
)
def test_bad_settings_fail_a_command_in_one_line(tmp_path: Path, setting, phrase):
    env = clean_env(tmp_path, DATABASE_URL=f"sqlite:///{tmp_path / 'x.db'}", **setting)

    assert_refused_in_one_line(flask(tmp_path, env, "hazards", "sweep"), phrase)


# --- gunicorn ------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _gunicorn_command(port: int, workers: int | None = 2) -> list[str]:
    """The production command; `workers=None` leaves the count to WEB_CONCURRENCY."""
    server = [sys.executable, "-m", "gunicorn", "--config", str(PROJECT_ROOT / "gunicorn.conf.py")]
    if workers is not None:
        server += ["-w", str(workers)]
    return [*server, "--bind", f"127.0.0.1:{port}", "wsgi:app"]


@contextmanager
def gunicorn(
    folder: Path, env: dict[str, str], log: Path, workers: int | None = 2
) -> Iterator[tuple[str, int]]:
    """gunicorn with the production config in `folder`; yields (base URL, master pid)."""
    port = _free_port()
    with log.open("wb") as out:
        process = subprocess.Popen(
            _gunicorn_command(port, workers),
            cwd=folder,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                pytest.fail(f"gunicorn exited with {process.returncode}:\n{log.read_text()}")
            try:
                if requests.get(f"{base}/api/v1/readyz", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"gunicorn not ready within 60 s:\n{log.read_text()}")
            time.sleep(0.2)
        yield base, process.pid
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _deploy(folder: Path, **values: str) -> dict[str, str]:
    """A production `.env` in `folder` (SQLite and local photos, so it warns), migrated."""
    write_env_file(
        folder,
        DATABASE_URL=f"sqlite:///{folder / 'prod.db'}",
        MEDIA_ROOT=str(folder / "media"),
        **values,
    )
    env = clean_env(folder, **PRODUCTION)
    assert flask(folder, env, "db", "upgrade").returncode == 0
    return env


def test_gunicorn_reads_the_env_file_and_warns_once_about_each_weak_setting(tmp_path: Path):
    env = _deploy(tmp_path, WEB_CONCURRENCY="3")  # gunicorn.conf.py reads it from .env too
    log = tmp_path / "gunicorn.log"

    with gunicorn(tmp_path, env, log, workers=None) as (base, _pid):
        ready = requests.get(f"{base}/api/v1/readyz", timeout=5)

    assert ready.json()["checks"] == {"database": "ok", "storage": "ok"}
    text = log.read_text()
    for start in (
        "DATABASE_URL is SQLite",
        "STORAGE_BACKEND=local",
        "NOTIFICATION_SENDER=log",
    ):
        # Once, from the master, though three workers started.
        assert text.count(f"[WARNING] {start}") == 1, text
    assert "REDIS_URL" not in text  # the limits count in the database, shared by the workers
    assert text.count("Booting worker") == 3


def test_gunicorn_refuses_to_start_in_production_without_database_url(tmp_path: Path):
    env = clean_env(tmp_path, **PRODUCTION)

    done = subprocess.run(
        _gunicorn_command(_free_port()),
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == 1
    output = done.stdout + done.stderr
    assert "Traceback" not in output and "Booting worker" not in output
    [line] = [line for line in output.splitlines() if line.startswith("mashangcha: ")]
    assert "DATABASE_URL must be set in production" in line


def _control_pid(socket_path: Path) -> int:
    with ControlClient(str(socket_path), timeout=10) as client:
        return int(client.send_command("show stats")["pid"])


def test_two_instances_on_one_box_keep_their_own_control_sockets(tmp_path: Path):
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    run = tmp_path / "run"  # one user, one runtime folder, as on a server
    run.mkdir()
    env_first = _deploy(first) | {"HOME": str(run), "XDG_RUNTIME_DIR": str(run)}
    env_second = _deploy(second) | {"HOME": str(run), "XDG_RUNTIME_DIR": str(run)}

    with gunicorn(first, env_first, tmp_path / "first.log") as (base_a, pid_a):
        with gunicorn(second, env_second, tmp_path / "second.log") as (base_b, pid_b):
            sockets = sorted(run.glob("*.ctl"))
            port_a, port_b = base_a.rpartition(":")[2], base_b.rpartition(":")[2]
            assert [s.name for s in sockets] == sorted(
                [f"mashangcha-127.0.0.1_{port_a}.ctl", f"mashangcha-127.0.0.1_{port_b}.ctl"]
            )
            by_port = {s.name.rpartition("_")[2].removesuffix(".ctl"): s for s in sockets}
            assert _control_pid(by_port[port_a]) == pid_a
            assert _control_pid(by_port[port_b]) == pid_b
        # The second instance stopped; the first one's socket is still its own.
        assert _control_pid(by_port[port_a]) == pid_a
