"""Rate limits through HTTP: counted in the database all apps on it share, the upload
limit per verified account (not per header spelling or token), and an outage of the
counters answered cleanly. (Against gunicorn's workers: tests/integration/test_shared_limits.py.)"""

from __future__ import annotations

import io
from datetime import timedelta

from miniprogram_api import create_app
from miniprogram_api.limits import AppDatabaseStorage
from service.access.auth import issue_token
from service.core.clock import utcnow
from service.core.context import Context
from service.core.db import DatabaseUnavailable
from tests.api.helpers import assert_error
from tests.api.test_qrcodes import issue
from tests.hostile import plain_jpeg


def _client(ctx, **limits):
    ctx.settings = ctx.settings.with_overrides(**limits)
    return create_app(context=ctx).test_client()


def _upload(client, authorization, n, address="10.0.0.1"):
    return client.post(
        "/api/v1/media",
        data={"file": (io.BytesIO(plain_jpeg(100 + n, 80)), f"p{n}.jpg")},
        headers={"Authorization": authorization},
        content_type="multipart/form-data",
        environ_base={"REMOTE_ADDR": address},
    )


def _token(ctx, user, minutes_ago=0):
    then = utcnow() - timedelta(minutes=minutes_ago)
    issuer = Context(settings=ctx.settings, session_factory=ctx.session_factory, clock=lambda: then)
    return issue_token(issuer, user)


def test_the_upload_limit_counts_the_account_however_bearer_is_spelled(ctx, world):
    client = _client(ctx, ratelimit_upload="3/minute")
    token = _token(ctx, world.inspector)

    spelled = [f"Bearer {token}", f"bearer {token}", f"Bearer   {token}"]
    assert [_upload(client, a, n).status_code for n, a in enumerate(spelled)] == [201] * 3

    assert_error(_upload(client, f"BEARER {token}", 3), 429, "rate_limited")
    assert _upload(client, f"Bearer {_token(ctx, world.reporter)}", 4).status_code == 201


def test_two_tokens_of_one_account_share_its_upload_limit(ctx, world):
    client = _client(ctx, ratelimit_upload="2/minute")
    first, second = _token(ctx, world.inspector, 5), _token(ctx, world.inspector)
    assert first != second

    assert _upload(client, f"Bearer {first}", 0, address="10.0.0.1").status_code == 201
    assert _upload(client, f"Bearer {second}", 1, address="10.0.0.2").status_code == 201

    assert_error(_upload(client, f"Bearer {first}", 2, address="10.0.0.3"), 429, "rate_limited")


def test_a_request_without_a_valid_token_counts_as_its_address(ctx, world):
    client = _client(ctx, ratelimit_upload="2/minute")
    for n in range(2):
        assert_error(_upload(client, "Bearer forged", n, address="10.0.0.9"), 401)

    assert_error(_upload(client, "Bearer forged", 2, address="10.0.0.9"), 429, "rate_limited")
    # The account's own count is apart from the address it comes from.
    mine = f"Bearer {_token(ctx, world.inspector)}"
    assert _upload(client, mine, 3, address="10.0.0.9").status_code == 201


def test_every_app_on_the_database_counts_the_same_hits(ctx, world, auth_header):
    first = _client(ctx, ratelimit_scan="3/minute")
    scan = f"/api/v1/scan/{issue(first, auth_header(world.admin), world.enterprise_a.id)['token']}"
    assert [first.get(scan).status_code for _ in range(2)] == [200, 200]

    second = create_app(context=ctx).test_client()  # another worker, as it were

    assert second.get(scan).status_code == 200
    assert second.get(scan).headers["X-RateLimit-Remaining"] == "0"
    assert_error(first.get(scan), 429, "rate_limited")


def test_counters_unreadable_after_the_route_answered_leave_only_the_headers_out(
    ctx, world, auth_header, monkeypatch
):
    client = _client(ctx, ratelimit_scan="3/minute")
    scan = f"/api/v1/scan/{issue(client, auth_header(world.admin), world.enterprise_a.id)['token']}"

    def lost(*_args):
        raise DatabaseUnavailable()

    monkeypatch.setattr(AppDatabaseStorage, "get_moving_window", lost)
    answer = client.get(scan)

    assert answer.status_code == 200, answer.json
    assert not [name for name, _ in answer.headers.items() if name.startswith("X-RateLimit")]


def test_counters_unreachable_before_the_route_is_a_clean_503(ctx, world, auth_header, monkeypatch):
    client = _client(ctx, ratelimit_scan="3/minute")
    scan = f"/api/v1/scan/{issue(client, auth_header(world.admin), world.enterprise_a.id)['token']}"

    def lost(*_args, **_kwargs):
        raise DatabaseUnavailable()

    monkeypatch.setattr(AppDatabaseStorage, "acquire_entry", lost)

    assert_error(client.get(scan), 503, "database_unavailable")
