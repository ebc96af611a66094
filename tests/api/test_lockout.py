"""The login lockout through HTTP: `LOGIN_LOCKOUT` (the README's 5 per 15 minutes) failed
password logins lock a username, the answer says how long to wait, a success clears the
count, unknown usernames are locked alike, an admin sees the lock on the account and lifts it
over HTTP, and `flask users unlock` lifts it. (Across
gunicorn's workers: tests/integration/test_shared_limits.py.)"""

from __future__ import annotations

from datetime import datetime, timedelta
from unittest.mock import patch

from service.core.clock import utcnow
from tests.api.helpers import assert_error
from tests.api.test_cli_failures import assert_one_line_failure
from tests.factories import PASSWORD

WRONG = "wrong-password"


def login(client, username, password, address="10.0.0.1"):
    return client.post(
        "/api/v1/auth/login",
        json={"username": username, "password": password},
        environ_base={"REMOTE_ADDR": address},
    )


def fail(client, username, times):
    for n in range(times):
        # From another address each time: the lockout follows the username, not the client.
        answer = login(client, username, WRONG, address=f"10.0.1.{n + 1}")
        assert_error(answer, 401, "invalid_credentials")


def test_the_fifth_wrong_password_locks_the_account_and_the_answer_says_how_long(client, world):
    name = world.district_supervisor.username
    fail(client, name, 5)

    locked = login(client, name, PASSWORD)  # even the right password waits out the lock

    body = assert_error(locked, 429, "login_locked")
    assert body["message"] == "登录失败次数过多，账号已临时锁定，请 15 分钟后再试"
    assert "15 min" in body["message_en"]
    assert 890 <= int(locked.headers["Retry-After"]) <= 900
    again = assert_error(login(client, name, WRONG, address="10.9.9.9"), 429, "login_locked")
    assert again["message"] == body["message"]
    # Other accounts are untouched.
    assert login(client, world.street_supervisor.username, PASSWORD).status_code == 200


def test_spelling_the_username_otherwise_counts_for_the_same_account(client, world):
    name = world.inspector.username
    for spelling in (name.upper(), f" {name}", f"{name}  ", name.title(), name):
        assert_error(login(client, spelling, WRONG), 401, "invalid_credentials")

    assert_error(login(client, name, PASSWORD), 429, "login_locked")


def test_a_successful_login_clears_the_count(client, world):
    name = world.officer.username
    fail(client, name, 4)
    assert login(client, name, PASSWORD).status_code == 200

    fail(client, name, 5)  # five more: the four before were forgotten

    assert_error(login(client, name, PASSWORD), 429, "login_locked")


def test_unknown_usernames_are_counted_and_locked_alike(client, world):
    known, unknown = world.admin.username, "no-such-user"
    answers = {}
    for name in (known, unknown):
        statuses = [login(client, name, WRONG).status_code for _ in range(5)]
        locked = login(client, name, WRONG)
        answers[name] = (statuses, locked.get_json(), locked.headers["Retry-After"])

    assert answers[known][0] == answers[unknown][0] == [401] * 5
    assert answers[known][1] == answers[unknown][1]
    assert answers[unknown][1]["code"] == "login_locked"
    assert abs(int(answers[known][2]) - int(answers[unknown][2])) <= 1


def test_the_lock_lifts_when_the_oldest_failure_is_fifteen_minutes_old(client, ctx, world):
    start = utcnow()
    ctx.clock = lambda: start
    name = world.street_supervisor.username
    fail(client, name, 5)

    ctx.clock = lambda: start + timedelta(minutes=14)
    still = login(client, name, PASSWORD)
    body = assert_error(still, 429, "login_locked")
    assert "请 1 分钟后再试" in body["message"] and 59 <= int(still.headers["Retry-After"]) <= 60

    ctx.clock = lambda: start + timedelta(minutes=15, seconds=1)
    assert login(client, name, PASSWORD).status_code == 200


def test_an_attempt_that_errors_does_not_count(client, world):
    name = world.reporter.username

    with patch("service.access.auth.verify_password", side_effect=RuntimeError("bug")):
        for _ in range(5):
            assert_error(login(client, name, WRONG), 500, "internal_error")
    fail(client, name, 4)

    assert login(client, name, PASSWORD).status_code == 200


def test_flask_users_unlock_lifts_the_lock(app, client, world):
    name = world.district_supervisor.username
    fail(client, name, 5)
    assert_error(login(client, name, PASSWORD), 429, "login_locked")

    result = app.test_cli_runner().invoke(args=["users", "unlock", name])

    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"{name} unlocked (5 failed logins forgotten)"
    assert login(client, name, PASSWORD).status_code == 200


def test_flask_users_unlock_of_an_unknown_user_fails_in_one_line(app):
    result = app.test_cli_runner().invoke(args=["users", "unlock", "no-such-user"])

    line = assert_one_line_failure(result)
    assert line == "Error: No user named no-such-user (用户 no-such-user 不存在)"


def test_an_admin_sees_the_lock_and_lifts_it_over_http(client, world, auth_header):
    user = world.district_supervisor
    admin = auth_header(world.admin)
    before = utcnow()
    fail(client, user.username, 5)

    shown = client.get(f"/api/v1/users/{user.id}", headers=admin).get_json()
    listed = client.get("/api/v1/users", query_string={"q": user.username}, headers=admin)
    unlocked = client.post(f"/api/v1/users/{user.id}/unlock", headers=admin)

    until = datetime.fromisoformat(shown["locked_until"])
    assert timedelta(minutes=14) < until - before <= timedelta(minutes=15, seconds=5)
    row = next(u for u in listed.get_json()["items"] if u["id"] == user.id)
    assert row["locked_until"] == shown["locked_until"]
    assert unlocked.status_code == 200, unlocked.get_json()
    body = unlocked.get_json()
    assert body["failed_logins_forgotten"] == 5
    assert body["user"]["id"] == user.id and body["user"]["locked_until"] is None
    assert login(client, user.username, PASSWORD).status_code == 200
    again = client.get(f"/api/v1/users/{user.id}", headers=admin).get_json()
    assert again["locked_until"] is None


def test_failures_below_the_limit_do_not_show_as_locked_and_unlock_forgets_them(
    client, world, auth_header
):
    user = world.inspector
    admin = auth_header(world.admin)
    fail(client, user.username, 4)

    shown = client.get(f"/api/v1/users/{user.id}", headers=admin).get_json()
    unlocked = client.post(f"/api/v1/users/{user.id}/unlock", headers=admin).get_json()

    assert shown["locked_until"] is None
    assert unlocked["failed_logins_forgotten"] == 4
    fail(client, user.username, 4)  # the four before are gone: four more do not lock
    assert login(client, user.username, PASSWORD).status_code == 200


def test_only_an_admin_unlocks_and_an_unknown_account_is_not_found(client, world, auth_header):
    name = world.officer.username
    fail(client, name, 5)

    by_supervisor = client.post(
        f"/api/v1/users/{world.officer.id}/unlock", headers=auth_header(world.district_supervisor)
    )
    unknown = client.post("/api/v1/users/987654/unlock", headers=auth_header(world.admin))

    assert_error(by_supervisor, 403, "forbidden")
    assert_error(unknown, 404, "not_found")
    assert_error(login(client, name, PASSWORD), 429, "login_locked")  # still locked
