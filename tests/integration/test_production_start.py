"""Starting as a server does: the `.env` file, and settings refused in one line.

Real processes (the `flask` command, the WSGI entry), each in a temporary working directory
with its own `.env` (the environment file of a deploy), never the checkout's.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import pytest

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
