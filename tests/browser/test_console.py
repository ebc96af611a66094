"""The supervisors' console in headless Chromium on a desktop-sized window: what a district
supervisor sees equals the API's figures, a drill-down shows the street's, a hazard shows its
photos and timeline, an admin imports enterprises and issues a code with its poster, unlocks
a locked account and imports staff keeping their one-time passwords, a street supervisor meets
"not found" outside their street, a list shows its newest request's answer, and with a tile
service set the map draws on its tiles.
Every page is watched for console errors and CSP violations."""

from __future__ import annotations

import dataclasses
import io
import itertools
import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
from PIL import Image
from playwright.sync_api import APIResponse, Browser, BrowserContext, Page, Route, expect
from werkzeug.serving import make_server

from miniprogram_api import create_app
from service.access import lockout
from service.directory.models import User
from service.jobs import running
from tests.browser.conftest import LiveServer, PageProblems
from tests.factories import PASSWORD
from tests.hostile import plain_jpeg

DOCS = Path(__file__).resolve().parents[2] / "docs"


def screenshot(page: Page, name: str) -> None:
    """The README's pictures, from the real pages (with CONSOLE_SCREENSHOTS=1: a test run
    does not rewrite files of the project otherwise)."""
    if os.environ.get("CONSOLE_SCREENSHOTS") == "1":
        page.screenshot(path=str(DOCS / name), full_page=True)


_shade = itertools.count(1)


@pytest.fixture
def browser_context(browser: Browser) -> Iterator[BrowserContext]:
    """A fresh desktop-sized profile: the console is for office screens."""
    context = browser.new_context(locale="zh-CN", viewport={"width": 1440, "height": 900})
    yield context
    context.close()


class Api:
    """Calls to the live server's API as one user."""

    def __init__(self, live: LiveServer, user: User) -> None:
        self.url = live.url
        self.headers = {"Authorization": f"Bearer {live.token(user)}"}

    def get(self, path: str, **params: Any) -> Any:
        answer = requests.get(f"{self.url}{path}", params=params, headers=self.headers, timeout=10)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def post(self, path: str, body: dict[str, Any], status: int = 200) -> Any:
        answer = requests.post(f"{self.url}{path}", json=body, headers=self.headers, timeout=10)
        assert answer.status_code == status, answer.text
        return answer.json()

    def photo(self) -> int:
        n = next(_shade)
        answer = requests.post(
            f"{self.url}/api/v1/media",
            files={"file": (f"photo{n}.jpg", plain_jpeg(320 + n, 240), "image/jpeg")},
            headers=self.headers,
            timeout=10,
        )
        assert answer.status_code == 201, answer.text
        return answer.json()["id"]


@dataclass
class Story:
    fixed: dict[str, Any]  # street A: reported, assigned, fix submitted (before and after photos)
    other_street: dict[str, Any]  # street B


@pytest.fixture(scope="module")
def story(live_server: LiveServer) -> Story:
    """Hazards reported, assigned and fixed through the API, in both streets."""
    world = live_server.world
    admin, reporter = Api(live_server, world.admin), Api(live_server, world.reporter)
    officer = Api(live_server, world.officer)

    def report(enterprise_id: int, text: str) -> dict[str, Any]:
        code = admin.post(f"/api/v1/enterprises/{enterprise_id}/qrcodes", {}, status=201)
        body = {
            "qr_token": code["token"],
            "category": "electrical",
            "description": text,
            "media_ids": [reporter.photo()],
        }
        return reporter.post("/api/v1/hazards", body, status=201)["hazard"]

    fixed = report(world.enterprise_a.id, "配电箱门未关闭，电缆外皮破损")
    report(world.enterprise_a2.id, "消防通道堆放纸箱")
    other = report(world.enterprise_b.id, "冲床防护罩缺失")
    deadline = (datetime.now(UTC) + timedelta(days=7)).date().isoformat()
    path = f"/api/v1/hazards/{fixed['id']}"
    officer.post(f"{path}/assign", {"assignee_id": world.officer.id, "deadline": deadline})
    fix = {"note": "已更换电缆并关闭箱门", "media_ids": [officer.photo()]}
    officer.post(f"{path}/submit-fix", fix)
    return Story(fixed=fixed, other_street=other)


def log_in(page: Page, live: LiveServer, user: User, then: str = "/console/") -> None:
    """The console's password login, as a person fills it in."""
    page.goto(f"{live.url}/console/login?next={then}")
    page.get_by_label("用户名").fill(user.username or "")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("button", name="退出")).to_be_visible()


def percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.2f}%"


def expect_cards(
    page: Page, summary: dict[str, Any], major: dict[str, Any], supervised: dict[str, Any]
) -> None:
    """The dashboard's cards show exactly the API's figures."""
    f = summary["figures"]
    shown = {
        "reported": str(f["reported"]),
        "closed": str(f["closed"]),
        "rectification_rate": percent(f["rectification_rate"]),
        "on_time_rate": percent(f["on_time_rate"]),
        "overdue": str(f["overdue"]),
        "awaiting_verification": str(f["awaiting_verification"]),
        "coverage": percent(f["coverage"]),
        "major_open": str(major["figures"]["open"]),
        "supervised": str(supervised["total"]),
    }
    for key, text in shown.items():
        expect(page.locator(f'[data-figure="{key}"] .card-figure')).to_have_text(text)


def click_first_bar(page: Page, chart_label: str) -> None:
    """Clicks the first row's bar of a horizontal bar chart (drawn on a canvas)."""
    chart = page.get_by_role("img", name=chart_label)
    expect(chart).to_have_attribute("data-drawn", "yes")
    box = chart.bounding_box()
    assert box is not None
    rows = 2  # street A and street B
    band = (box["height"] - 20 - 50) / rows  # the grid's top and bottom margins
    # Two bars per row (reported above, closed below the row's middle): hit the first.
    page.mouse.click(box["x"] + 100 + 4, box["y"] + 20 + band * 0.5 - band * 0.12)


def test_district_supervisor_sees_the_api_figures_and_drills_into_a_street(
    page: Page, live_server: LiveServer, story: Story, page_problems: PageProblems
) -> None:
    world = live_server.world
    api = Api(live_server, world.district_supervisor)
    log_in(page, live_server, world.district_supervisor)
    expect(page.get_by_role("heading", name="驾驶舱 · 测试区")).to_be_visible()
    open_statuses = "reported,rectifying,verifying"
    expect_cards(
        page,
        api.get("/api/v1/stats/summary"),
        api.get("/api/v1/stats/summary", level="major"),
        api.get("/api/v1/hazards", supervised="true", status=open_statuses),
    )
    expect(page.get_by_role("img", name="趋势")).to_have_attribute("data-drawn", "yes")
    screenshot(page, "console-dashboard.png")

    ranking = api.get("/api/v1/stats/ranking", sort="reported")
    first = ranking["rows"][0]
    click_first_bar(page, "下级区域排名")
    expect(page.get_by_role("heading", name=f"驾驶舱 · {first['unit_name']}")).to_be_visible()
    assert f"region={first['unit_id']}" in page.url
    scoped = {"region_id": first["unit_id"]}
    expect_cards(
        page,
        api.get("/api/v1/stats/summary", **scoped),
        api.get("/api/v1/stats/summary", level="major", **scoped),
        api.get("/api/v1/hazards", supervised="true", status=open_statuses, **scoped),
    )
    assert page_problems.all() == []


def test_the_map_draws_the_open_hazards_and_enterprises_of_the_geojson(
    page: Page, live_server: LiveServer, story: Story, page_problems: PageProblems
) -> None:
    world = live_server.world
    api = Api(live_server, world.district_supervisor)
    log_in(page, live_server, world.district_supervisor)
    page.get_by_role("menuitem", name="一张图").click()
    expect(page.get_by_role("img", name="一张图")).to_have_attribute("data-drawn", "yes")
    hazards = api.get("/api/v1/geo/hazards.geojson", status="reported,rectifying,verifying")
    enterprises = api.get("/api/v1/geo/enterprises.geojson", active="true")
    counts = f"共 {len(enterprises['features'])} 家企业、{len(hazards['features'])} 条隐患"
    expect(page.get_by_text(counts)).to_be_visible()
    for feature in hazards["features"]:
        expect(page.get_by_role("link", name=feature["properties"]["number"])).to_be_visible()
    screenshot(page, "console-map.png")
    assert page_problems.all() == []


def test_a_hazard_shows_its_photos_enlarged_on_click_and_its_timeline(
    page: Page, live_server: LiveServer, story: Story, page_problems: PageProblems
) -> None:
    world = live_server.world
    log_in(page, live_server, world.district_supervisor, then="/console/hazards")
    page.get_by_label("搜索").fill(story.fixed["number"])
    page.get_by_role("button", name="查询").click()
    page.get_by_role("link", name=story.fixed["number"]).click()
    expect(page.get_by_role("heading", name=f"隐患 {story.fixed['number']}")).to_be_visible()

    before = page.get_by_role("img", name="上报照片（整改前） 1")
    after = page.get_by_role("img", name="整改后照片 1")
    for photo in (before, after):
        expect(photo).to_be_visible()
        assert photo.evaluate("img => img.complete && img.naturalWidth > 0")
    timeline = page.get_by_label("办理记录")
    expect(timeline.get_by_text("上报 → 待处理")).to_be_visible()
    expect(timeline.get_by_text("交办整改 → 整改中")).to_be_visible()
    expect(timeline.get_by_text("提交整改 → 待验收：已更换电缆并关闭箱门")).to_be_visible()
    expect(page.get_by_text("记录链校验完整，未被篡改")).to_be_visible()
    screenshot(page, "console-hazard.png")

    before.click()  # the thumbnail opens the full photo
    viewer = page.locator(".el-image-viewer__canvas img")
    expect(viewer).to_be_visible()
    assert viewer.get_attribute("src") == story_photo_url(live_server, story)
    assert page_problems.all() == []


def story_photo_url(live: LiveServer, story: Story) -> str:
    """Where the full-size before photo is (the detail's own links are short-lived)."""
    hazard = Api(live, live.world.district_supervisor).get(f"/api/v1/hazards/{story.fixed['id']}")
    return hazard["photos"]["before"][0]["url"]


def test_admin_imports_enterprises_then_issues_a_code_and_downloads_its_poster(
    page: Page, live_server: LiveServer, page_problems: PageProblems, tmp_path: Path
) -> None:
    world = live_server.world
    log_in(page, live_server, world.admin, then="/console/enterprises")
    rows = [
        "统一社会信用代码,企业名称,地址,纬度,经度,行业,风险等级,网格编码",
        f"91350100M000100Y43,控制台导入企业,路1号,31.7,119.9,工贸,黄,{world.grid_a.code}",
        f"BAD,格式错企业,,,,工贸,蓝,{world.grid_a.code}",
    ]
    csv = tmp_path / "企业.csv"
    csv.write_text("\n".join(rows) + "\n", encoding="utf-8-sig")
    page.get_by_text("只导入正确的行").click()
    page.get_by_label("导入企业文件").set_input_files(csv)
    report = page.get_by_label("导入结果")
    expect(report.get_by_text("导入结果：共 2 行，新增 1，更新 0，失败 1")).to_be_visible()
    expect(report.get_by_text("credit_code：")).to_be_visible()
    screenshot(page, "console-import.png")

    page.get_by_label("搜索企业").fill("控制台导入企业")
    page.get_by_role("button", name="查询").click()
    row = page.get_by_role("row", name="控制台导入企业")
    expect(page.get_by_role("row", name="甲企业")).to_have_count(0)  # the search's answer
    row.get_by_role("button", name="管理二维码").click()
    page.get_by_role("button", name="生成新二维码").click()
    expect(page.get_by_text("已生成二维码")).to_be_visible()
    admin = Api(live_server, world.admin)
    imported = admin.get("/api/v1/enterprises", q="控制台导入企业")["items"][0]
    code = admin.get("/api/v1/qrcodes", enterprise_id=imported["id"])["items"][0]
    drawer = page.get_by_role("dialog")
    expect(drawer.get_by_text(code["short_id"])).to_be_visible()
    with page.expect_download() as waiting:
        drawer.get_by_role("button", name="下载海报").click()
    poster = waiting.value
    assert poster.suggested_filename == f"二维码海报-{code['short_id']}.png"
    assert Path(poster.path()).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert page_problems.all() == []


def test_a_street_supervisor_meets_not_found_outside_their_street(
    page: Page, live_server: LiveServer, story: Story, page_problems: PageProblems
) -> None:
    world = live_server.world
    log_in(page, live_server, world.street_supervisor)
    expect(page.get_by_role("heading", name="驾驶舱 · 甲街道")).to_be_visible()
    # The menu follows the role: no enterprise or user administration for a supervisor.
    expect(page.get_by_role("menuitem", name="企业与二维码")).to_have_count(0)

    page.goto(f"{live_server.url}/console/?region={world.street_b.id}")
    expect(page.get_by_text("未找到")).to_be_visible()
    page.goto(f"{live_server.url}/console/hazards/{story.other_street['id']}")
    expect(page.get_by_text("未找到")).to_be_visible()
    page.goto(f"{live_server.url}/console/users")
    expect(page.get_by_text("未找到")).to_be_visible()
    # Chromium logs the API's own 404 answers; nothing else may go wrong.
    assert [p for p in page_problems.all() if "status of 404 (NOT FOUND)" not in p] == []
    assert len(page_problems.all()) >= 2


def test_a_supervisor_verifies_a_fix_with_the_form_of_an_action_the_api_lists(
    page: Page, live_server: LiveServer, story: Story, page_problems: PageProblems
) -> None:
    world = live_server.world
    api = Api(live_server, world.district_supervisor)
    hazard_path = f"/api/v1/hazards/{story.fixed['id']}"
    assert "pass" in api.get(hazard_path)["actions"]
    log_in(
        page, live_server, world.district_supervisor, then=f"/console/hazards/{story.fixed['id']}"
    )
    page.get_by_role("button", name="验收通过").click()
    dialog = page.get_by_role("dialog", name="验收通过")
    dialog.get_by_label("验收意见").fill("现场复核，整改到位")
    dialog.get_by_role("button", name="提交").click()
    expect(page.get_by_text("验收通过：已完成")).to_be_visible()
    expect(
        page.get_by_label("办理记录").get_by_text("验收通过 → 已销号：现场复核，整改到位")
    ).to_be_visible()
    closed = api.get(hazard_path)
    assert closed["status"] == "closed" and closed["actions"] == ["reopen"]
    # The buttons follow the API's new list: reopening only.
    expect(page.get_by_role("button", name="重新打开")).to_be_visible()
    expect(page.get_by_role("button", name="验收通过")).to_have_count(0)
    assert page_problems.all() == []


def test_the_ledger_exports_the_statistics_of_the_chosen_period(
    page: Page, live_server: LiveServer, story: Story, page_problems: PageProblems
) -> None:
    world = live_server.world
    today = datetime.now(UTC).date().isoformat()
    log_in(page, live_server, world.district_supervisor, then="/console/ledger")
    page.goto(f"{live_server.url}/console/ledger?from={today}&to={today}")
    expect(page.get_by_text(f"统计周期 {today} 至 {today}")).to_be_visible()
    with page.expect_download() as waiting:
        page.get_by_role("button", name="导出 Excel").click()
    export = waiting.value
    assert export.suggested_filename.startswith("隐患统计-测试区-")
    assert export.suggested_filename.endswith(".xlsx")
    assert Path(export.path()).read_bytes()[:2] == b"PK"  # an XLSX is a zip
    assert page_problems.all() == []


def test_an_admin_sees_a_locked_account_and_unlocks_it(
    page: Page, live_server: LiveServer, page_problems: PageProblems
) -> None:
    world = live_server.world
    admin = Api(live_server, world.admin)
    name = f"locked-{next(_shade)}"
    body = {"username": name, "password": PASSWORD, "display_name": "锁定测试", "role": "inspector"}
    user = admin.post("/api/v1/users", body, status=201)
    for _ in range(5):  # five failed logins, as the login endpoint counts them
        lockout.begin(live_server.ctx, name)
    assert admin.get(f"/api/v1/users/{user['id']}")["locked_until"]

    log_in(page, live_server, world.admin, then="/console/users")
    page.get_by_label("搜索用户").fill(name)
    page.get_by_role("button", name="查询").click()
    row = page.get_by_role("row", name=name)
    expect(row.get_by_text("登录已锁定至")).to_be_visible()
    row.get_by_role("button", name="解锁").click()

    expect(page.get_by_text(f"已解锁 {name}，清除了 5 次失败登录")).to_be_visible()
    expect(row.get_by_text("登录已锁定至")).to_have_count(0)
    expect(row.get_by_role("button", name="解锁")).to_have_count(0)
    assert admin.get(f"/api/v1/users/{user['id']}")["locked_until"] is None
    assert page_problems.all() == []


def test_admin_imports_staff_and_keeps_the_one_time_passwords_shown_once(
    page: Page, live_server: LiveServer, page_problems: PageProblems, tmp_path: Path
) -> None:
    world = live_server.world
    name = f"import-{next(_shade)}"
    rows = [
        "用户名,姓名,手机号,角色,区域编码,网格编码,统一社会信用代码",
        f"{name},导入网格员,13800000009,网格员,,{world.grid_a.code},",
        f"{name}-bad,角色错,,站长,,,",
    ]
    csv = tmp_path / "用户.csv"
    csv.write_text("\n".join(rows) + "\n", encoding="utf-8-sig")
    log_in(page, live_server, world.admin, then="/console/users")
    page.get_by_text("只导入正确的行").click()
    page.get_by_label("导入用户文件").set_input_files(csv)

    report = page.get_by_label("导入结果")
    expect(report.get_by_text("导入结果：共 2 行，新增 1，失败 1（已写入）")).to_be_visible()
    expect(report.get_by_role("row", name=f"{name}-bad").get_by_text("role：")).to_be_visible()
    expect(report.get_by_text("一次性密码只显示这一次")).to_be_visible()
    good = report.get_by_role("row", name=f"{name} 导入网格员")
    screenshot(page, "console-staff-import.png")
    one_time = good.locator("td").nth(4).inner_text().strip()
    assert len(one_time) >= 10
    with page.expect_download() as waiting:
        report.get_by_role("button", name="下载一次性密码（CSV）").click()
    saved = waiting.value
    assert saved.suggested_filename == "导入账号一次性密码.csv"
    lines = Path(saved.path()).read_text(encoding="utf-8-sig").splitlines()
    assert lines == ['"用户名","姓名","一次性密码"', f'"{name}","导入网格员","{one_time}"']
    # The password works (its owner must change it at first login) …
    answer = requests.post(
        f"{live_server.url}/api/v1/auth/login",
        json={"username": name, "password": one_time},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["user"]["must_change_password"] is True
    # … and is gone from the page once the report is closed.
    report.get_by_role("button", name="已保存密码，关闭").click()
    expect(page.get_by_text(one_time)).to_have_count(0)
    expect(page.get_by_role("row", name=name).first).to_be_visible()  # the list shows it
    assert page_problems.all() == []


def test_a_big_staff_import_runs_as_a_job_and_its_report_shows_the_one_time_passwords(
    page: Page,
    live_server: LiveServer,
    page_problems: PageProblems,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    world = live_server.world
    settings = dataclasses.replace(live_server.ctx.settings, import_sync_max_bytes=10)
    monkeypatch.setattr(live_server.ctx, "settings", settings)
    name = f"job-import-{next(_shade)}"
    rows = [
        "用户名,姓名,手机号,角色,区域编码,网格编码,统一社会信用代码",
        f"{name},后台导入,,职工,,,",
    ]
    csv = tmp_path / "用户.csv"
    csv.write_text("\n".join(rows) + "\n", encoding="utf-8-sig")
    log_in(page, live_server, world.admin, then="/console/users")
    page.get_by_label("导入用户文件").set_input_files(csv)

    card = page.get_by_label(re.compile(r"^任务 \d+$"))
    expect(card.get_by_text("账号导入：排队中")).to_be_visible()
    job = Api(live_server, world.admin).get("/api/v1/jobs")["items"][0]
    assert job["kind"] == "staff_import" and job["state"] == "queued"
    running.run_job(live_server.ctx, job["id"])  # the consumer

    expect(card.get_by_text("账号导入：已完成")).to_be_visible()
    report = page.get_by_label("导入结果")
    expect(report.get_by_text("导入结果：共 1 行，新增 1，失败 0（已写入）")).to_be_visible()
    one_time = report.get_by_role("row", name=name).locator("td").nth(4).inner_text().strip()
    answer = requests.post(
        f"{live_server.url}/api/v1/auth/login",
        json={"username": name, "password": one_time},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    assert page_problems.all() == []


def test_a_late_answer_of_an_older_hazard_list_request_does_not_replace_a_newer_one(
    page: Page, live_server: LiveServer, story: Story, page_problems: PageProblems
) -> None:
    world = live_server.world
    admin, reporter = Api(live_server, world.admin), Api(live_server, world.reporter)
    held: list[tuple[Route, APIResponse]] = []

    def hold_the_first_list(route: Route) -> None:
        if held:
            route.continue_()
        else:  # answered now, handed to the page only after the next list's answer
            held.append((route, route.fetch()))

    page.route("**/api/v1/hazards?*", hold_the_first_list)
    with page.expect_request("**/api/v1/hazards?*"):
        log_in(page, live_server, world.district_supervisor, then="/console/hazards")
    code = admin.post(f"/api/v1/enterprises/{world.enterprise_a2.id}/qrcodes", {}, status=201)
    body = {"qr_token": code["token"], "category": "fire", "description": "灭火器过期未更换"}
    newer = reporter.post("/api/v1/hazards", body | {"media_ids": [reporter.photo()]}, status=201)
    page.get_by_role("button", name="查询").click()  # the same filters: the same page asks again
    expect(page.get_by_role("link", name=newer["hazard"]["number"])).to_be_visible()

    route, answer = held[0]
    with page.expect_response(route.request.url):
        route.fulfill(response=answer)
    page.wait_for_timeout(300)  # time for the page to take the late answer, were it to

    expect(page.get_by_role("link", name=newer["hazard"]["number"])).to_be_visible()
    assert page_problems.all() == []


@dataclass
class TileServer:
    """A tile service on loopback: one grey PNG for every tile, and the paths asked for."""

    url: str
    requested: list[str] = field(default_factory=list)


@pytest.fixture
def tile_server() -> Iterator[TileServer]:
    buffer = io.BytesIO()
    Image.new("RGB", (256, 256), (228, 233, 238)).save(buffer, "PNG")
    png = buffer.getvalue()
    requested: list[str] = []

    class Tiles(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            requested.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(png)))
            self.end_headers()
            self.wfile.write(png)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet: the test reads `requested`

    server = ThreadingHTTPServer(("127.0.0.1", 0), Tiles)
    thread = threading.Thread(target=server.serve_forever, name="tile-server", daemon=True)
    thread.start()
    try:
        yield TileServer(f"http://127.0.0.1:{server.server_port}", requested)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


@pytest.fixture
def tiled_server(live_server: LiveServer, tile_server: TileServer) -> Iterator[LiveServer]:
    """The same app and data with MAP_TILE_URL set to the tile server, on a port of its own
    (so the tiles come from another origin, as a real tile service's do)."""
    settings = live_server.ctx.settings.with_overrides(
        map_tile_url=f"{tile_server.url}/tiles/{{z}}/{{x}}/{{y}}.png",
        map_tile_attribution="© 测试底图 <b>",
    )
    ctx = dataclasses.replace(live_server.ctx, settings=settings, adapters={})
    server = make_server("127.0.0.1", 0, create_app(context=ctx), threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="tiled-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(f"http://127.0.0.1:{server.server_port}", ctx, live_server.world)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def test_with_a_tile_service_the_map_draws_the_points_on_its_tiles(
    page: Page,
    tiled_server: LiveServer,
    tile_server: TileServer,
    story: Story,
    page_problems: PageProblems,
) -> None:
    world = tiled_server.world
    api = Api(tiled_server, world.district_supervisor)
    hazards = api.get("/api/v1/geo/hazards.geojson", status="reported,rectifying,verifying")
    enterprises = api.get("/api/v1/geo/enterprises.geojson", active="true")
    points = len(hazards["features"]) + len(enterprises["features"])
    assert hazards["features"] and enterprises["features"]

    log_in(page, tiled_server, world.district_supervisor)
    page.get_by_role("menuitem", name="一张图").click()
    area = page.get_by_role("region", name="一张图")
    expect(area).to_have_attribute("data-drawn", "yes")

    expect(area.locator("path.leaflet-interactive")).to_have_count(points)  # one per point
    tile = area.locator("img").first  # Leaflet's tiles (role presentation)
    expect(tile).to_be_visible()
    assert tile.evaluate("img => img.complete && img.naturalWidth === 256")
    assert tile_server.requested
    assert all(
        path.startswith("/tiles/") and path.endswith(".png") for path in tile_server.requested
    )
    expect(area.get_by_text("© 测试底图 <b>")).to_be_visible()  # the setting as text
    for feature in hazards["features"]:
        expect(page.get_by_role("link", name=feature["properties"]["number"])).to_be_visible()
    policy = requests.get(f"{tiled_server.url}/console/map", timeout=10).headers
    assert f"img-src 'self' data: blob: {tile_server.url};" in policy["Content-Security-Policy"]
    assert page_problems.all() == []
