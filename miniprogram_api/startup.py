"""Before a process serves or runs a command: the environment file, and settings checked.

The app (`wsgi.py`, under gunicorn) and the `flask` command read the same `.env` file, the
way Flask's command line does, so a cron line or a unit without the environment cannot
quietly run on the embedded SQLite default. Bad settings end the process with one line.
"""

from __future__ import annotations

from typing import Protocol

from flask.cli import load_dotenv
from flask.helpers import get_load_dotenv

from service.core.settings import Settings, SettingsError


def load_environment_file() -> None:
    """Read the nearest `.flaskenv` and `.env` from the working directory up, as the `flask`
    command does (python-dotenv); variables already set win. FLASK_SKIP_DOTENV=1 skips it."""
    if get_load_dotenv():
        load_dotenv()


def settings_from_environment() -> Settings:
    """Settings from the environment and `.env`; bad ones exit with one line on stderr."""
    load_environment_file()
    try:
        return Settings.from_env()
    except SettingsError as exc:
        raise SystemExit(f"mashangcha: {exc}") from None


class _Log(Protocol):
    def warning(self, msg: str, *args: object) -> None: ...


def check_at_start(log: _Log) -> Settings:
    """Once per server start (the gunicorn master, before any worker): refuse bad settings,
    then warn, one line each, about what production should not run on."""
    settings = settings_from_environment()
    for line in settings.warnings():
        log.warning("%s", line)
    return settings
