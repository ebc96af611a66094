"""Staff accounts after a fresh install: the first admin from the command line, one-time
passwords changed at first login, an administrator's reset, and the bulk import."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from miniprogram_api import create_app
from service.access.auth import issue_token, verify_password
from service.directory import staff_import
from service.directory.models import Region, User
from tests import hostile_sheets
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


def test_a_wechat_account_has_no_password_to_change(client, db, ctx):
    wechat = make_user(db, Role.REPORTER, username=None, password_hash=None, openid="o-wx")
    db.commit()
    header = {"Authorization": f"Bearer {issue_token(ctx, wechat)}"}

    response = client.post(
        "/api/v1/auth/change-password",
        json={"old_password": "anything-1", "new_password": STRONG},
        headers=header,
    )

    assert "WeChat" in assert_error(response, 403, "forbidden")["message_en"]
    db.refresh(wechat)
    assert wechat.password_hash is None


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


# --- bulk import of staff accounts ---------------------------------------------------------

STAFF_HEADER = ["用户名", "姓名", "手机号", "角色", "区域编码", "网格编码", "统一社会信用代码"]


def _staff_rows(world):
    credit = world.enterprise_a.credit_code
    return [
        ["zhang.wei", "张伟", "13800000001", "监管人员", world.street_a.code, "", ""],
        ["li-na", "李娜", "", "网格员", "", f"{world.grid_a.code}、{world.grid_b.code}", ""],
        ["wang.qiang", "王强", "138 0000 0003", "企业安全员", "", "", credit],
        ["worker01", "赵敏", "", "职工", "", "", ""],
        ["boss2", "钱进", "", "admin", "", "", ""],
    ]


def _bad_rows(world):
    return [
        [world.admin.username, "重名", "", "管理员", "", "", ""],  # taken
        ["sun.li", "孙丽", "", "网格员", "", "NO-SUCH-GRID", ""],  # unknown grid
        ["zhou", "周", "", "监管人员", "", "", ""],  # supervisor without a region
        ["wu.fang", "吴芳", "", "厂长", "", "", ""],  # unknown role
        ["zhang.wei", "张伟二", "", "职工", "", "", ""],  # duplicate in the file
    ]


def _staff_csv(rows):
    lines = [",".join(STAFF_HEADER)] + [",".join(r) for r in rows]
    return ("\n".join(lines) + "\n").encode("utf-8-sig")


def _import(client, headers, data, filename="staff.csv", mode=None):
    url = "/api/v1/users/import" + (f"?mode={mode}" if mode else "")
    return client.post(
        url,
        data={"file": (io.BytesIO(data), filename)},
        headers=headers,
        content_type="multipart/form-data",
    )


def test_an_import_creates_the_accounts_with_one_time_passwords_shown_once(
    client, world, auth_header, db
):
    response = _import(client, auth_header(world.admin), _staff_csv(_staff_rows(world)))

    assert response.status_code == 200, response.json
    report = response.json
    assert report["committed"] is True and (report["created"], report["failed"]) == (5, 0)
    rows = {r["username"]: r for r in report["rows"]}
    assert rows["zhang.wei"]["row"] == 2 and rows["zhang.wei"]["action"] == "created"
    by_name = {u.username: u for u in db.scalars(select(User).where(User.username.in_(rows)))}
    supervisor, inspector = by_name["zhang.wei"], by_name["li-na"]
    assert supervisor.role is Role.SUPERVISOR and supervisor.region_id == world.street_a.id
    assert supervisor.phone == "13800000001" and supervisor.display_name == "张伟"
    assert sorted(g.id for g in inspector.grids) == sorted([world.grid_a.id, world.grid_b.id])
    assert by_name["wang.qiang"].enterprise_id == world.enterprise_a.id
    assert by_name["worker01"].role is Role.REPORTER and by_name["boss2"].role is Role.ADMIN
    one_time = {name: row["one_time_password"] for name, row in rows.items()}
    assert len(set(one_time.values())) == 5
    for name, user in by_name.items():
        assert user.must_change_password is True and rows[name]["user_id"] == user.id
        assert one_time[name] not in user.password_hash
        assert verify_password(user.password_hash, one_time[name])
    listed = client.get("/api/v1/users?page_size=100", headers=auth_header(world.admin))
    assert "one_time_password" not in listed.get_data(as_text=True)

    login = _login(client, "li-na", one_time["li-na"])
    assert login.status_code == 200 and login.json["must_change_password"] is True
    bearer = {"Authorization": f"Bearer {login.json['access_token']}"}
    assert_error(client.get("/api/v1/hazards", headers=bearer), 403, "password_change_required")
    changed = client.post(
        "/api/v1/auth/change-password",
        json={"old_password": one_time["li-na"], "new_password": STRONG},
        headers=bearer,
    )
    fresh = {"Authorization": f"Bearer {changed.json['access_token']}"}
    assert client.get("/api/v1/hazards", headers=fresh).status_code == 200


def test_an_atomic_import_with_bad_rows_writes_nothing_and_says_why_per_row(
    client, world, auth_header, db
):
    before = _users(db)
    data = _staff_csv(_staff_rows(world) + _bad_rows(world))

    report = _import(client, auth_header(world.admin), data).json

    assert report["mode"] == "atomic" and report["committed"] is False
    assert (report["total"], report["created"], report["failed"]) == (10, 0, 5)
    by_row = {r["row"]: r for r in report["rows"]}
    assert by_row[2]["status"] == "ok" and by_row[2]["action"] == "created"
    assert all(r["one_time_password"] is None and r["user_id"] is None for r in report["rows"])
    assert "用户名已存在" in by_row[7]["errors"]["username"][0]
    assert "网格编码不存在：NO-SUCH-GRID" in by_row[8]["errors"]["grid_codes"][0]
    assert "监管人员必须填写区域编码" in by_row[9]["errors"]["region_code"][0]
    assert "角色应为" in by_row[10]["errors"]["role"][0]
    assert "文件内重复" in by_row[11]["errors"]["username"][0]
    assert _users(db) == before


def test_a_partial_import_writes_the_good_rows_and_hands_out_only_their_passwords(
    client, world, auth_header, db
):
    data = _staff_csv(_staff_rows(world)[:2] + _bad_rows(world)[:2])

    report = _import(client, auth_header(world.admin), data, mode="partial").json

    assert report["committed"] is True and (report["created"], report["failed"]) == (2, 2)
    for row in report["rows"]:
        assert (row["one_time_password"] is not None) == (row["status"] == "ok")
    assert db.scalar(select(User.id).where(User.username == "sun.li")) is None
    assert db.scalar(select(User.id).where(User.username == "li-na")) is not None


def test_the_import_reads_xlsx_and_refuses_missing_columns_and_other_files(
    client, world, auth_header
):
    book = Workbook()
    sheet = book.active
    sheet.append(STAFF_HEADER)
    sheet.append(_staff_rows(world)[0])
    buffer = io.BytesIO()
    book.save(buffer)
    admin = auth_header(world.admin)

    xlsx = _import(client, admin, buffer.getvalue(), filename="staff.xlsx")
    no_role = _import(client, admin, "用户名,姓名\nabc,甲\n".encode())
    binary = _import(client, admin, b"\x00\x01\x02garbage", filename="staff.csv")

    assert xlsx.status_code == 200 and xlsx.json["created"] == 1, xlsx.json
    body = assert_error(no_role, 422)
    assert "角色" in body["message"] and body["errors"]["columns"] == ["角色"]
    assert_error(binary, 415, "unsupported_import_file")


def test_only_an_admin_imports_staff(client, world, auth_header, db):
    before = _users(db)

    response = _import(
        client, auth_header(world.district_supervisor), _staff_csv(_staff_rows(world))
    )

    assert_error(response, 403)
    assert _users(db) == before


def test_the_cli_import_writes_the_passwords_to_a_private_file(app, world, db, tmp_path):
    source = tmp_path / "staff.csv"
    source.write_bytes(_staff_csv(_staff_rows(world)))
    out = tmp_path / "passwords.csv"

    result = app.test_cli_runner().invoke(
        args=["users", "import", str(source), "--out", str(out)]
    )

    assert result.exit_code == 0, result.output
    assert "row 2: zhang.wei created" in result.output
    assert "5 accounts created" in result.output and str(out) in result.output
    assert out.stat().st_mode & 0o777 == 0o600
    lines = out.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0] == "用户名,姓名,一次性密码" and len(lines) == 6
    name, display, password = lines[1].split(",")
    assert (name, display) == ("zhang.wei", "张伟")
    user = db.scalar(select(User).where(User.username == name))
    assert verify_password(user.password_hash, password) and user.must_change_password
    assert password not in result.output

    again = app.test_cli_runner().invoke(
        args=["users", "import", str(source), "--out", str(out)]
    )
    assert_one_line_failure(again)  # an existing list is never overwritten
    assert out.read_text(encoding="utf-8-sig").splitlines() == lines


def test_the_cli_import_prints_passwords_to_stdout_and_fails_on_refused_rows(
    app, world, db, tmp_path
):
    source = tmp_path / "staff.csv"
    source.write_bytes(_staff_csv(_staff_rows(world)[:1]))
    bad = tmp_path / "bad.csv"
    bad.write_bytes(_staff_csv(_staff_rows(world)[1:2] + _bad_rows(world)[:1]))
    before = _users(db)

    good = app.test_cli_runner().invoke(args=["users", "import", str(source)])
    refused = app.test_cli_runner().invoke(args=["users", "import", str(bad)])

    assert good.exit_code == 0, good.output
    assert good.stdout.splitlines()[0] == "用户名,姓名,一次性密码"
    assert good.stdout.splitlines()[1].startswith("zhang.wei,张伟,")
    assert "row 2: zhang.wei created" in good.stderr
    assert refused.exit_code == 1 and refused.stdout == ""
    assert "row 3: " + world.admin.username + " refused (username: 用户名已存在" in refused.stderr
    assert "nothing written: 1 of 2 rows refused" in refused.stderr
    assert _users(db) == before + 1


def test_the_example_file_in_docs_names_every_column():
    example = Path(__file__).parents[2] / "docs" / "staff-import-example.csv"
    header = example.read_text(encoding="utf-8").splitlines()[0].split(",")
    assert header == [aliases[0] for aliases in staff_import.COLUMNS.values()]


@pytest.mark.parametrize(
    "build",
    [
        lambda world: hostile_sheets.billion_laughs_xlsx(STAFF_HEADER),
        lambda world: hostile_sheets.internal_entity_xlsx(STAFF_HEADER, _staff_rows(world)[3]),
        lambda world: hostile_sheets.malformed_sheet_xlsx(STAFF_HEADER),
    ],
    ids=["billion-laughs", "internal-entity", "malformed-sheet"],
)
def test_a_hostile_staff_xlsx_is_refused_cleanly(client, world, auth_header, db, build):
    before = _users(db)

    response = _import(client, auth_header(world.admin), build(world), filename="staff.xlsx")

    assert_error(response, 415, "unsupported_import_file")
    assert _users(db) == before


def test_a_cell_of_too_many_grid_codes_is_a_row_error(client, world, auth_header, db):
    codes = "、".join([world.grid_a.code] + [f"G-{i}" for i in range(60)])
    row = ["many.grids", "网格多", "", "网格员", "", codes, ""]

    report = _import(client, auth_header(world.admin), _staff_csv([row])).json

    assert report["committed"] is False
    assert "最多 50 个网格" in report["rows"][0]["errors"]["grid_codes"][0]


def test_a_staff_file_stops_at_its_own_row_cap(client, world, auth_header, db):
    data = hostile_sheets.many_rows_xlsx(STAFF_HEADER, rows=400_000, broken_tail=True)
    rows = [[f"user{i:04d}", "某人", "", "职工", "", "", ""] for i in range(1_001)]
    admin = auth_header(world.admin)

    before = _users(db)

    xlsx = _import(client, admin, data, filename="staff.xlsx")
    csv_over = _import(client, admin, _staff_csv(rows))

    assert assert_error(xlsx, 422)["message_en"] == "At most 1000 rows per file"
    assert assert_error(csv_over, 422)["message_en"] == "At most 1000 rows per file"
    assert _users(db) == before
