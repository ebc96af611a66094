"""Abuse at the edges: lockout, refresh, limits, headers, CORS, body caps, request ids, logs."""

import atexit
import io
import json
import logging
import subprocess
import sys
import time
from pathlib import Path
from unittest.mock import patch

from miniprogram_api import create_app
from miniprogram_api.observability import (
    LOG_BATCH_SECONDS,
    JsonFormatter,
    LogWriter,
    RequestIdFilter,
    configure_logging,
)
from tests.api.helpers import assert_error
from tests.factories import PASSWORD
from tests.hostile import plain_jpeg


def _app(ctx, **overrides):
    ctx.settings = ctx.settings.with_overrides(**overrides)
    return create_app(context=ctx)


def login(client, username, password):
    return client.post("/api/v1/auth/login", json={"username": username, "password": password})


def test_repeated_failed_logins_lock_the_account_not_the_others(ctx, world):
    client = _app(ctx, login_lockout="3/15 minutes").test_client()
    name = world.district_supervisor.username
    for _ in range(3):
        assert_error(login(client, name, "wrong-password"), 401, "invalid_credentials")
    locked = login(client, name, PASSWORD)  # even the right password waits out the lock
    body = assert_error(locked, 429, "login_locked")
    assert "锁定" in body["message"] and int(locked.headers["Retry-After"]) > 0
    assert login(client, world.street_supervisor.username, PASSWORD).status_code == 200


def test_successful_logins_do_not_count_towards_the_lockout(ctx, world):
    client = _app(ctx, login_lockout="2/15 minutes").test_client()
    for _ in range(4):
        assert login(client, world.admin.username, PASSWORD).status_code == 200


def test_refresh_gives_a_new_pair_and_is_revoked_by_a_password_change(client, world, auth_header):
    first = login(client, world.inspector.username, PASSWORD).json
    refreshed = client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert refreshed.status_code == 200, refreshed.json
    new_access = {"Authorization": f"Bearer {refreshed.json['access_token']}"}
    assert client.get("/api/v1/users/me", headers=new_access).status_code == 200
    # tokens are not interchangeable
    as_access = {"Authorization": f"Bearer {first['refresh_token']}"}
    assert_error(client.get("/api/v1/users/me", headers=as_access), 401)
    wrong_kind = client.post("/api/v1/auth/refresh", json={"refresh_token": first["access_token"]})
    assert_error(wrong_kind, 401)
    client.patch(
        f"/api/v1/users/{world.inspector.id}",
        json={"password": "another-long-pass"},
        headers=auth_header(world.admin),
    )
    revoked = client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert_error(revoked, 401)


def test_passwords_are_stored_as_argon2id_hashes(client, world, auth_header, db):
    client.post(
        "/api/v1/users",
        json={"username": "hashcheck", "password": "plain-text-pass", "role": "admin"},
        headers=auth_header(world.admin),
    )
    from sqlalchemy import select

    from service.directory.models import User

    stored = db.scalar(select(User.password_hash).where(User.username == "hashcheck"))
    assert stored.startswith("$argon2id$") and "plain-text-pass" not in stored


def test_the_app_hashes_passwords_with_argon2s_recommended_parameters():
    # The suite's own process hashes cheaply (tests/conftest.py); a process of the app as
    # shipped must use RFC 9106's recommended low-memory profile: 64 MiB, 3 passes, 4 lanes.
    script = "from service.access.auth import hash_password; print(hash_password('pw'))"
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=Path(__file__).parents[2],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert done.stdout.startswith("$argon2id$v=19$m=65536,t=3,p=4$"), done.stdout


def test_uploads_are_rate_limited_per_caller(ctx, world, auth_header):
    client = _app(ctx, ratelimit_upload="2/minute").test_client()

    def upload(headers):
        return client.post(
            "/api/v1/media",
            data={"file": (io.BytesIO(plain_jpeg(200, 150)), "p.jpg")},
            headers=headers,
            content_type="multipart/form-data",
        )

    mine = auth_header(world.reporter)
    assert upload(mine).status_code == 201 and upload(mine).status_code == 201
    limited = upload(mine)
    assert_error(limited, 429, "rate_limited")
    assert upload(auth_header(world.inspector)).status_code == 201


def test_security_headers_on_every_answer(client):
    for response in (client.get("/api/v1/healthz"), client.get("/api/v1/nothing")):
        headers = response.headers
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Referrer-Policy"] == "no-referrer"
        # Unchanged by the docs page's own policy: JSON answers load nothing.
        assert headers["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"
        assert headers["Cache-Control"] == "no-store"
        assert "Set-Cookie" not in headers  # stateless: bearer tokens, no cookie session


def test_request_ids_are_returned_and_kept_when_sane(client):
    generated = client.get("/api/v1/healthz").headers["X-Request-ID"]
    assert len(generated) == 32 and int(generated, 16) >= 0
    others = {client.get("/api/v1/healthz").headers["X-Request-ID"] for _ in range(50)}
    assert len(others) == 50 and generated not in others
    kept = client.get("/api/v1/healthz", headers={"X-Request-ID": "mp-abc12345"})
    assert kept.headers["X-Request-ID"] == "mp-abc12345"
    junk = client.get("/api/v1/healthz", headers={"X-Request-ID": "bad id with spaces"})
    assert junk.headers["X-Request-ID"] != "bad id with spaces"


def _run_python(script: str) -> subprocess.CompletedProcess[str]:
    """Run a script in a fresh interpreter at the project root (for fork behaviour)."""
    root = Path(__file__).resolve().parents[2]
    return subprocess.run(
        [sys.executable, "-c", script], cwd=root, capture_output=True, text=True, check=True
    )


def test_forked_workers_make_different_request_ids():
    script = (
        "import os, sys\n"
        "from miniprogram_api.observability import request_id\n"
        "first = request_id('')\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    print(request_id(''), flush=True)\n"
        "    os._exit(0)\n"
        "os.waitpid(pid, 0)\n"
        "print(request_id(''))\n"
    )
    child, parent = _run_python(script).stdout.split()
    assert child[:16] != parent[:16] and len(child) == len(parent) == 32


def test_refused_requests_carry_their_request_id_and_security_headers(client):
    nul = client.get("/api/v1/healthz?x=%00", headers={"X-Request-ID": "req-nul00001"})
    big = client.post(
        "/api/v1/auth/login",
        data=b"{" + b" " * (5 * 1024 * 1024) + b"}",
        headers={"X-Request-ID": "req-big00001", "Content-Type": "application/json"},
    )
    assert_error(nul, 422, "validation_error")
    assert_error(big, 413, "payload_too_large")
    for response, rid in ((nul, "req-nul00001"), (big, "req-big00001")):
        assert response.headers["X-Request-ID"] == rid
        assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_the_access_log_has_the_request_id_and_no_token(client, world, auth_header, caplog):
    code = client.post(
        f"/api/v1/enterprises/{world.enterprise_a.id}/qrcodes",
        json={},
        headers=auth_header(world.admin),
    ).json
    caplog.set_level(logging.INFO, logger="mashangcha.access")
    response = client.get(f"/api/v1/scan/{code['token']}", headers={"X-Request-ID": "req-00000001"})
    records = [r for r in caplog.records if r.name == "mashangcha.access"]
    assert records and records[-1].path == "/api/v1/scan/[token]"
    assert records[-1].status == response.status_code
    assert code["token"] not in caplog.text


def test_json_log_lines_carry_extra_fields_and_the_request_id(app):
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello %s", ("世界",), None)
    record.status = 201
    with app.test_request_context("/"):
        from flask import g

        g.request_id = "rid-12345678"
        RequestIdFilter().filter(record)
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "hello 世界" and line["status"] == 201
    assert line["request_id"] == "rid-12345678" and line["level"] == "INFO"


def test_server_logging_writes_json_lines_from_its_own_thread(app, ctx, capsys):
    root = logging.getLogger()
    kept = root.handlers[:], root.level
    try:
        listener = configure_logging(ctx.settings.with_overrides(log_format="json"))
        with app.test_request_context("/"):
            from flask import g

            g.request_id = "rid-87654321"
            args = ["世界"]
            logging.getLogger("mashangcha.test").info("hello %s", *args, extra={"status": 201})
            args[0] = "changed"  # the message is taken when logged, not when written
            try:
                raise ValueError("boom")
            except ValueError:
                logging.getLogger("mashangcha.test").exception("failed")
        atexit.unregister(listener.stop)
        listener.stop()  # waits until every queued record is written
    finally:
        root.handlers[:], level = kept
        root.setLevel(level)
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert lines[0]["message"] == "hello 世界" and lines[0]["status"] == 201
    assert lines[0]["request_id"] == "rid-87654321" and lines[0]["logger"] == "mashangcha.test"
    assert lines[1]["level"] == "ERROR" and "ValueError: boom" in lines[1]["exception"]


def _written_within(stream: io.StringIO, text: str, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if text in stream.getvalue():
            return True
        time.sleep(0.01)
    return False


def test_log_lines_are_written_in_batches_and_warnings_at_once():
    stream = io.StringIO()
    writer = LogWriter(logging.Formatter("%(levelname)s %(message)s"), stream)
    try:
        record = logging.LogRecord("x", logging.INFO, __file__, 1, "access line", None, None)
        writer.put_nowait(record)
        assert _written_within(stream, "INFO access line", 10 * LOG_BATCH_SECONDS)
        with patch("miniprogram_api.observability.LOG_BATCH_SECONDS", 60):
            time.sleep(2 * LOG_BATCH_SECONDS)  # the writer now waits up to a minute
            writer.put_nowait(logging.LogRecord("x", logging.INFO, __file__, 1, "q", None, None))
            warning = logging.LogRecord("x", logging.WARNING, __file__, 1, "disk", None, None)
            writer.put_nowait(warning)
            assert _written_within(stream, "WARNING disk", 5)
            assert stream.getvalue().index("INFO q") < stream.getvalue().index("WARNING disk")
    finally:
        writer.stop()


def test_a_forked_worker_writes_its_own_log_lines():
    script = (
        "import logging, os\n"
        "from miniprogram_api.observability import LogWriter\n"
        "writer = LogWriter(logging.Formatter('%(message)s'))\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    writer.put_nowait(logging.makeLogRecord({'msg': 'from the worker', 'levelno': 20}))\n"
        "    writer.stop()\n"
        "    os._exit(0)\n"
        "os.waitpid(pid, 0)\n"
        "writer.put_nowait(logging.makeLogRecord({'msg': 'from the master', 'levelno': 20}))\n"
        "writer.stop()\n"
    )
    assert _run_python(script).stderr.splitlines() == ["from the worker", "from the master"]


def test_cors_is_closed_unless_origins_are_configured(ctx, client):
    origin = {"Origin": "https://evil.example"}
    assert (
        "Access-Control-Allow-Origin" not in client.get("/api/v1/healthz", headers=origin).headers
    )
    open_app = _app(ctx, cors_origins=("https://dashboard.example.gov.cn",)).test_client()
    allowed = open_app.get(
        "/api/v1/healthz", headers={"Origin": "https://dashboard.example.gov.cn"}
    )
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://dashboard.example.gov.cn"
    other = open_app.get("/api/v1/healthz", headers=origin)
    assert "Access-Control-Allow-Origin" not in other.headers
    preflight = open_app.options(
        "/api/v1/hazards",
        headers={
            "Origin": "https://dashboard.example.gov.cn",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Authorization, Idempotency-Key",
        },
    )
    assert preflight.status_code == 200
    assert "idempotency-key" in preflight.headers["Access-Control-Allow-Headers"].lower()


def test_large_json_bodies_are_refused_before_parsing(ctx):
    client = _app(ctx, max_json_bytes=2048).test_client()
    response = client.post(
        "/api/v1/auth/login",
        data=json.dumps({"username": "x" * 5000}),
        content_type="application/json",
    )
    assert_error(response, 413, "payload_too_large")
