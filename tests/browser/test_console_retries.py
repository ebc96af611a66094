"""The console's writes are retry-safe: a submission whose answer was lost on the way is sent
again with the same Idempotency-Key, and the API acts once (one account, one code, one point,
one rotation, one password reset whose password the page shows, one assessment, one
attachment; a detachment, a 停用 and an unlock retried report what the first one
did, not a refusal; a job's 取消 whose answer was lost shows the job cancelled)."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Browser, BrowserContext, Page, Route, expect

from service.access import lockout
from tests.browser.conftest import LiveServer
from tests.browser.test_console import Api, log_in
from tests.browser.test_console_prevention import a_point, choose
from tests.browser.test_h5 import issue_code
from tests.factories import PASSWORD

_n = itertools.count(1)


@pytest.fixture
def browser_context(browser: Browser) -> Iterator[BrowserContext]:
    """A fresh desktop-sized profile: the console is for office screens."""
    context = browser.new_context(locale="zh-CN", viewport={"width": 1440, "height": 900})
    yield context
    context.close()


class LoseFirstAnswer:
    """Lets every request with `method` to `path` reach the server, but drops the first
    answer on the way back (a network failure after the server did the work); notes each
    request's key."""

    def __init__(self, page: Page, pattern: str, method: str = "POST") -> None:
        self.keys: list[str] = []
        self.answers: list[Any] = []  # the bodies of the answers the page never heard
        self.method = method
        page.route(pattern, self._handle)

    def _handle(self, route: Route) -> None:
        if route.request.method != self.method:
            route.continue_()
            return
        self.keys.append(route.request.headers.get("idempotency-key", ""))
        if len(self.keys) == 1:
            answer = route.fetch()  # the server answers; the page never hears it
            self.answers.append(answer.json() if answer.body() else None)
            route.abort("connectionreset")
        else:
            route.continue_()


def open_codes(page: Page, live: LiveServer, enterprise: Any) -> None:
    """The admin's console, at the enterprise's codes (企业与二维码 → 管理二维码)."""
    log_in(page, live, live.world.admin, then="/console/enterprises")
    page.get_by_label("搜索企业").fill(enterprise.name)
    page.get_by_role("button", name="查询").click()
    page.get_by_role("row", name=enterprise.name).get_by_role("button", name="管理二维码").click()


def test_a_new_user_whose_answer_was_lost_is_created_once(
    page: Page, live_server: LiveServer
) -> None:
    world = live_server.world
    name = f"retry-user-{next(_n)}"
    log_in(page, live_server, world.admin, then="/console/users")
    lost = LoseFirstAnswer(page, "**/api/v1/users")
    page.get_by_role("button", name="新建用户").click()
    dialog = page.get_by_role("dialog", name="新建用户")
    dialog.get_by_label("用户名").fill(name)
    dialog.get_by_label("初始密码").fill(PASSWORD)
    dialog.get_by_label("姓名").fill("重试用户")
    dialog.get_by_label("所属区域编号").fill(str(world.district.id))
    dialog.get_by_role("button", name="创建").click()
    expect(page.get_by_text("网络不可用，请稍后重试")).to_be_visible()

    dialog.get_by_role("button", name="创建").click()
    expect(page.get_by_text(f"已创建用户 {name}")).to_be_visible()
    assert len(lost.keys) == 2 and lost.keys[0] and lost.keys[0] == lost.keys[1]
    found = Api(live_server, world.admin).get("/api/v1/users", q=name, page_size=100)["items"]
    assert [u["username"] for u in found] == [name]


def test_a_code_whose_answer_was_lost_is_issued_once(page: Page, live_server: LiveServer) -> None:
    world = live_server.world
    admin = Api(live_server, world.admin)
    enterprise = world.enterprise_a2
    before = admin.get("/api/v1/qrcodes", enterprise_id=enterprise.id, page_size=100)["total"]
    open_codes(page, live_server, enterprise)
    lost = LoseFirstAnswer(page, "**/api/v1/enterprises/*/qrcodes")
    page.get_by_role("button", name="生成新二维码").click()
    expect(page.get_by_text("网络不可用，请稍后重试")).to_be_visible()

    page.get_by_role("button", name="生成新二维码").click()
    expect(page.get_by_text("已生成二维码")).to_be_visible()
    assert len(lost.keys) == 2 and lost.keys[0] and lost.keys[0] == lost.keys[1]
    after = admin.get("/api/v1/qrcodes", enterprise_id=enterprise.id, page_size=100)["total"]
    assert after == before + 1


def test_a_new_point_whose_answer_was_lost_is_created_once(
    page: Page, live_server: LiveServer
) -> None:
    world = live_server.world
    name = f"重试风险点{next(_n)}"
    log_in(page, live_server, world.officer)
    lost = LoseFirstAnswer(page, "**/api/v1/points")
    page.get_by_role("button", name="新增风险点").click()
    dialog = page.get_by_role("dialog", name="新增风险点")
    dialog.get_by_label("名称", exact=True).fill(name)
    dialog.get_by_role("button", name="保存").click()
    expect(page.get_by_text("网络不可用，请稍后重试")).to_be_visible()

    dialog.get_by_role("button", name="保存").click()
    expect(page.get_by_text(f"已新增风险点 {name}")).to_be_visible()
    assert len(lost.keys) == 2 and lost.keys[0] and lost.keys[0] == lost.keys[1]
    points = Api(live_server, world.officer).get(
        "/api/v1/points", enterprise_id=world.enterprise_a.id, page_size=100
    )["items"]
    assert [p["name"] for p in points].count(name) == 1


def test_a_rotation_whose_answer_was_lost_rotates_once(page: Page, live_server: LiveServer) -> None:
    world = live_server.world
    admin = Api(live_server, world.admin)
    enterprise = world.enterprise_b
    old = issue_code(live_server, enterprise.id)
    before = admin.get("/api/v1/qrcodes", enterprise_id=enterprise.id, page_size=100)["total"]
    open_codes(page, live_server, enterprise)
    row = page.get_by_role("row", name=old["short_id"])
    lost = LoseFirstAnswer(page, "**/api/v1/qrcodes/*/rotate")
    row.get_by_role("button", name="换发").click()
    expect(page.get_by_text("网络不可用，请稍后重试")).to_be_visible()

    # The row still offers 换发 (the page never heard the answer): clicking it again replays.
    row.get_by_role("button", name="换发").click()
    expect(page.get_by_text("已换发二维码")).to_be_visible()
    assert len(lost.keys) == 2 and lost.keys[0] and lost.keys[0] == lost.keys[1]
    codes = admin.get("/api/v1/qrcodes", enterprise_id=enterprise.id, page_size=100)["items"]
    assert len(codes) == before + 1
    assert next(c for c in codes if c["id"] == old["id"])["status"] == "revoked"


def test_a_password_reset_whose_answer_was_lost_shows_the_password_it_made(
    page: Page, live_server: LiveServer
) -> None:
    world = live_server.world
    name = f"retry-reset-{next(_n)}"
    body = {"username": name, "password": PASSWORD, "display_name": "重置用户", "role": "reporter"}
    Api(live_server, world.admin).post("/api/v1/users", body, status=201)
    log_in(page, live_server, world.admin, then="/console/users")
    page.get_by_label("搜索用户").fill(name)
    page.get_by_role("button", name="查询").click()
    row = page.get_by_role("row", name=name)
    lost = LoseFirstAnswer(page, "**/api/v1/users/*/reset-password")
    row.get_by_role("button", name="重置密码").click()
    expect(page.get_by_text("网络不可用，请稍后重试")).to_be_visible()

    row.get_by_role("button", name="重置密码").click()
    # The password the server made with the lost answer is the one shown: one reset, not two.
    first = lost.answers[0]["one_time_password"]
    expect(page.get_by_text(f"{name} 的一次性密码：{first}")).to_be_visible()
    assert len(lost.keys) == 2 and lost.keys[0] and lost.keys[0] == lost.keys[1]


def test_a_staff_import_whose_answer_was_lost_shows_the_passwords_it_made(
    page: Page, live_server: LiveServer, tmp_path: Path
) -> None:
    world = live_server.world
    name = f"retry-import-{next(_n)}"
    csv = tmp_path / "staff.csv"
    rows = [
        "用户名,姓名,手机号,角色,区域编码,网格编码,统一社会信用代码",
        f"{name},重试导入,,职工,,,",
    ]
    csv.write_text("\n".join(rows) + "\n", encoding="utf-8-sig")
    keys: list[str] = []
    answers: list[Any] = []

    def lose_first_answer(route: Route) -> None:
        keys.append(route.request.headers.get("idempotency-key", ""))
        if len(keys) > 1:
            route.continue_()
            return
        # Chromium hands an interceptor an upload's body without the file's bytes, so the
        # page's request (its login, key and file) is sent from here; the page never hears.
        sent = route.request.all_headers()
        headers = {k: v for k, v in sent.items() if k in ("authorization", "idempotency-key")}
        upload = {"file": (csv.name, csv.read_bytes(), "text/csv")}
        answers.append(
            requests.post(route.request.url, headers=headers, files=upload, timeout=10).json()
        )
        route.abort("connectionreset")

    log_in(page, live_server, world.admin, then="/console/users")
    page.route(re.compile(r"/api/v1/users/import\b"), lose_first_answer)
    page.get_by_label("导入用户文件").set_input_files(csv)
    expect(page.get_by_text("网络不可用，请稍后重试")).to_be_visible()

    # The same file chosen again: the import the lost answer reported, not a second one
    # (which would refuse the row as taken, its one-time password never seen).
    page.get_by_label("导入用户文件").set_input_files(csv)
    report = page.get_by_label("导入结果")
    expect(report.get_by_text("导入结果：共 1 行，新增 1，失败 0（已写入）")).to_be_visible()
    first = answers[0]["rows"][0]["one_time_password"]
    expect(report.get_by_role("row", name=name).get_by_text(first)).to_be_visible()
    assert len(keys) == 2 and keys[0] and keys[0] == keys[1]


def lost_once(lost: LoseFirstAnswer) -> None:
    """The page sent the request twice, under one key: the lost answer's, then the replay."""
    assert len(lost.keys) == 2 and lost.keys[0] and lost.keys[0] == lost.keys[1], lost.keys


def test_an_assessment_whose_answer_was_lost_is_saved_once(
    page: Page, live_server: LiveServer
) -> None:
    world = live_server.world
    officer = Api(live_server, world.officer)
    point = a_point(officer, world.enterprise_a.id, f"重试评价点{next(_n)}")
    log_in(page, live_server, world.officer, then=f"/console/points/{point['id']}")
    expect(page.get_by_role("heading", name=f"风险点 {point['name']}")).to_be_visible()
    page.wait_for_load_state("networkidle")  # its checklists and people loaded: no shifts
    form = page.get_by_role("form", name="风险评价")
    choose(page, "可能性 L", "6 — 相当可能")
    choose(page, "暴露频率 E", "3 — 每周一次或偶然暴露")
    choose(page, "后果 C", "7 — 严重，重伤")
    lost = LoseFirstAnswer(page, "**/api/v1/points/*/assessments")
    form.get_by_role("button", name="保存评价").click()
    expect(page.get_by_text("网络不可用，请稍后重试")).to_be_visible()

    form.get_by_role("button", name="保存评价").click()
    expect(page.get_by_text("已保存：D = 126，黄 · 一般风险")).to_be_visible()
    lost_once(lost)
    history = officer.get(f"/api/v1/points/{point['id']}/assessments")
    assert [a["score"] for a in history] == [126]


def test_an_attachment_and_a_detachment_whose_answers_were_lost_act_once(
    page: Page, live_server: LiveServer
) -> None:
    world = live_server.world
    officer = Api(live_server, world.officer)
    point = a_point(officer, world.enterprise_a.id, f"重试关联点{next(_n)}")
    name = f"重试清单{next(_n)}"
    body = {"name": name, "items": [{"content": "通道畅通"}]}
    officer.post("/api/v1/checklists", body, status=201)
    log_in(page, live_server, world.officer, then=f"/console/points/{point['id']}")
    expect(page.get_by_role("heading", name=f"风险点 {point['name']}")).to_be_visible()
    page.wait_for_load_state("networkidle")  # its checklists and people loaded: no shifts
    choose(page, "选择清单", name)
    choose(page, "频次", "每周")
    attach = page.get_by_role("form", name="关联排查清单").get_by_role("button", name="关联")
    lost = LoseFirstAnswer(page, "**/api/v1/points/*/checklists")
    attach.click()
    expect(page.get_by_text("网络不可用，请稍后重试")).to_be_visible()

    attach.click()
    expect(page.get_by_text(f"已关联清单 {name}")).to_be_visible()
    lost_once(lost)
    [attachment] = officer.get(f"/api/v1/points/{point['id']}/checklists")
    assert attachment["frequency"] == "week"

    # The detachment's answer lost: the row still offers 解除关联, and the retry reports it
    # done (a second removal without the key would be refused as not found).
    attached = page.get_by_label("已关联的排查清单", exact=True).get_by_role("row", name=name)
    # The attach's failure message gone first, so the next one seen is the detachment's.
    expect(page.get_by_text("网络不可用，请稍后重试")).to_have_count(0)
    lost = LoseFirstAnswer(page, "**/api/v1/points/*/checklists/*", method="DELETE")
    attached.get_by_role("button", name="解除关联").click()
    expect(page.get_by_text("网络不可用，请稍后重试")).to_be_visible()
    assert len(lost.keys) == 1
    assert officer.get(f"/api/v1/points/{point['id']}/checklists") == []

    attached.get_by_role("button", name="解除关联").click()
    expect(page.get_by_text(f"已解除关联 {name}")).to_be_visible()
    expect(page.get_by_text("尚未关联排查清单")).to_be_visible()
    lost_once(lost)


def test_a_revocation_whose_answer_was_lost_reports_the_code_stopped(
    page: Page, live_server: LiveServer
) -> None:
    world = live_server.world
    admin = Api(live_server, world.admin)
    enterprise = world.enterprise_b
    code = issue_code(live_server, enterprise.id)
    open_codes(page, live_server, enterprise)
    row = page.get_by_role("row", name=code["short_id"])
    lost = LoseFirstAnswer(page, "**/api/v1/qrcodes/*/revoke")
    row.get_by_role("button", name="停用").click()
    expect(page.get_by_text("网络不可用，请稍后重试")).to_be_visible()

    # The row still offers 停用: clicking it again is answered as the first time.
    row.get_by_role("button", name="停用").click()
    expect(page.get_by_text(f"已停用二维码 {code['short_id']}")).to_be_visible()
    expect(row.get_by_text("已停用")).to_be_visible()
    lost_once(lost)
    codes = admin.get("/api/v1/qrcodes", enterprise_id=enterprise.id, page_size=100)["items"]
    assert next(c for c in codes if c["id"] == code["id"])["status"] == "revoked"


def test_an_unlock_whose_answer_was_lost_reports_the_failed_logins_it_cleared(
    page: Page, live_server: LiveServer
) -> None:
    world = live_server.world
    admin = Api(live_server, world.admin)
    name = f"retry-locked-{next(_n)}"
    body = {"username": name, "password": PASSWORD, "display_name": "锁定重试", "role": "inspector"}
    user = admin.post("/api/v1/users", body, status=201)
    for _ in range(5):  # five failed logins, as the login endpoint counts them
        lockout.begin(live_server.ctx, name)
    log_in(page, live_server, world.admin, then="/console/users")
    page.get_by_label("搜索用户").fill(name)
    page.get_by_role("button", name="查询").click()
    row = page.get_by_role("row", name=name)
    lost = LoseFirstAnswer(page, "**/api/v1/users/*/unlock")
    row.get_by_role("button", name="解锁").click()
    expect(page.get_by_text("网络不可用，请稍后重试")).to_be_visible()

    # The first unlock's answer: five cleared (a second unlock would have cleared none).
    row.get_by_role("button", name="解锁").click()
    expect(page.get_by_text(f"已解锁 {name}，清除了 5 次失败登录")).to_be_visible()
    lost_once(lost)
    assert admin.get(f"/api/v1/users/{user['id']}")["locked_until"] is None


def test_a_job_cancel_whose_answer_was_lost_shows_the_job_as_the_api_has_it(
    page: Page, live_server: LiveServer
) -> None:
    world = live_server.world
    admin = Api(live_server, world.admin)
    admin.post(f"/api/v1/enterprises/{world.enterprise_b.id}/qrcodes", {}, status=201)
    asked = requests.get(
        f"{live_server.url}/api/v1/qrcodes/posters.pdf",
        params={"region_id": world.street_b.id, "async": "1"},
        headers=admin.headers,
        timeout=10,
    )
    assert asked.status_code == 202, asked.text
    job = asked.json()
    log_in(page, live_server, world.admin, then="/console/jobs")
    row = (
        page.get_by_label("我的任务")
        .get_by_role("row")
        .filter(has=page.get_by_role("cell", name=str(job["id"]), exact=True))
    )
    expect(row.get_by_role("cell", name="排队中", exact=True)).to_be_visible()
    lost = LoseFirstAnswer(page, "**/api/v1/jobs/*/cancel")
    row.get_by_role("button", name="取消").click()
    expect(page.get_by_text("网络不可用，请稍后重试")).to_be_visible()
    # The page asks for its jobs again after any cancel: the row shows what the server did,
    # and offers no second 取消 (which the API would refuse: the job is over).
    expect(row.get_by_role("cell", name="已取消", exact=True)).to_be_visible()
    expect(row.get_by_role("button", name="取消")).to_have_count(0)
    assert len(lost.keys) == 1 and lost.keys[0]
    assert admin.get(f"/api/v1/jobs/{job['id']}")["state"] == "cancelled"
