import logging
import time
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import jwt
import pytest
from sqlalchemy import select

from miniprogram_api import create_app
from service.access import auth as service_auth
from service.access.auth import issue_token
from service.core.clock import utcnow
from service.core.context import Context
from service.core.settings import Settings
from service.directory.models import User
from tests.api.helpers import assert_error
from tests.factories import PASSWORD, make_user
from uploads_schema.vocabulary import Role


def login(client, username, password):
    return client.post("/api/v1/auth/login", json={"username": username, "password": password})


def test_office_staff_log_in_with_password_and_reach_the_api(client, world):
    response = login(client, world.district_supervisor.username, PASSWORD)
    assert response.status_code == 200, response.json
    body = response.json
    assert body["token_type"] == "Bearer"
    assert body["user"]["role"] == "supervisor"
    assert "password" not in body["user"] and "password_hash" not in body["user"]
    me = client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json["id"] == world.district_supervisor.id


@pytest.mark.parametrize(
    ("username", "password"), [("nobody", PASSWORD), ("__supervisor__", "wrong-password")]
)
def test_wrong_username_or_password_is_401_in_the_error_shape(client, world, username, password):
    if username == "__supervisor__":
        username = world.district_supervisor.username
    body = assert_error(login(client, username, password), 401, "invalid_credentials")
    assert body["message"] == "用户名或密码错误"


def test_a_disabled_account_cannot_log_in(client, db):
    user = make_user(db, Role.ADMIN, active=False)
    db.commit()
    assert_error(login(client, user.username, PASSWORD), 401, "invalid_credentials")


def test_login_without_a_password_field_is_422_with_field_errors(client):
    body = assert_error(
        client.post("/api/v1/auth/login", json={"username": "x"}), 422, "validation_error"
    )
    assert "password" in body["errors"]


def test_wechat_login_creates_a_reporter_then_finds_the_same_user(client, db, fake_wechat):
    fake_wechat.reset()
    first = client.post("/api/v1/auth/wechat-login", json={"code": "ok-openid-123"})
    assert first.status_code == 200, first.json
    assert first.json["user"]["role"] == "reporter"
    second = client.post("/api/v1/auth/wechat-login", json={"code": "ok-openid-123"})
    assert second.json["user"]["id"] == first.json["user"]["id"]
    users = db.scalars(select(User).where(User.openid == "openid-123")).all()
    assert len(users) == 1
    # A real HTTP round trip to the configured base URL, with our app credentials.
    call = fake_wechat.requests[0]
    assert call["path"] == "/sns/jscode2session"
    assert call["query"]["appid"] == "wx-test-appid"
    assert call["query"]["js_code"] == "ok-openid-123"


def test_wechat_session_key_is_never_returned_or_logged(client, caplog):
    caplog.set_level(logging.DEBUG)
    response = client.post("/api/v1/auth/wechat-login", json={"code": "ok-openid-456"})
    assert response.status_code == 200
    assert "SECRET-SESSION-KEY" not in response.get_data(as_text=True)
    assert "session_key" not in response.get_data(as_text=True)
    assert "SECRET-SESSION-KEY" not in caplog.text


@pytest.mark.parametrize(
    ("code", "status", "error_code"),
    [
        ("invalid", 400, "wechat_code_invalid"),
        ("used", 400, "wechat_code_invalid"),
        ("ratelimit", 429, "wechat_rate_limited"),
        ("busy", 502, "wechat_busy"),
        ("http500", 502, "wechat_busy"),
        ("other", 502, "upstream_error"),
    ],
)
def test_wechat_errcodes_map_to_clear_errors(client, code, status, error_code):
    response = client.post("/api/v1/auth/wechat-login", json={"code": code})
    assert_error(response, status, error_code)
    if status == 429:
        assert response.headers["Retry-After"]


def test_wechat_unreachable_is_502(app, client, ctx):
    ctx.settings = ctx.settings.with_overrides(wechat_api_base="http://127.0.0.1:9")
    ctx.adapters.pop("wechat", None)
    response = client.post("/api/v1/auth/wechat-login", json={"code": "ok-x"})
    assert_error(response, 502, "wechat_unavailable")


def test_dev_login_does_not_exist_unless_enabled(client, world):
    assert_error(client.post("/api/v1/auth/dev-login", json={"role": "admin"}), 404)


def test_dev_login_works_when_enabled(client, ctx, world):
    ctx.settings = ctx.settings.with_overrides(auth_dev_login=True)
    response = client.post("/api/v1/auth/dev-login", json={"role": "inspector"})
    assert response.status_code == 200
    assert response.json["user"]["id"] == world.inspector.id


def test_requests_without_a_token_are_401(client):
    assert_error(client.get("/api/v1/enterprises"), 401, "unauthenticated")


@pytest.mark.parametrize("header", ["Bearer not-a-jwt", "Basic abc", "Bearer "])
def test_malformed_tokens_are_401(client, header):
    assert_error(client.get("/api/v1/enterprises", headers={"Authorization": header}), 401)


def test_an_expired_token_is_401_token_expired(client, ctx, world):
    past = Context(
        settings=ctx.settings,
        session_factory=ctx.session_factory,
        clock=lambda: utcnow() - timedelta(days=1),
    )
    token = issue_token(past, world.admin)
    response = client.get("/api/v1/enterprises", headers={"Authorization": f"Bearer {token}"})
    assert_error(response, 401, "token_expired")


def test_a_token_accepted_before_is_refused_once_expired(client, world, auth_header, monkeypatch):
    headers = auth_header(world.admin)
    for _ in range(2):  # the second call is answered from the verified-token cache
        assert client.get("/api/v1/users/me", headers=headers).status_code == 200
    later = time.time() + 24 * 3600
    monkeypatch.setattr(service_auth, "time", SimpleNamespace(time=lambda: later))
    assert_error(client.get("/api/v1/users/me", headers=headers), 401, "token_expired")


def test_a_token_signed_with_another_key_is_401(client, world):
    forged = jwt.encode(
        {
            "sub": str(world.admin.id),
            "role": "admin",
            "ver": 0,
            "iss": "mashangcha",
            "exp": utcnow() + timedelta(hours=1),
            "typ": "access",
        },
        "some-other-secret-key-of-decent-length",
        algorithm="HS256",
    )
    response = client.get("/api/v1/enterprises", headers={"Authorization": f"Bearer {forged}"})
    assert_error(response, 401, "unauthenticated")


def test_changing_a_password_revokes_old_tokens(client, world, auth_header):
    old = auth_header(world.inspector)
    admin = auth_header(world.admin)
    changed = client.patch(
        f"/api/v1/users/{world.inspector.id}", json={"password": "brand-new-pass"}, headers=admin
    )
    assert changed.status_code == 200, changed.json
    assert_error(client.get("/api/v1/users/me", headers=old), 401)
    assert login(client, world.inspector.username, "brand-new-pass").status_code == 200


def test_a_deactivated_user_is_locked_out_at_once(client, world, auth_header):
    headers = auth_header(world.officer)
    response = client.patch(
        f"/api/v1/users/{world.officer.id}",
        json={"active": False},
        headers=auth_header(world.admin),
    )
    assert response.status_code == 200
    assert_error(client.get("/api/v1/users/me", headers=headers), 401)


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")  # the forger's
def test_a_token_forged_with_the_old_public_key_is_refused_without_secret_key(ctx, world, tmp_path):
    # An instance started without SECRET_KEY once signed with a constant from the source.
    settings = Settings.from_env(
        {
            "APP_ENV": "development",
            "DATABASE_URL": ctx.settings.database_url,
            "SECRET_KEY_FILE": str(tmp_path / "secret_key"),
        }
    )
    app = create_app(context=Context(settings=settings, session_factory=ctx.session_factory))
    now = datetime.now(UTC)
    claims = {
        "sub": str(world.admin.id),
        "role": "admin",
        "ver": world.admin.token_version,
        "iss": settings.jwt_issuer,
        "iat": now,
        "exp": now + timedelta(minutes=5),
        "typ": "access",
    }
    forged = jwt.encode(claims, "dev-only-secret-change-me", algorithm="HS256")
    headers = {"Authorization": f"Bearer {forged}"}
    assert_error(app.test_client().get("/api/v1/users", headers=headers), 401, "unauthenticated")
    # The same claims signed with the installation's own key pass: the refusal is the key's.
    genuine = jwt.encode(claims, settings.secret_key, algorithm="HS256")
    answer = app.test_client().get("/api/v1/users", headers={"Authorization": f"Bearer {genuine}"})
    assert answer.status_code == 200
