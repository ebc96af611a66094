"""A production install reaches its first admin with real `flask` processes, as a deploy
does it: no demo data, `flask users create-admin` from a script, the admin logs in."""

from __future__ import annotations

import subprocess
from pathlib import Path

from sqlalchemy import func, select

from miniprogram_api import create_app
from service.core.context import Context
from service.core.db import make_engine, make_session_factory
from service.core.settings import Settings
from service.directory.models import Region, User
from tests.integration.test_production_start import BIN, PRODUCTION, clean_env
from tests.livedb import throwaway_database

PASSWORD = "Wujin-safety-2026"


def _flask(folder: Path, env: dict[str, str], *args: str, stdin: str = ""):
    return subprocess.run(
        [str(BIN / "flask"), *args],
        cwd=folder,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_production_install_gets_its_first_admin_and_no_demo(database_url, tmp_path: Path):
    with throwaway_database(database_url, "firstadmin") as url:
        env = clean_env(tmp_path, **PRODUCTION, DATABASE_URL=url, MEDIA_ROOT=str(tmp_path))

        demo = _flask(tmp_path, env, "demo", "seed")
        weak = _flask(
            tmp_path, env, "users", "create-admin", "root", "--password-stdin", stdin="admin123\n"
        )
        made = _flask(
            tmp_path,
            env,
            "users",
            "create-admin",
            "root",
            "--display-name",
            "区应急局管理员",
            "--password-stdin",
            stdin=PASSWORD + "\n",
        )
        again = _flask(
            tmp_path, env, "users", "create-admin", "root", "--password-stdin", stdin=PASSWORD
        )

        assert demo.returncode == 1 and "Traceback" not in demo.stderr
        assert "APP_ENV=production" in demo.stderr.strip().splitlines()[-1]
        assert weak.returncode == 1 and "Password too weak" in weak.stderr
        assert "密码太弱" in weak.stderr and "Traceback" not in weak.stderr
        assert made.returncode == 0, made.stderr
        assert "admin root created" in made.stdout and PASSWORD not in made.stdout
        assert again.returncode == 1 and "user root already exists" in again.stderr

        engine = make_engine(url)
        try:
            with make_session_factory(engine)() as session:
                assert session.scalar(select(func.count(Region.id))) == 0
                assert session.scalar(select(func.count(User.id))) == 1
            settings = Settings(
                app_env="test", database_url=url, secret_key="x" * 40, media_root=str(tmp_path)
            )
            ctx = Context(settings=settings, session_factory=make_session_factory(engine))
            client = create_app(context=ctx).test_client()
            login = client.post(
                "/api/v1/auth/login", json={"username": "root", "password": PASSWORD}
            )
            assert login.status_code == 200, login.json
            assert login.json["user"]["role"] == "admin"
            assert login.json["user"]["display_name"] == "区应急局管理员"
        finally:
            engine.dispose()
