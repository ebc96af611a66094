"""An API people can type: Chinese field errors, dates as people write them, actions that
would succeed, search by enterprise name, default poster region, named downloads, a clear
answer when WeChat login is not configured, and 五落实 errors that name what is missing."""

import itertools
import re
from datetime import UTC, date, datetime, timedelta
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo

import pytest

from service.core.clock import utcnow
from tests.api.hazard_helpers import PLAN, in_days, report, scan_token, upload
from tests.api.helpers import assert_error
from tests.factories import make_hazard

CHINA = ZoneInfo("Asia/Shanghai")
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture
def h(world, auth_header):
    """Headers per role."""
    return {
        role: auth_header(getattr(world, role))
        for role in (
            "admin",
            "district_supervisor",
            "street_supervisor",
            "inspector",
            "officer",
            "reporter",
        )
    }


@pytest.fixture
def token(client, world, h):
    return scan_token(client, h["admin"], world.enterprise_a.id)


def post(client, headers, hazard_id, action, body):
    return client.post(f"/api/v1/hazards/{hazard_id}/{action}", json=body, headers=headers)


def china_today() -> date:
    return utcnow().astimezone(CHINA).date()


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text)


def last_moment_of(day: date) -> datetime:
    """23:59:59.999 China time: what a deadline given as a date means."""
    return datetime(day.year, day.month, day.day, 23, 59, 59, 999000, tzinfo=CHINA)


def _field_errors(response) -> dict:
    return assert_error(response, 422, "validation_error")["errors"]


# --- field errors in Chinese, English beside it ---------------------------------------------


def test_a_missing_field_is_said_in_chinese_with_marshmallows_english_beside_it(client, h):
    errors = _field_errors(client.post("/api/v1/hazards", json={}, headers=h["inspector"]))
    assert errors["category"] == ["缺少必填字段 / Missing data for required field."]
    assert errors["description"] == ["缺少必填字段 / Missing data for required field."]
    assert errors["media_ids"] == ["缺少必填字段 / Missing data for required field."]


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"category": None}, "category", "不能为空（null） / Field may not be null."),
        (
            {"category": "volcano"},
            "category",
            "须为以下之一：fire, electrical, special_equipment, hazardous_chemicals, "
            "confined_space, dust, machinery, work_at_height, housekeeping, other / Must be one "
            "of: fire, electrical, special_equipment, hazardous_chemicals, confined_space, dust, "
            "machinery, work_at_height, housekeeping, other.",
        ),
        ({"description": 12}, "description", "应为字符串 / Not a valid string."),
        (
            {"description": "长" * 2001},
            "description",
            "长度须在 1 到 2000 之间 / Length must be between 1 and 2000.",
        ),
        ({"media_ids": "1,2"}, "media_ids", "应为列表 / Not a valid list."),
        ({"media_ids": []}, "media_ids", "长度须在 1 到 9 之间 / Length must be between 1 and 9."),
        (
            {"lat": 91},
            "lat",
            "须大于或等于 -90 且小于或等于 90 / "
            "Must be greater than or equal to -90 and less than or equal to 90.",
        ),
        ({"anonymous": "maybe"}, "anonymous", "应为布尔值（true 或 false） / Not a valid boolean."),
        ({"colour": "red"}, "colour", "不支持的字段 / Unknown field."),
    ],
)
def test_each_kind_of_field_error_reads_in_chinese_and_english(client, h, body, field, message):
    full = {"category": "fire", "description": "堵塞", "media_ids": [1], **body}
    errors = _field_errors(client.post("/api/v1/hazards", json=full, headers=h["inspector"]))
    assert errors[field] == [message]


def test_errors_inside_a_list_name_the_item_and_read_in_both_languages(client, h):
    body = {"category": "fire", "description": "堵塞", "media_ids": [1, "x"]}
    errors = _field_errors(client.post("/api/v1/hazards", json=body, headers=h["inspector"]))
    assert errors["media_ids"] == {"1": ["应为整数 / Not a valid integer."]}


def test_query_and_date_errors_read_in_chinese_too(client, h):
    errors = _field_errors(client.get("/api/v1/hazards?page_size=500", headers=h["inspector"]))
    assert errors["page_size"] == [
        "须大于或等于 1 且小于或等于 100 / "
        "Must be greater than or equal to 1 and less than or equal to 100."
    ]
    errors = _field_errors(client.get("/api/v1/hazards?from=yesterday", headers=h["inspector"]))
    assert errors["from"] == [
        "应为日期（YYYY-MM-DD）或带时区的日期时间（如 2026-12-10T18:00:00+08:00） / "
        "Not a valid date (YYYY-MM-DD) or datetime with a UTC offset."
    ]
    errors = _field_errors(
        client.get("/api/v1/hazards?to=2026-12-10T18:00:00", headers=h["inspector"])
    )
    assert errors["to"] == [
        "日期时间须带时区（如 2026-12-10T18:00:00+08:00） / Not a valid aware datetime."
    ]
    errors = _field_errors(client.get("/api/v1/hazards?from=2026-02-30", headers=h["inspector"]))
    assert errors["from"] == ["不是有效的日期（应为 YYYY-MM-DD） / Not a valid date."]
    errors = _field_errors(client.get("/api/v1/stats/summary?to=0999-01-01", headers=h["admin"]))
    assert errors["to"] == [
        "须大于或等于 1900-01-01 且小于 3000-01-01 / "
        "Must be greater than or equal to 1900-01-01 and less than 3000-01-01."
    ]


def test_our_own_field_errors_stay_as_they_were(client, world, h, token):
    """Messages the use cases word themselves are already bilingual: left as they are."""
    hid = report(client, h["inspector"], token).json["hazard"]["id"]
    past = {"assignee_id": world.officer.id, "deadline": in_days(-1)}
    errors = _field_errors(post(client, h["inspector"], hid, "assign", past))
    assert errors == {"deadline": ["整改期限须晚于当前时间 / must be in the future"]}


def test_every_field_error_of_a_bad_body_carries_chinese(client, h):
    """Whatever is wrong, each message a client shows has Chinese in it."""
    body = {"category": 3, "description": None, "media_ids": [0, -1, "a"], "lat": "north"}
    errors = _field_errors(client.post("/api/v1/hazards", json=body, headers=h["inspector"]))

    def messages(value):
        if isinstance(value, dict):
            for item in value.values():
                yield from messages(item)
        else:
            yield from value

    found = list(messages(errors))
    assert len(found) >= 6
    assert all(CJK.search(m) and " / " in m for m in found), found


# --- dates the way people write them -------------------------------------------------------


def test_a_deadline_given_as_a_date_is_the_end_of_that_china_day(client, world, h, token):
    hid = report(client, h["inspector"], token).json["hazard"]["id"]
    day = china_today() + timedelta(days=5)
    body = {"assignee_id": world.officer.id, "deadline": day.isoformat()}
    assigned = post(client, h["inspector"], hid, "assign", body)
    assert assigned.status_code == 200, assigned.json
    assert moment(assigned.json["deadline"]) == last_moment_of(day)
    assert moment(assigned.json["original_deadline"]) == last_moment_of(day)
    # the full ISO form keeps working, and a date that has passed is refused in Chinese
    other = report(client, h["inspector"], token).json["hazard"]["id"]
    exact = "2030-06-01T18:00:00+08:00"
    iso = post(client, h["inspector"], other, "assign", {**body, "deadline": exact})
    assert moment(iso.json["deadline"]) == moment(exact)
    third = report(client, h["inspector"], token).json["hazard"]["id"]
    gone = {**body, "deadline": (china_today() - timedelta(days=1)).isoformat()}
    assert "deadline" in _field_errors(post(client, h["inspector"], third, "assign", gone))


def test_a_deadline_of_today_is_on_time_all_day_and_overdue_the_next(client, world, h, token, ctx):
    hid = report(client, h["inspector"], token).json["hazard"]["id"]
    today = china_today()
    body = {"assignee_id": world.officer.id, "deadline": today.isoformat()}
    assert post(client, h["inspector"], hid, "assign", body).status_code == 200
    ctx.clock = lambda: datetime(today.year, today.month, today.day, 23, 59, 59, tzinfo=CHINA)
    assert client.get(f"/api/v1/hazards/{hid}", headers=h["officer"]).json["overdue"] is False
    tomorrow = today + timedelta(days=1)
    ctx.clock = lambda: datetime(tomorrow.year, tomorrow.month, tomorrow.day, tzinfo=CHINA)
    assert client.get(f"/api/v1/hazards/{hid}", headers=h["officer"]).json["overdue"] is True


def test_extension_and_reopen_take_dates_too(client, world, h, token):
    hid = report(client, h["inspector"], token).json["hazard"]["id"]
    first = china_today() + timedelta(days=3)
    later = first + timedelta(days=7)
    post(
        client,
        h["inspector"],
        hid,
        "assign",
        {"assignee_id": world.officer.id, "deadline": first.isoformat()},
    )
    asked = post(
        client,
        h["officer"],
        hid,
        "extend",
        {"deadline": later.isoformat(), "reason": "设备到货延迟"},
    )
    assert asked.status_code == 200, asked.json
    assert moment(asked.json["extension"]["until"]) == last_moment_of(later)
    approved = post(client, h["inspector"], hid, "extend", {"approve": True})
    assert moment(approved.json["deadline"]) == last_moment_of(later)
    assert moment(approved.json["original_deadline"]) == last_moment_of(first)
    post(
        client,
        h["officer"],
        hid,
        "submit-fix",
        {"note": "已更换", "media_ids": [upload(client, h["officer"])]},
    )
    post(client, h["inspector"], hid, "verify", {"passed": True})
    again = china_today() + timedelta(days=2)
    reopened = post(
        client,
        h["street_supervisor"],
        hid,
        "reopen",
        {"reason": "复查发现仍有隐患", "deadline": again.isoformat()},
    )
    assert reopened.status_code == 200, reopened.json
    assert moment(reopened.json["deadline"]) == last_moment_of(again)


@pytest.fixture
def reported_around_a_day(db, world):
    """Hazards reported just inside and just outside 2026-11-05, China time."""
    made = {}
    for label, at in (
        ("before", datetime(2026, 11, 4, 23, 59, tzinfo=CHINA)),
        ("first", datetime(2026, 11, 5, 0, 0, tzinfo=CHINA)),
        ("evening", datetime(2026, 11, 5, 23, 59, 59, tzinfo=CHINA)),
        ("after", datetime(2026, 11, 6, 0, 0, tzinfo=CHINA)),
    ):
        hazard = make_hazard(db, world.enterprise_a, created_at=at.astimezone(UTC))
        made[label] = hazard.id
    db.commit()
    return made


def _ids(client, headers, query):
    response = client.get(f"/api/v1/hazards?{query}", headers=headers)
    assert response.status_code == 200, response.json
    return {item["id"] for item in response.json["items"]}


def test_hazard_list_filters_take_local_dates_and_to_includes_that_day(
    client, h, reported_around_a_day
):
    made = reported_around_a_day
    day = _ids(client, h["admin"], "from=2026-11-05&to=2026-11-05")
    assert day == {made["first"], made["evening"]}
    assert _ids(client, h["admin"], "from=2026-11-05") == {
        made["first"],
        made["evening"],
        made["after"],
    }
    assert _ids(client, h["admin"], "to=2026-11-04") == {made["before"]}


def test_hazard_list_filters_keep_taking_timestamps_with_to_exclusive(
    client, h, reported_around_a_day
):
    made = reported_around_a_day
    query = "from=2026-11-05T00:00:00%2B08:00&to=2026-11-05T23:59:59%2B08:00"
    assert _ids(client, h["admin"], query) == {made["first"]}
    assert _ids(client, h["admin"], "from=2026-11-05T15:59:59Z") == {made["evening"], made["after"]}


def test_checkin_list_filters_take_local_dates_too(client, world, h, db):
    code = client.post(
        f"/api/v1/enterprises/{world.enterprise_a.id}/qrcodes", json={}, headers=h["admin"]
    ).json["token"]
    done = client.post(
        f"/api/v1/scan/{code}/checkins", json={"lat": 31.0, "lng": 120.0}, headers=h["inspector"]
    )
    assert done.status_code == 201, done.json
    today = china_today()
    listed = client.get(f"/api/v1/checkins?from={today}&to={today}", headers=h["inspector"]).json[
        "items"
    ]
    assert [c["id"] for c in listed] == [done.json["id"]]
    yesterday = today - timedelta(days=1)
    assert (
        client.get(f"/api/v1/checkins?to={yesterday}", headers=h["inspector"]).json["items"] == []
    )


# --- actions list only what would succeed now ------------------------------------------------


def _actions(client, headers, hid):
    return client.get(f"/api/v1/hazards/{hid}", headers=headers).json["actions"]


def test_extension_actions_follow_the_pending_request(client, world, h, token):
    hid = report(client, h["inspector"], token).json["hazard"]["id"]
    body = {"assignee_id": world.officer.id, "deadline": in_days(5)}
    assert post(client, h["inspector"], hid, "assign", body).status_code == 200
    # nothing pending: nothing to decide
    assert _actions(client, h["inspector"], hid) == []
    assert set(_actions(client, h["street_supervisor"], hid)) == {"file_plan"}
    assert "request_extension" in _actions(client, h["officer"], hid)
    refused = post(client, h["inspector"], hid, "extend", {"approve": True})
    assert_error(refused, 409, "invalid_transition")

    asked = post(client, h["officer"], hid, "extend", {"deadline": in_days(9), "reason": "缺件"})
    assert asked.status_code == 200, asked.json
    # one request at a time: the assignee is not offered a second, and it is refused
    assert "request_extension" not in asked.json["actions"]
    assert "request_extension" not in _actions(client, h["officer"], hid)
    second = post(client, h["officer"], hid, "extend", {"deadline": in_days(12), "reason": "再延"})
    assert_error(second, 409, "invalid_transition")
    assert set(_actions(client, h["inspector"], hid)) == {"approve_extension", "decline_extension"}

    declined = post(client, h["inspector"], hid, "extend", {"approve": False})
    assert declined.status_code == 200, declined.json
    assert declined.json["actions"] == []
    assert "request_extension" in _actions(client, h["officer"], hid)


def test_a_major_hazard_offers_assign_and_fix_only_with_its_complete_plan(client, world, h, token):
    hid = report(client, h["inspector"], token).json["hazard"]["id"]
    assert post(client, h["officer"], hid, "plan", PLAN).status_code == 200
    major = {"assignee_id": world.officer.id, "deadline": in_days(20), "level": "major"}
    assert post(client, h["inspector"], hid, "assign", major).status_code == 200
    assert "submit_fix" in _actions(client, h["officer"], hid)
    # the plan loses an item: the fix waits for the plan (五落实 before the fix)
    blanked = post(client, h["officer"], hid, "plan", {"funds": " "})
    assert blanked.json["plan_complete"] is False
    assert "submit_fix" not in blanked.json["actions"]
    assert "file_plan" in blanked.json["actions"]
    fix = {"note": "已整改", "media_ids": [upload(client, h["officer"])]}
    refused = assert_error(post(client, h["officer"], hid, "submit-fix", fix), 409)
    assert refused["code"] == "plan_incomplete" and refused["errors"] == {"missing": ["funds"]}
    restored = post(client, h["officer"], hid, "plan", {"funds": "3 万元"})
    assert "submit_fix" in restored.json["actions"]
    assert post(client, h["officer"], hid, "submit-fix", fix).status_code == 200


def test_listed_actions_are_the_ones_that_succeed(client, world, h, token, connection):
    """At every step of a hazard's story, for every staff role: each action the hazard lists
    for the caller succeeds, and each one it does not list is refused (each tried, then
    rolled back; the story then goes on)."""
    later = itertools.count(20)
    bodies = {
        "assign": lambda: {"assignee_id": world.officer.id, "deadline": in_days(5)},
        "file_plan": lambda: PLAN,
        # always later than the current deadline, so only the state can refuse it
        "request_extension": lambda: {"deadline": in_days(next(later)), "reason": "缺件"},
        "approve_extension": lambda: {"approve": True},
        "decline_extension": lambda: {"approve": False},
        "reject": lambda: {"reason": "不属实"},
        "fail": lambda: {"passed": False, "note": "仍有破损"},
        "pass": lambda: {"passed": True},
        "reopen": lambda: {"reason": "复查", "deadline": in_days(3)},
    }
    paths = {
        "assign": "assign",
        "file_plan": "plan",
        "request_extension": "extend",
        "approve_extension": "extend",
        "decline_extension": "extend",
        "reject": "reject",
        "fail": "verify",
        "pass": "verify",
        "reopen": "reopen",
        "submit_fix": "submit-fix",
    }

    def attempt(role, action):
        body = bodies[action]() if action in bodies else None
        if body is None:  # submit_fix: the caller's own fresh photo
            body = {"note": "已整改", "media_ids": [upload(client, h[role])]}
        return post(client, h[role], hid, paths[action], body)

    story = [
        ("inspector", "assign"),
        ("officer", "request_extension"),
        ("inspector", "decline_extension"),
        ("officer", "request_extension"),
        ("inspector", "approve_extension"),
        ("officer", "submit_fix"),
        ("inspector", "fail"),
        ("officer", "submit_fix"),
        ("inspector", "pass"),
        ("street_supervisor", "reopen"),
        ("officer", "submit_fix"),
    ]
    hid = report(client, h["inspector"], token).json["hazard"]["id"]
    for step_role, step in story:
        for role in ("inspector", "officer", "street_supervisor", "admin"):
            listed = set(_actions(client, h[role], hid))
            assert listed <= set(paths), listed
            for action in paths:
                trial = connection.begin_nested()
                try:
                    answer = attempt(role, action)
                finally:
                    trial.rollback()
                if action in listed:
                    assert answer.status_code == 200, (step, role, action, answer.json)
                else:
                    assert answer.status_code in (403, 409), (step, role, action, answer.json)
        done = attempt(step_role, step)
        assert done.status_code == 200, (step_role, step, done.json)


# --- search by enterprise name ------------------------------------------------------------


def test_search_q_matches_the_enterprise_name(client, world, h, db):
    at = datetime(2026, 11, 2, 3, tzinfo=UTC)
    a = make_hazard(db, world.enterprise_a, created_at=at, description="消防通道堵塞")
    a2 = make_hazard(db, world.enterprise_a2, created_at=at, description="灭火器过期")
    db.commit()
    assert _ids(client, h["admin"], "q=甲二企业") == {a2.id}
    assert _ids(client, h["admin"], "q=甲") == {a.id, a2.id}
    assert _ids(client, h["admin"], "q=灭火器") == {a2.id}  # the description still counts
    assert _ids(client, h["admin"], f"q={a.number.lower()}") == {a.id}  # and the number
    assert _ids(client, h["admin"], "q=乙企业") == set()


def test_search_by_enterprise_name_stays_in_the_callers_scope(client, world, h, db):
    at = datetime(2026, 11, 2, 3, tzinfo=UTC)
    make_hazard(db, world.enterprise_b, created_at=at)
    db.commit()
    assert _ids(client, h["admin"], "q=乙企业") != set()
    assert _ids(client, h["street_supervisor"], "q=乙企业") == set()


def test_search_by_enterprise_name_treats_wildcards_as_text(client, world, h, db):
    at = datetime(2026, 11, 2, 3, tzinfo=UTC)
    make_hazard(db, world.enterprise_a, created_at=at)
    db.commit()
    assert _ids(client, h["admin"], "q=%25") == set()
    assert _ids(client, h["admin"], "q=_") == set()


# --- downloads carry a name ------------------------------------------------------------------


def names(response) -> tuple[str, str, str]:
    """(disposition type, filename*, ASCII filename) of a download."""
    header = response.headers["Content-Disposition"]
    kind = header.split(";")[0]
    full = re.search(r"filename\*=UTF-8''([^;\s]+)", header)
    fallback = re.search(r'filename="?([^";]+)"?(?:;|$)', header)
    assert full and fallback, header
    assert fallback.group(1).isascii()
    return kind, unquote(full.group(1)), fallback.group(1)


def test_qr_code_images_and_posters_are_named_by_their_short_id(client, world, h):
    code = client.post(
        f"/api/v1/enterprises/{world.enterprise_a.id}/qrcodes", json={}, headers=h["admin"]
    ).json
    short = code["short_id"]
    png = client.get(f"/api/v1/qrcodes/{code['id']}.png", headers=h["admin"])
    assert png.status_code == 200 and names(png) == ("inline", f"{short}.png", f"{short}.png")
    svg = client.get(f"/api/v1/qrcodes/{code['id']}.svg", headers=h["admin"])
    assert names(svg) == ("inline", f"{short}.svg", f"{short}.svg")
    poster = client.get(f"/api/v1/qrcodes/{code['id']}/poster.png", headers=h["admin"])
    assert poster.status_code == 200
    assert names(poster) == ("inline", f"二维码海报-{short}.png", f"poster-{short}.png")


def test_the_poster_pdf_is_named_by_its_region(client, world, h):
    client.post(f"/api/v1/enterprises/{world.enterprise_a.id}/qrcodes", json={}, headers=h["admin"])
    pdf = client.get(
        f"/api/v1/qrcodes/posters.pdf?region_id={world.street_a.id}", headers=h["admin"]
    )
    assert pdf.status_code == 200
    assert names(pdf) == (
        "attachment",
        "二维码海报-甲街道.pdf",
        f"qr-posters-{world.street_a.code}.pdf",
    )


def test_statistics_exports_are_named_by_region_and_period(client, world, h):
    sup = h["district_supervisor"]
    month = client.get("/api/v1/stats/export.xlsx?from=2026-11-01&to=2026-11-30", headers=sup)
    assert month.status_code == 200
    assert names(month) == (
        "attachment",
        "隐患统计-测试区-2026-11.xlsx",
        f"hazard-statistics-{world.district.code}-2026-11.xlsx",
    )
    days = client.get("/api/v1/stats/export.csv?from=2026-10-02&to=2026-10-30", headers=sup)
    assert days.status_code == 200
    assert names(days) == (
        "attachment",
        "隐患统计-测试区-2026-10-02至2026-10-30.csv",
        f"hazard-statistics-{world.district.code}-2026-10-02_2026-10-30.csv",
    )
    everything = client.get(
        "/api/v1/stats/export.csv?from=2026-10-05&to=2026-10-05", headers=h["admin"]
    )
    assert names(everything)[1:] == (
        "隐患统计-全部-2026-10-05.csv",
        "hazard-statistics-all-2026-10-05.csv",
    )


def test_a_photo_served_by_the_app_is_named_by_its_content(client, h):
    media_id = upload(client, h["reporter"])
    link = client.get(f"/api/v1/media/{media_id}", headers=h["reporter"]).headers["Location"]
    parts = urlsplit(link)
    with client.get(f"{parts.path}?{parts.query}") as photo:
        assert photo.status_code == 200
        kind, full, fallback = names(photo)
    assert kind == "inline" and full == fallback == parts.path.rsplit("/", 1)[1]
    assert full.endswith(".jpg")


# --- the poster PDF defaults to the caller's own region ------------------------------------


def test_the_poster_pdf_defaults_to_the_supervisors_own_region(client, world, h):
    for enterprise in (world.enterprise_a, world.enterprise_a2, world.enterprise_b):
        client.post(f"/api/v1/enterprises/{enterprise.id}/qrcodes", json={}, headers=h["admin"])
    street = client.get("/api/v1/qrcodes/posters.pdf", headers=h["street_supervisor"])
    assert street.status_code == 200, street.get_data(as_text=True)
    assert pdf_pages(street.data) == 2  # street A's two enterprises, not street B's
    assert names(street)[1] == "二维码海报-甲街道.pdf"
    district = client.get("/api/v1/qrcodes/posters.pdf", headers=h["district_supervisor"])
    assert pdf_pages(district.data) == 3 and names(district)[1] == "二维码海报-测试区.pdf"
    everything = client.get("/api/v1/qrcodes/posters.pdf", headers=h["admin"])
    assert pdf_pages(everything.data) == 3 and names(everything)[1] == "二维码海报-全部.pdf"
    assert_error(client.get("/api/v1/qrcodes/posters.pdf", headers=h["inspector"]), 403)


def pdf_pages(data: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page\b(?!s)", data))


# --- WeChat login without credentials ------------------------------------------------------


@pytest.mark.parametrize("missing", ["wechat_appid", "wechat_secret"])
def test_wechat_login_without_credentials_says_it_is_not_configured(
    client, ctx, fake_wechat, missing
):
    ctx.settings = ctx.settings.with_overrides(**{missing: ""})
    ctx.adapters.pop("wechat", None)
    fake_wechat.reset()
    response = client.post("/api/v1/auth/wechat-login", json={"code": "ok-openid-9"})
    body = assert_error(response, 503, "wechat_not_configured")
    assert "未配置微信登录" in body["message"]
    assert fake_wechat.requests == []  # nobody asked WeChat


# --- 五落实: what is missing, and the plan's deadline ------------------------------------


def test_plan_incomplete_names_the_missing_items(client, world, h, token):
    hid = report(client, h["inspector"], token).json["hazard"]["id"]
    major = {"assignee_id": world.officer.id, "deadline": in_days(20), "level": "major"}
    nothing = assert_error(post(client, h["inspector"], hid, "assign", major), 409)
    assert nothing["code"] == "plan_incomplete"
    assert nothing["errors"] == {
        "missing": ["responsible_person", "measures", "funds", "deadline", "contingency_plan"]
    }
    assert "责任人、措施、资金、时限、预案" in nothing["message"]
    post(client, h["officer"], hid, "plan", {"responsible_person": "张伟", "measures": "更换"})
    partial = assert_error(post(client, h["inspector"], hid, "assign", major), 409)
    assert partial["errors"] == {"missing": ["funds", "deadline", "contingency_plan"]}
    assert partial["message"].endswith("尚缺：资金、时限、预案")
    assert "funds, deadline, contingency_plan" in partial["message_en"]


def test_the_plans_deadline_is_a_date_like_every_deadline(client, world, h, token):
    hid = report(client, h["inspector"], token).json["hazard"]["id"]
    day = china_today() + timedelta(days=16)
    filed = post(client, h["officer"], hid, "plan", {**PLAN, "deadline": day.isoformat()})
    assert filed.status_code == 200, filed.json
    assert moment(filed.json["plan"]["deadline"]) == last_moment_of(day)
    # the same form as the hazard's own deadline
    assigned = post(
        client,
        h["inspector"],
        hid,
        "assign",
        {"assignee_id": world.officer.id, "deadline": day.isoformat()},
    )
    assert assigned.json["plan"]["deadline"] == assigned.json["deadline"]
    exact = post(client, h["officer"], hid, "plan", {"deadline": "2030-01-15T18:00:00+08:00"})
    assert exact.json["plan"]["deadline"] == "2030-01-15T10:00:00+00:00"
    words = post(client, h["officer"], hid, "plan", {"deadline": "年底前"})
    assert "deadline" in _field_errors(words)


def test_plan_answers_keep_the_other_items_as_given(client, h, token):
    hid = report(client, h["inspector"], token).json["hazard"]["id"]
    filed = post(client, h["officer"], hid, "plan", PLAN).json["plan"]
    assert {k: v for k, v in filed.items() if k != "deadline"} == {
        k: v for k, v in PLAN.items() if k != "deadline"
    }


# --- the docs show the formats --------------------------------------------------------------


def test_openapi_documents_dates_and_timestamps(client):
    spec = client.get("/api/openapi.json").json
    both = [{"type": "string", "format": "date"}, {"type": "string", "format": "date-time"}]
    schemas = spec["components"]["schemas"]
    for schema, field in (
        ("Assign", "deadline"),
        ("Reopen", "deadline"),
        ("Extend", "deadline"),
        ("Plan", "deadline"),
    ):
        documented = schemas[schema]["properties"][field]
        assert documented["anyOf"] == both, (schema, documented)
        assert "YYYY-MM-DD" in documented["description"]
    for path in ("/api/v1/hazards", "/api/v1/checkins"):
        params = {p["name"]: p for p in spec["paths"][path]["get"]["parameters"]}
        for name in ("from", "to"):
            assert params[name]["schema"]["anyOf"] == both
            assert "YYYY-MM-DD" in params[name]["description"]
    posters = {
        p["name"]: p for p in spec["paths"]["/api/v1/qrcodes/posters.pdf"]["get"]["parameters"]
    }
    assert posters["region_id"]["required"] is False
    wechat = spec["paths"]["/api/v1/auth/wechat-login"]["post"]["responses"]
    assert "503" in wechat
