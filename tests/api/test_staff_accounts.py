"""Staff accounts after a fresh install: the first admin from the command line, one-time
passwords changed at first login, an administrator's reset, and the bulk import."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from miniprogram_api import create_app
from service.access.auth import verify_password
from service.directory.models import Region, User
from tests.api.helpers import assert_error
from tests.api.test_cli_failures import assert_one_line_failure
from tests.factories import PASSWORD, make_user
from uploads_schema.vocabulary import Role

STRONG = "Hutang-safety-2026"


def _login(client, username, password):
    return client.post("/api/v1/auth/login", json={"username": username, "password": password})


def _users(db) -> int:
    return db.scalar(select(func.count(User.id)))


# --- flask users create-admin --------------------------------------------------------------


def test_create_admin_asks_twice_and_the_admin_logs_in(app, client, db):
    result = app.test_cli_runner().invoke(
        args=["users", "create-admin", "root", "--display-name", "张伟"],
        input=f"{STRONG}\n{STRONG}\n",
    )

    assert result.exit_code == 0, result.output
    assert "admin root created" in result.output and STRONG not in result.output
    user = db.scalar(select(User).where(User.username == "root"))
    assert user.role is Role.ADMIN and user.display_name == "张伟" and user.active
    assert user.password_hash != STRONG and verify_password(user.password_hash, STRONG)
    login = _login(client, "root", STRONG)
    assert login.status_code == 200 and login.json["must_change_password"] is False
    token = login.json["access_token"]
    listed = client.get("/api/v1/users", headers={"Authorization": f"Bearer {token}"})
    assert listed.status_code == 200


def test_create_admin_retypes_until_both_entries_match(app, db):
    result = app.test_cli_runner().invoke(
        args=["users", "create-admin", "root"],
        input=f"{STRONG}\nsomething-else-1\n{STRONG}\n{STRONG}\n",
    )

    assert result.exit_code == 0, result.output
    assert "do not match" in result.output
    assert db.scalar(select(User.id).where(User.username == "root")) is not None


def test_create_admin_reads_a_password_file_or_stdin_for_scripts(app, db, tmp_path: Path):
    secret = tmp_path / "admin-password"
    secret.write_text(STRONG + "\n")
    runner = app.test_cli_runner()

    from_file = runner.invoke(
        args=["users", "create-admin", "filed", "--password-file", str(secret)]
    )
    from_stdin = runner.invoke(
        args=["users", "create-admin", "piped", "--password-stdin"], input=STRONG + "\r\n"
    )

    assert from_file.exit_code == 0, from_file.output
    assert from_stdin.exit_code == 0, from_stdin.output
    for name in ("filed", "piped"):
        user = db.scalar(select(User).where(User.username == name))
        assert verify_password(user.password_hash, STRONG), name


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("demo12345", "至少 10 个字符"),
        ("abcdefghijklm", "字母、数字、符号中的至少两类"),
        ("admin12345", "常见密码"),
        ("Root-admin1", None),  # the username itself, below
    ],
)
def test_create_admin_refuses_a_weak_password_in_one_line_and_writes_nothing(
    app, db, password, reason
):
    before = _users(db)
    username = "root-admin1"

    result = app.test_cli_runner().invoke(
        args=["users", "create-admin", username, "--password-stdin"], input=password + "\n"
    )

    line = assert_one_line_failure(result)
    assert "密码太弱" in line and "Password too weak" in line
    assert (reason or "不能与用户名相同") in line
    assert _users(db) == before


def test_create_admin_refuses_an_existing_username_and_changes_nothing(app, db, world):
    before = world.admin.password_hash

    result = app.test_cli_runner().invoke(
        args=["users", "create-admin", world.admin.username, "--password-stdin"],
        input=STRONG + "\n",
    )

    line = assert_one_line_failure(result)
    assert f"user {world.admin.username} already exists, nothing changed" in line
    db.refresh(world.admin)
    assert world.admin.password_hash == before


def test_create_admin_refuses_an_unusable_username(app, db):
    before = _users(db)

    result = app.test_cli_runner().invoke(
        args=["users", "create-admin", "a b", "--password-stdin"], input=STRONG + "\n"
    )

    line = assert_one_line_failure(result)
    assert "username must be 3-64" in line
    assert _users(db) == before


def test_demo_seed_refuses_in_production_and_writes_nothing(ctx, db):
    ctx.settings = ctx.settings.with_overrides(app_env="production")
    regions_before, users_before = db.scalar(select(func.count(Region.id))), _users(db)

    result = create_app(context=ctx).test_cli_runner().invoke(args=["demo", "seed"])

    line = assert_one_line_failure(result)
    assert "APP_ENV=production" in line and "flask users create-admin" in line
    assert db.scalar(select(func.count(Region.id))) == regions_before
    assert _users(db) == users_before


# --- the password rule over HTTP -----------------------------------------------------------


def test_an_admin_cannot_give_an_account_a_weak_password(client, world, auth_header):
    admin = auth_header(world.admin)

    created = client.post(
        "/api/v1/users",
        json={"role": "admin", "username": "second", "password": "password123"},
        headers=admin,
    )
    patched = client.patch(
        f"/api/v1/users/{world.inspector.id}", json={"password": "12345678"}, headers=admin
    )

    body = assert_error(created, 422, "weak_password")
    assert "常见密码" in body["message"] and "common password" in body["message_en"]
    assert body["errors"]["password"]
    assert_error(patched, 422, "weak_password")


def test_a_taken_username_is_named_in_the_conflict(client, world, auth_header):
    response = client.post(
        "/api/v1/users",
        json={"role": "admin", "username": world.admin.username, "password": STRONG},
        headers=auth_header(world.admin),
    )

    body = assert_error(response, 409, "conflict")
    assert world.admin.username in body["message"]


# --- one-time passwords: reset, must change, change-password --------------------------------


def _reset(client, world, auth_header, user):
    response = client.post(
        f"/api/v1/users/{user.id}/reset-password", headers=auth_header(world.admin)
    )
    assert response.status_code == 200, response.json
    return response.json


def test_a_reset_hands_out_a_one_time_password_once_and_ends_old_sessions(
    client, world, auth_header, db
):
    old = auth_header(world.inspector)

    answer = _reset(client, world, auth_header, world.inspector)

    one_time = answer["one_time_password"]
    assert answer["user"]["id"] == world.inspector.id
    assert answer["user"]["must_change_password"] is True
    db.refresh(world.inspector)
    assert one_time not in world.inspector.password_hash
    assert verify_password(world.inspector.password_hash, one_time)
    assert_error(client.get("/api/v1/users/me", headers=old), 401)
    shown = client.get(f"/api/v1/users/{world.inspector.id}", headers=auth_header(world.admin))
    assert "one_time_password" not in shown.json and shown.json["must_change_password"] is True
    assert _login(client, world.inspector.username, PASSWORD).status_code == 401


def test_a_one_time_password_allows_only_changing_it(client, world, auth_header):
    one_time = _reset(client, world, auth_header, world.inspector)["one_time_password"]

    login = _login(client, world.inspector.username, one_time)

    assert login.status_code == 200 and login.json["must_change_password"] is True
    assert login.json["user"]["must_change_password"] is True
    bearer = {"Authorization": f"Bearer {login.json['access_token']}"}
    for method, path in [
        ("get", "/api/v1/users/me"),
        ("get", "/api/v1/hazards"),
        ("get", "/api/v1/hazards/1"),
        ("get", f"/api/v1/enterprises/{world.enterprise_a.id}"),
        ("get", "/api/v1/stats/summary"),
        ("post", f"/api/v1/enterprises/{world.enterprise_a.id}/qrcodes"),
    ]:
        body = assert_error(getattr(client, method)(path, headers=bearer), 403)
        assert body["code"] == "password_change_required", path
        assert "change-password" in body["message_en"]

    changed = client.post(
        "/api/v1/auth/change-password",
        json={"old_password": one_time, "new_password": STRONG},
        headers=bearer,
    )

    assert changed.status_code == 200, changed.json
    assert changed.json["must_change_password"] is False
    assert_error(client.get("/api/v1/users/me", headers=bearer), 401)  # the old token
    fresh = {"Authorization": f"Bearer {changed.json['access_token']}"}
    assert client.get("/api/v1/users/me", headers=fresh).json["must_change_password"] is False
    assert client.get("/api/v1/hazards", headers=fresh).status_code == 200
    assert _login(client, world.inspector.username, one_time).status_code == 401
    assert _login(client, world.inspector.username, STRONG).json["must_change_password"] is False


def test_change_password_refuses_a_weak_or_unchanged_new_password(client, world, auth_header):
    one_time = _reset(client, world, auth_header, world.inspector)["one_time_password"]
    bearer = {
        "Authorization": "Bearer "
        + _login(client, world.inspector.username, one_time).json["access_token"]
    }

    def change(new):
        return client.post(
            "/api/v1/auth/change-password",
            json={"old_password": one_time, "new_password": new},
            headers=bearer,
        )

    weak = assert_error(change("12345678"), 422, "weak_password")
    assert weak["errors"]["new_password"]
    assert_error(change(world.inspector.username), 422, "weak_password")
    assert_error(change(one_time), 422, "weak_password")
    still = assert_error(client.get("/api/v1/users/me", headers=bearer), 403)
    assert still["code"] == "password_change_required"


def test_change_password_needs_the_current_password_and_a_valid_token(
    client, world, auth_header, ctx
):
    header = auth_header(world.street_supervisor)

    wrong = client.post(
        "/api/v1/auth/change-password",
        json={"old_password": "not-my-password-1", "new_password": STRONG},
        headers=header,
    )
    anonymous = client.post(
        "/api/v1/auth/change-password",
        json={"old_password": PASSWORD, "new_password": STRONG},
    )

    assert assert_error(wrong, 422, "wrong_password")["errors"]["old_password"]
    assert_error(anonymous, 401)
    changed = client.post(
        "/api/v1/auth/change-password",
        json={"old_password": PASSWORD, "new_password": STRONG},
        headers=header,
    )
    assert changed.status_code == 200
    assert_error(client.get("/api/v1/users/me", headers=header), 401)  # revoked


def test_wrong_current_passwords_count_toward_the_lockout(client, world, auth_header, ctx):
    ctx.settings = ctx.settings.with_overrides(login_lockout="2/15 minutes")
    header = auth_header(world.street_supervisor)
    guess = {"old_password": "guess-number-1", "new_password": STRONG}

    answers = [
        client.post("/api/v1/auth/change-password", json=guess, headers=header).status_code
        for _ in range(3)
    ]

    assert answers == [422, 422, 429]
    assert _login(client, world.street_supervisor.username, PASSWORD).status_code == 429


def test_only_an_admin_resets_passwords_and_only_of_office_accounts(
    client, world, auth_header, db
):
    by_supervisor = client.post(
        f"/api/v1/users/{world.inspector.id}/reset-password",
        headers=auth_header(world.district_supervisor),
    )
    wechat_only = make_user(db, Role.REPORTER, username=None, password_hash=None, openid="o-1")
    db.commit()
    no_password = client.post(
        f"/api/v1/users/{wechat_only.id}/reset-password", headers=auth_header(world.admin)
    )

    assert by_supervisor.status_code in (403, 404)
    assert_error(by_supervisor, by_supervisor.status_code)
    assert_error(no_password, 422)
