"""Staff on a phone, in headless Chromium at two phone sizes: the enterprise officer and the
grid inspector log in with their passwords and carry a hazard through rectify → verify →
close (plan, assign with a deadline, fix with a photo shrunk in the page, verify); a
supervisor approves a 重大 hazard's extension and verifies it; an inspector fails a fix,
rejects a duplicate, and — scanning a code while logged in — checks in with the phone's
location and reports a finding. Results are checked through the API; every page shows
exactly the actions the API lists, a retried write acts once, and no page logs a console
error or a CSP violation."""

from __future__ import annotations

import io
import itertools
import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from PIL import Image
from playwright.sync_api import Browser, BrowserContext, Page, Route, expect
from sqlalchemy import func, select

from service.directory.models import User
from service.qrcodes.models import ScanLog
from tests.browser.conftest import LiveServer, PageProblems
from tests.browser.test_h5 import PHONES, issue_code
from tests.factories import PASSWORD

# Set to a folder (e.g. `docs`) to save the officer's page (375×667) there as h5-officer.png.
SCREENSHOTS = os.environ.get("H5_SCREENSHOTS")
_places = itertools.count(1)  # each hazard's description is unique in the shared database
ACTION_LABELS = {
    "assign": "交办整改",
    "file_plan": "填写五落实方案",
    "submit_fix": "提交整改",
    "request_extension": "申请延期",
    "approve_extension": "批准延期",
    "decline_extension": "驳回延期",
    "pass": "验收通过",
    "fail": "验收不通过",
    "reject": "不予受理",
    "reopen": "重新打开",
}


@pytest.fixture(params=sorted(PHONES))
def browser_context(request: pytest.FixtureRequest, browser: Browser) -> Iterator[BrowserContext]:
    """A phone-sized profile that may read the phone's location (at 甲企业's gate)."""
    context = browser.new_context(
        locale="zh-CN",
        geolocation={"latitude": 31.2304, "longitude": 121.4737, "accuracy": 12},
        permissions=["geolocation"],
        **PHONES[request.param],
    )
    yield context
    context.close()


def _headers(live: LiveServer, user: User) -> dict[str, str]:
    return {"Authorization": f"Bearer {live.token(user)}"}


def _api(live: LiveServer, user: User, method: str, path: str, **kw: Any) -> Any:
    answer = requests.request(
        method, f"{live.url}/api/v1{path}", headers=_headers(live, user), timeout=30, **kw
    )
    assert answer.status_code < 300, answer.text
    return answer.json()


def _photo(folder: Path, name: str, size: tuple[int, int]) -> Path:
    path = folder / name
    Image.new("RGB", size, (180, 90, 40)).save(path, "JPEG", quality=90)
    return path


def _tip(live: LiveServer, tmp_path: Path, description: str) -> dict[str, Any]:
    """A worker's public tip about 甲企业 with one photo, reported through the API."""
    code = issue_code(live, live.world.enterprise_a.id)
    worker = live.world.reporter
    with _photo(tmp_path, "before.jpg", (800, 600)).open("rb") as photo:
        media = _api(live, worker, "POST", "/media", files={"file": ("before.jpg", photo)})
    body = {
        "qr_token": code["token"],
        "category": "fire",
        "description": description,
        "media_ids": [media["id"]],
    }
    return _api(live, worker, "POST", "/hazards", json=body)["hazard"]


def _log_in(page: Page, live: LiveServer, user: User) -> None:
    page.goto(f"{live.url}/h5/login")
    page.get_by_label("账号").fill(user.username or "")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("tab").first).to_be_visible()


def _log_out(page: Page) -> None:
    page.get_by_text("退出登录").click()
    expect(page.get_by_role("button", name="登录")).to_be_visible()


def _shows_exactly_the_listed_actions(
    page: Page, live: LiveServer, user: User, hazard_id: int
) -> None:
    """The page's action buttons are the ones the API lists for this user, no more."""
    listed = _api(live, user, "GET", f"/hazards/{hazard_id}")["actions"]
    actions = page.get_by_role("navigation", name="可执行操作")
    expect(actions).to_be_visible()
    for action, label in ACTION_LABELS.items():
        button = actions.get_by_role("button", name=label, exact=True)
        expect(button).to_have_count(1 if action in listed else 0)


def _pick_date(page: Page, label: str) -> None:
    page.get_by_label(label).click()
    page.get_by_role("button", name="确认").click()


def settled(page: Page) -> None:
    """Waits as a person does before tapping: the tab's list loaded and nothing sliding (Vant's
    swipeable tabs move the panels; a tap taken mid-slide, while the list was still growing,
    once landed on the moving track and opened nothing)."""
    page.wait_for_load_state("networkidle")
    page.wait_for_function(
        "() => document.getAnimations().every(a => !(a instanceof CSSTransition))"
    )


def _open(page: Page, tab: str, description: str) -> None:
    page.get_by_role("tab", name=tab).click()
    settled(page)
    page.get_by_text(description).locator("visible=true").click()
    expect(page.get_by_text("处理记录")).to_be_visible()


def test_officer_and_inspector_close_a_hazard_on_their_phones(
    page: Page, live_server: LiveServer, page_problems: PageProblems, tmp_path: Path
) -> None:
    live, world = live_server, live_server.world
    description = f"配电箱门损坏，线路裸露（{next(_places)}号配电房）"
    hazard = _tip(live, tmp_path, description)

    # The officer: 待交办 → plan (五落实) → assign to himself with a deadline → fix with a photo.
    _log_in(page, live, world.officer)
    _open(page, "待交办", description)
    _shows_exactly_the_listed_actions(page, live, world.officer, hazard["id"])
    expect(page.get_by_role("button", name="验收通过")).to_have_count(0)

    page.get_by_role("button", name="填写五落实方案").click()
    form = page.get_by_role("region", name="填写五落实方案")
    form.get_by_label("责任人").fill("张安全")
    form.get_by_label("整改措施").fill("更换配电箱门，裸露线路穿管")
    form.get_by_label("整改资金").fill("2000元")
    _pick_date(page, "整改时限")
    form.get_by_label("应急预案").fill("断电挂牌，专人值守")
    form.get_by_role("button", name="提交").click()
    expect(page.get_by_text("五落实已完善")).to_be_visible()

    page.get_by_role("button", name="交办整改").click()
    form = page.get_by_role("region", name="交办整改")
    expect(form.get_by_role("radio", name=world.officer.display_name)).to_be_checked()
    _pick_date(page, "整改期限")
    form.get_by_label("备注").fill("本周内完成")
    form.get_by_role("button", name="提交").click()
    expect(page.get_by_text("整改中").first).to_be_visible()
    _shows_exactly_the_listed_actions(page, live, world.officer, hazard["id"])
    if SCREENSHOTS and page.viewport_size == {"width": 375, "height": 667}:
        expect(page.get_by_text("交办整改已完成")).to_be_hidden()
        expect(page.get_by_role("dialog")).to_be_hidden()
        page.screenshot(path=str(Path(SCREENSHOTS) / "h5-officer.png"), full_page=True)

    page.get_by_role("button", name="提交整改").click()
    form = page.get_by_role("region", name="提交整改")
    form.get_by_label("整改说明").fill("已更换箱门，线路已穿管")
    # A camera-sized photo: the page shrinks it (long side 2560 px) before uploading.
    form.locator("input[type=file]").set_input_files(
        str(_photo(tmp_path, "after.jpg", (4000, 3000)))
    )
    expect(form.get_by_text("已上传 1 张")).to_be_visible()
    form.get_by_role("button", name="提交").click()
    expect(page.get_by_text("待验收").first).to_be_visible()
    expect(page.get_by_role("button", name="整改照片 1")).to_be_visible()
    _shows_exactly_the_listed_actions(page, live, world.officer, hazard["id"])
    page.get_by_text("待办", exact=True).click()
    _log_out(page)

    # The grid inspector: 待验收 → 验收通过 → closed.
    _log_in(page, live, world.inspector)
    _open(page, "待验收", description)
    _shows_exactly_the_listed_actions(page, live, world.inspector, hazard["id"])
    expect(page.get_by_role("button", name="提交整改")).to_have_count(0)
    page.get_by_role("button", name="验收通过").click()
    form = page.get_by_role("region", name="验收通过")
    form.get_by_label("备注").fill("现场复查合格")
    form.get_by_role("button", name="提交").click()
    expect(page.get_by_text("已销号").first).to_be_visible()
    expect(page.get_by_text("当前没有需要您处理的操作")).to_be_visible()

    # What the API now says about it.
    closed = _api(live, world.inspector, "GET", f"/hazards/{hazard['id']}")
    assert closed["status"] == "closed"
    assert closed["closed_by_id"] == world.inspector.id
    assert closed["assignee_id"] == world.officer.id
    assert closed["plan_complete"] is True
    assert closed["plan"]["responsible_person"] == "张安全"
    assert closed["fix_note"] == "已更换箱门，线路已穿管"
    assert len(closed["photos"]["after"]) == 1
    events = _api(live, world.inspector, "GET", f"/hazards/{hazard['id']}/events")
    assert [e["action"] for e in events["events"]] == [
        "report",
        "file_plan",
        "assign",
        "submit_fix",
        "pass",
    ]
    assert events["chain_ok"] is True
    # The after-photo arrived shrunk: long side 2560 px, JPEG.
    after = requests.get(closed["photos"]["after"][0]["url"], timeout=30)
    assert after.status_code == 200 and after.content[:3] == b"\xff\xd8\xff"
    shrunk = Image.open(io.BytesIO(after.content))
    assert max(shrunk.size) == 2560
    assert page_problems.all() == []


def test_an_inspector_who_scans_a_code_checks_in_and_sees_the_open_hazards(
    page: Page, live_server: LiveServer, page_problems: PageProblems, tmp_path: Path
) -> None:
    live, world = live_server, live_server.world
    description = f"消防通道堆放杂物（{next(_places)}号仓库）"
    _tip(live, tmp_path, description)
    code = issue_code(live, world.enterprise_a.id)

    _log_in(page, live, world.inspector)
    page.goto(f"{live.url}/q/{code['token']}")
    expect(page.get_by_text("甲企业").first).to_be_visible()
    expect(page.get_by_text(description)).to_be_visible()
    page.get_by_role("button", name="扫码打卡").click()
    expect(page.get_by_role("status")).to_contain_text("距企业")

    checkins = _api(
        live, world.inspector, "GET", "/checkins", params={"enterprise_id": world.enterprise_a.id}
    )
    latest = checkins["items"][0]
    assert latest["inspector_id"] == world.inspector.id
    assert latest["lat"] == pytest.approx(31.2304)
    assert latest["lng"] == pytest.approx(121.4737)
    assert latest["accuracy_m"] == pytest.approx(12)

    # A finding of this inspection, reported from the same page with a photo.
    finding = f"有限空间作业未设监护人（{next(_places)}号污水池）"
    page.get_by_role("button", name="上报检查发现的隐患").click()
    form = page.get_by_role("region", name="上报检查发现的隐患")
    form.get_by_role("radio", name="有限空间").click()
    form.get_by_label("隐患描述").fill(finding)
    form.locator("input[type=file]").set_input_files(str(_photo(tmp_path, "pit.jpg", (900, 1200))))
    expect(form.get_by_text("已上传 1 张")).to_be_visible()
    form.get_by_role("button", name="提交").click()
    expect(page.get_by_text(finding)).to_be_visible()
    expect(page.get_by_text("处理记录")).to_be_visible()
    found = _api(live, world.inspector, "GET", "/hazards", params={"q": finding})["items"]
    assert len(found) == 1
    assert found[0]["source"] == "inspection"
    assert found[0]["category"] == "confined_space"
    assert found[0]["enterprise"]["id"] == world.enterprise_a.id
    assert len(found[0]["photos"]["before"]) == 1
    assert page_problems.all() == []


def test_an_inspector_who_opens_a_codes_url_is_logged_as_one_scan(
    page: Page, live_server: LiveServer, page_problems: PageProblems
) -> None:
    live, world = live_server, live_server.world
    code = issue_code(live, world.enterprise_a.id)
    _log_in(page, live, world.inspector)
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))

    page.goto(f"{live.url}/q/{code['token']}")
    # 打卡 is offered once the on-site page has asked the API what this inspector may do.
    expect(page.get_by_role("button", name="扫码打卡")).to_be_visible()
    assert [url for url in asked if f"/api/v1/scan/{code['token']}" in url], asked
    # Opening the URL was the scan; the page's own question was the same visit.
    with live.ctx.session_factory() as session:
        query = select(func.count()).select_from(ScanLog).where(ScanLog.qrcode_id == code["id"])
        assert session.scalar(query) == 1
    assert page_problems.all() == []


def test_an_inspector_fails_a_fix_with_a_photo_and_rejects_a_duplicate(
    page: Page, live_server: LiveServer, page_problems: PageProblems, tmp_path: Path
) -> None:
    live, world = live_server, live_server.world
    description = f"灭火器压力不足（{next(_places)}号楼梯间）"
    first = _tip(live, tmp_path, description)
    assign = {"assignee_id": world.officer.id, "deadline": _china_day(7)}
    _api(live, world.officer, "POST", f"/hazards/{first['id']}/assign", json=assign)
    with _photo(tmp_path, "refilled.jpg", (800, 600)).open("rb") as photo:
        media = _api(live, world.officer, "POST", "/media", files={"file": ("r.jpg", photo)})
    fix = {"note": "已充装", "media_ids": [media["id"]]}
    _api(live, world.officer, "POST", f"/hazards/{first['id']}/submit-fix", json=fix)
    again = f"灭火器没气了（{next(_places)}号楼梯间）"
    duplicate = _tip(live, tmp_path, again)

    _log_in(page, live, world.inspector)
    _open(page, "待验收", description)
    page.get_by_role("button", name="验收不通过").click()
    form = page.get_by_role("region", name="验收不通过")
    form.get_by_label("原因").fill("压力表仍在红区")
    form.locator("input[type=file]").set_input_files(
        str(_photo(tmp_path, "gauge.jpg", (1200, 900)))
    )
    expect(form.get_by_text("已上传 1 张")).to_be_visible()
    form.get_by_role("button", name="提交").click()
    expect(page.get_by_text("整改中").first).to_be_visible()
    expect(page.get_by_role("button", name="验收照片 1")).to_be_visible()

    page.get_by_text("待办", exact=True).click()
    _open(page, "待处理", again)
    _shows_exactly_the_listed_actions(page, live, world.inspector, duplicate["id"])
    page.get_by_role("button", name="不予受理").click()
    form = page.get_by_role("region", name="不予受理")
    form.get_by_label("原因").fill("重复上报")
    form.get_by_label("与哪条隐患重复（编号，可不填）").fill(first["number"])
    form.get_by_role("button", name="提交").click()
    expect(page.get_by_text("不属实").first).to_be_visible()

    failed = _api(live, world.inspector, "GET", f"/hazards/{first['id']}")
    assert failed["status"] == "rectifying"
    assert len(failed["photos"]["verification"]) == 1
    events = _api(live, world.inspector, "GET", f"/hazards/{first['id']}/events")["events"]
    assert events[-1]["action"] == "fail" and events[-1]["note"] == "压力表仍在红区"
    rejected = _api(live, world.inspector, "GET", f"/hazards/{duplicate['id']}")
    assert rejected["status"] == "rejected"
    assert rejected["rejected_reason"] == "重复上报"
    assert rejected["rejected_by_id"] == world.inspector.id
    log = _api(live, world.inspector, "GET", f"/hazards/{duplicate['id']}/events")["events"]
    assert log[-1]["action"] == "reject" and log[-1]["data"]["duplicate_of"] == first["number"]
    assert page_problems.all() == []


def _china_day(days_ahead: int) -> str:
    return (datetime.now(UTC) + timedelta(hours=8, days=days_ahead)).date().isoformat()


def _major_hazard_with_extension_asked(live: LiveServer, tmp_path: Path, description: str) -> int:
    """A 重大 tip the officer planned, assigned to himself and asked more time for (API)."""
    world = live.world
    hazard_id = _tip(live, tmp_path, description)["id"]
    plan = {
        "responsible_person": "李主任",
        "measures": "停用储罐，更换阀门",
        "funds": "5万元",
        "deadline": _china_day(20),
        "contingency_plan": "泄漏应急处置预案",
    }
    _api(live, world.officer, "POST", f"/hazards/{hazard_id}/plan", json=plan)
    assign = {"assignee_id": world.officer.id, "deadline": _china_day(7), "level": "major"}
    _api(live, world.officer, "POST", f"/hazards/{hazard_id}/assign", json=assign)
    ask = {"deadline": _china_day(30), "reason": "阀门需厂家定制"}
    _api(live, world.officer, "POST", f"/hazards/{hazard_id}/extend", json=ask)
    return hazard_id


def test_a_supervisor_approves_more_time_and_verifies_a_major_hazard(
    page: Page, live_server: LiveServer, page_problems: PageProblems, tmp_path: Path
) -> None:
    live, world = live_server, live_server.world
    description = f"储罐阀门泄漏（{next(_places)}号罐区）"
    hazard_id = _major_hazard_with_extension_asked(live, tmp_path, description)

    # The grid inspector neither decides a 重大 hazard's extension nor verifies it.
    _log_in(page, live, world.inspector)
    _open(page, "整改中", description)
    _shows_exactly_the_listed_actions(page, live, world.inspector, hazard_id)
    expect(page.get_by_role("button", name="批准延期")).to_have_count(0)
    page.get_by_text("待办", exact=True).click()
    _log_out(page)

    _log_in(page, live, world.street_supervisor)
    _open(page, "整改中", description)
    expect(page.get_by_text("延期待批").first).to_be_visible()
    _shows_exactly_the_listed_actions(page, live, world.street_supervisor, hazard_id)
    page.get_by_role("button", name="批准延期").click()
    form = page.get_by_role("region", name="批准延期")
    form.get_by_label("备注").fill("同意延期")
    form.get_by_role("button", name="提交").click()
    expect(page.get_by_text("延期待批")).to_have_count(0)
    approved = _api(live, world.street_supervisor, "GET", f"/hazards/{hazard_id}")
    assert approved["extension"] is None
    assert approved["deadline"] > approved["original_deadline"]

    # The officer's fix arrives (API); the supervisor verifies it from 重大待验收.
    with _photo(tmp_path, "fixed.jpg", (800, 600)).open("rb") as photo:
        media = _api(live, world.officer, "POST", "/media", files={"file": ("fixed.jpg", photo)})
    fix = {"note": "阀门已更换", "media_ids": [media["id"]]}
    _api(live, world.officer, "POST", f"/hazards/{hazard_id}/submit-fix", json=fix)
    page.get_by_text("待办", exact=True).click()
    _open(page, "重大待验收", description)
    _shows_exactly_the_listed_actions(page, live, world.street_supervisor, hazard_id)
    page.get_by_role("button", name="验收通过").click()
    page.get_by_role("region", name="验收通过").get_by_role("button", name="提交").click()
    expect(page.get_by_text("已销号").first).to_be_visible()

    closed = _api(live, world.street_supervisor, "GET", f"/hazards/{hazard_id}")
    assert closed["status"] == "closed"
    assert closed["closed_by_id"] == world.street_supervisor.id
    events = _api(live, world.street_supervisor, "GET", f"/hazards/{hazard_id}/events")
    assert [e["action"] for e in events["events"]][-3:] == [
        "approve_extension",
        "submit_fix",
        "pass",
    ]
    assert page_problems.all() == []


def test_submitting_again_after_a_lost_answer_acts_once(
    page: Page, live_server: LiveServer, page_problems: PageProblems, tmp_path: Path
) -> None:
    live, world = live_server, live_server.world
    description = f"安全出口指示灯不亮（{next(_places)}号车间）"
    hazard_id = _tip(live, tmp_path, description)["id"]
    assign = {"assignee_id": world.officer.id, "deadline": _china_day(7)}
    _api(live, world.officer, "POST", f"/hazards/{hazard_id}/assign", json=assign)

    # The first answer is lost on the way back (the server did the work).
    lost: list[str] = []

    def drop_the_answer(route: Route) -> None:
        answer = route.fetch()
        lost.append(f"{answer.status} {route.request.headers.get('idempotency-key')}")
        route.abort("connectionreset")

    _log_in(page, live, world.officer)
    _open(page, "待整改", description)
    page.route("**/api/v1/hazards/*/submit-fix", drop_the_answer, times=1)
    page.get_by_role("button", name="提交整改").click()
    form = page.get_by_role("region", name="提交整改")
    form.get_by_label("整改说明").fill("已更换指示灯")
    form.locator("input[type=file]").set_input_files(str(_photo(tmp_path, "lamp.jpg", (1200, 900))))
    expect(form.get_by_text("已上传 1 张")).to_be_visible()
    form.get_by_role("button", name="提交").click()
    expect(form.get_by_role("alert")).to_contain_text("网络不可用，已填写的内容已保留")
    expect(form.get_by_label("整改说明")).to_have_value("已更换指示灯")
    form.get_by_role("button", name="提交").click()
    expect(page.get_by_text("待验收").first).to_be_visible()

    assert len(lost) == 1 and lost[0].startswith("200 ")
    events = _api(live, world.officer, "GET", f"/hazards/{hazard_id}/events")
    assert [e["action"] for e in events["events"]].count("submit_fix") == 1
    # Chromium reports the dropped answer; nothing else went wrong.
    assert [p for p in page_problems.all() if "ERR_CONNECTION_RESET" not in p] == []


def test_checking_in_again_after_a_lost_answer_checks_in_once(
    page: Page, live_server: LiveServer, page_problems: PageProblems
) -> None:
    live, world = live_server, live_server.world
    code = issue_code(live, world.enterprise_a.id)
    where = {"enterprise_id": world.enterprise_a.id}
    before = _api(live, world.inspector, "GET", "/checkins", params=where)["total"]

    lost: list[str] = []
    keys: list[str | None] = []

    def drop_the_first_answer(route: Route) -> None:
        keys.append(route.request.headers.get("idempotency-key"))
        if lost:
            route.continue_()
            return
        answer = route.fetch()  # the check-in is recorded; the phone never hears it
        lost.append(str(answer.status))
        route.abort("connectionreset")

    _log_in(page, live, world.inspector)
    page.goto(f"{live.url}/q/{code['token']}")
    expect(page.get_by_text("甲企业").first).to_be_visible()
    page.route("**/api/v1/scan/*/checkins", drop_the_first_answer)
    page.get_by_role("button", name="扫码打卡").click()
    expect(page.get_by_role("alert")).to_contain_text("网络不可用")
    page.get_by_role("button", name="扫码打卡").click()
    expect(page.get_by_role("status")).to_contain_text("距企业")

    after = _api(live, world.inspector, "GET", "/checkins", params=where)["total"]
    assert after == before + 1
    assert lost == ["201"] and len(keys) == 2 and keys[0] and keys[0] == keys[1]
    assert [p for p in page_problems.all() if "ERR_CONNECTION_RESET" not in p] == []


def test_an_expired_login_leads_back_to_the_login_page(
    page: Page, live_server: LiveServer, page_problems: PageProblems
) -> None:
    stale = {"token": "not-a-valid-token", "user": {"id": 1, "role": "inspector"}}
    page.add_init_script(
        f"localStorage.setItem('mashangcha.staff', {json.dumps(json.dumps(stale))})"
    )
    page.goto(f"{live_server.url}/h5/staff")
    expect(page.get_by_role("alert")).to_have_text("登录已过期，请重新登录")
    expect(page.get_by_role("button", name="登录")).to_be_visible()
    assert all("401 (UNAUTHORIZED)" in problem for problem in page_problems.all())
