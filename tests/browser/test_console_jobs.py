"""The console's documents and jobs in headless Chromium: a supervisor downloads the 月度通报
and the ledger's spreadsheets with their login (never a token in a URL), and an admin's
region poster PDF that becomes a job is followed from queued through its progress to the
download, then found on the 任务 page. Every page is watched for console errors and CSP
violations."""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from openpyxl import load_workbook
from playwright.sync_api import Browser, BrowserContext, Page, Request, expect
from pypdf import PdfReader

from service.jobs import kinds, running
from tests.browser.conftest import LiveServer, PageProblems
from tests.browser.test_console import Api, log_in, screenshot
from tests.browser.test_h5 import PHONES
from tests.factories import PASSWORD


@pytest.fixture
def browser_context(browser: Browser) -> Iterator[BrowserContext]:
    """A fresh desktop-sized profile: the console is for office screens."""
    context = browser.new_context(locale="zh-CN", viewport={"width": 1440, "height": 900})
    yield context
    context.close()


def no_token_in_urls(page: Page, seen: list[str]) -> None:
    """Collects every URL the page asks for, to check no bearer token travels in one."""

    def record(request: Request) -> None:
        seen.append(request.url)

    page.on("request", record)


def assert_no_token(urls: list[str], live: LiveServer, api: Api) -> None:
    token = api.headers["Authorization"].removeprefix("Bearer ")
    assert urls and not [u for u in urls if token[:24] in u or "token=" in u], urls


def sheets(path: Path) -> list[str]:
    """The sheet names of a downloaded workbook (an XLSX is a zip: openpyxl checks that)."""
    data = path.read_bytes()
    assert data[:2] == b"PK"
    return load_workbook(io.BytesIO(data), read_only=True).sheetnames


def test_a_supervisor_downloads_the_monthly_bulletin_and_the_ledger_spreadsheets(
    page: Page, live_server: LiveServer, page_problems: PageProblems
) -> None:
    world = live_server.world
    urls: list[str] = []
    no_token_in_urls(page, urls)
    log_in(page, live_server, world.district_supervisor)
    expect(page.get_by_role("heading", name="驾驶舱 · 测试区")).to_be_visible()

    bulletins = page.get_by_label("通报与排名")
    month = bulletins.get_by_label("通报月份")
    last_month = (datetime.now(UTC).replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    expect(month).to_have_value(last_month)
    with page.expect_download() as waiting:
        bulletins.get_by_role("button", name="月度通报 PDF").click()
    pdf = waiting.value
    assert pdf.suggested_filename == f"月度通报-测试区-{last_month}.pdf"
    data = Path(pdf.path()).read_bytes()
    assert data[:5] == b"%PDF-"
    assert "月度" in "".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)

    with page.expect_download() as waiting:
        bulletins.get_by_role("button", name="季度排名 Word").click()
    docx = waiting.value
    assert docx.suggested_filename.startswith("季度排名-测试区-")
    assert docx.suggested_filename.endswith(".docx")
    assert Path(docx.path()).read_bytes()[:2] == b"PK"

    today = datetime.now(UTC).date().isoformat()
    page.goto(f"{live_server.url}/console/ledger?from={today}&to={today}")
    expect(page.get_by_text(f"统计周期 {today} 至 {today}")).to_be_visible()
    with page.expect_download() as waiting:
        page.get_by_role("button", name="导出 Excel").click()
    export = waiting.value
    assert export.suggested_filename.startswith("隐患统计-测试区-")
    assert "隐患清单" in sheets(export.path())

    with page.expect_download() as waiting:
        page.get_by_role("button", name="重大隐患台账 Excel").click()
    major = waiting.value
    assert major.suggested_filename.startswith("重大隐患台账-测试区-")
    assert sheets(major.path()) == ["重大隐患台账"]

    assert_no_token(urls, live_server, Api(live_server, world.district_supervisor))
    assert page_problems.all() == []


def test_a_failed_document_shows_the_api_message(
    page: Page, live_server: LiveServer, page_problems: PageProblems
) -> None:
    world = live_server.world
    log_in(page, live_server, world.street_supervisor)
    expect(page.get_by_role("heading", name="驾驶舱 · 甲街道")).to_be_visible()
    # The API's answer when its database is out of reach (SPEC §5): the page says its message.
    answer = {
        "status": 503,
        "code": "database_unavailable",
        "message": "数据库暂时不可用，请稍后重试",
        "message_en": "The database is unavailable",
        "errors": {},
    }
    page.route(
        re.compile(r".*/api/v1/stats/bulletins/weekly\.pdf\?.*"),
        lambda route: route.fulfill(status=503, json=answer),
    )
    page.get_by_label("通报与排名").get_by_role("button", name="周统计 PDF").click()
    expect(page.get_by_text("周统计下载失败：数据库暂时不可用，请稍后重试")).to_be_visible()
    # Chromium logs the failed answer; nothing else may go wrong.
    assert [p for p in page_problems.all() if "status of 503" not in p] == []


class PausedConsumer:
    """The consumer of the test's jobs: runs a job in a thread (as `flask jobs consume`
    does) and pauses after its first page until the test has seen that progress."""

    def __init__(self, live: LiveServer, monkeypatch: pytest.MonkeyPatch) -> None:
        self.live = live
        self.first_page_seen = threading.Event()
        self.thread: threading.Thread | None = None
        monkeypatch.setattr(running, "PROGRESS_EVERY", 0.0)  # every page is written at once
        original = kinds._each

        def paced(progress: Any) -> Any:
            report = original(progress)

            def each(done: int) -> None:
                report(done)
                if done == 1:
                    self.first_page_seen.wait(60)

            return each

        monkeypatch.setattr(kinds, "_each", paced)

    def run(self, job_id: int) -> None:
        self.thread = threading.Thread(
            target=running.run_job, args=(self.live.ctx, job_id), name="consumer", daemon=True
        )
        self.thread.start()

    def finish(self) -> None:
        self.first_page_seen.set()
        if self.thread is not None:
            self.thread.join(60)


def test_an_admin_follows_a_region_poster_job_to_its_pdf_and_finds_it_among_their_jobs(
    page: Page,
    live_server: LiveServer,
    page_problems: PageProblems,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    world = live_server.world
    admin = Api(live_server, world.admin)
    for enterprise in (world.enterprise_a, world.enterprise_a2):
        admin.post(f"/api/v1/enterprises/{enterprise.id}/qrcodes", {}, status=201)
    codes = admin.get("/api/v1/qrcodes", region_id=world.street_a.id, status="active")["total"]
    # A street's codes are over this threshold: its PDF becomes a job, as a city's would.
    settings = replace(live_server.ctx.settings, posters_sync_max=1)
    monkeypatch.setattr(live_server.ctx, "settings", settings)
    consumer = PausedConsumer(live_server, monkeypatch)
    urls: list[str] = []
    no_token_in_urls(page, urls)

    try:
        log_in(page, live_server, world.admin, then="/console/enterprises")
        page.get_by_role("combobox", name="海报区域").click()
        page.get_by_role("option", name="甲街道", exact=True).click()
        page.get_by_text("A4", exact=True).click()
        page.get_by_role("button", name="下载海报 PDF").click()

        card = page.get_by_label(re.compile(r"^任务 \d+$"))
        expect(card.get_by_text("二维码海报 PDF：排队中")).to_be_visible()
        expect(card.get_by_text(f"0 / {codes}")).to_be_visible()
        expect(card.get_by_role("progressbar")).to_be_visible()
        job = admin.get("/api/v1/jobs")["items"][0]
        assert job["kind"] == "posters" and job["state"] == "queued"
        assert card.get_attribute("aria-label") == f"任务 {job['id']}"

        consumer.run(job["id"])
        expect(card.get_by_text("二维码海报 PDF：进行中")).to_be_visible()
        expect(card.get_by_text(f"1 / {codes}")).to_be_visible()
        expect(card.get_by_role("progressbar")).to_have_attribute(
            "aria-valuenow", str(100 // codes)
        )
        consumer.finish()

        expect(card.get_by_text("二维码海报 PDF：已完成")).to_be_visible()
        done = admin.get(f"/api/v1/jobs/{job['id']}")
        name = done["result"]["name"]
        assert name == "二维码海报-甲街道.pdf"
        with page.expect_download() as waiting:
            card.get_by_role("button", name=f"下载 {name}").click()
        pdf = waiting.value
        assert pdf.suggested_filename == name
        data = Path(pdf.path()).read_bytes()
        assert data[:5] == b"%PDF-"
        pages = PdfReader(io.BytesIO(data)).pages
        assert len(pages) == codes
        assert [round(float(p.mediabox.width)) for p in pages] == [595] * codes  # A4
    finally:
        consumer.finish()

    page.get_by_role("link", name="在「任务」页查看我的全部任务").click()
    expect(page.get_by_role("heading", name="任务", exact=True)).to_be_visible()
    row = page.get_by_label("我的任务").get_by_role("row").filter(has_text=f"下载 {name}")
    expect(row).to_have_count(1)
    expect(row.get_by_role("cell", name="已完成", exact=True)).to_be_visible()
    expect(row.get_by_text("二维码海报 PDF")).to_be_visible()
    screenshot(page, "console-jobs.png")
    with page.expect_download() as waiting:
        row.get_by_role("button", name=f"下载 {name}").click()
    assert waiting.value.suggested_filename == name

    assert_no_token(urls, live_server, admin)
    assert page_problems.all() == []


def test_an_admin_imports_a_big_file_as_a_job_and_sees_its_report(
    page: Page,
    live_server: LiveServer,
    page_problems: PageProblems,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    world = live_server.world
    settings = replace(live_server.ctx.settings, import_sync_max_bytes=10)
    monkeypatch.setattr(live_server.ctx, "settings", settings)
    rows = [
        "统一社会信用代码,企业名称,地址,纬度,经度,行业,风险等级,网格编码",
        f"91350100M000200Y2F,后台导入企业,路2号,31.7,119.9,工贸,黄,{world.grid_a.code}",
    ]
    csv = tmp_path / "企业.csv"
    csv.write_text("\n".join(rows) + "\n", encoding="utf-8-sig")
    log_in(page, live_server, world.admin, then="/console/enterprises")
    page.get_by_text("只导入正确的行").click()
    page.get_by_label("导入企业文件").set_input_files(csv)

    card = page.get_by_label(re.compile(r"^任务 \d+$"))
    expect(card.get_by_text("企业导入：排队中")).to_be_visible()
    job = Api(live_server, world.admin).get("/api/v1/jobs")["items"][0]
    assert job["kind"] == "enterprise_import" and job["state"] == "queued"
    running.run_job(live_server.ctx, job["id"])  # the consumer

    expect(card.get_by_text("企业导入：已完成")).to_be_visible()
    report = page.get_by_label("导入结果")
    expect(report.get_by_text("导入结果：共 1 行，新增 1，更新 0，失败 0")).to_be_visible()
    expect(page.get_by_role("row", name="后台导入企业")).to_be_visible()
    assert page_problems.all() == []


def test_the_jobs_page_polls_only_while_a_job_is_unfinished_and_cancels_one(
    page: Page, live_server: LiveServer, page_problems: PageProblems
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
    polls: list[str] = []
    page.on("request", lambda r: polls.append(r.url) if r.url.endswith("/api/v1/jobs") else None)

    log_in(page, live_server, world.admin, then="/console/jobs")
    row = (
        page.get_by_label("我的任务")
        .get_by_role("row")
        .filter(has=page.get_by_role("cell", name=str(job["id"]), exact=True))
    )
    expect(row.get_by_role("cell", name="排队中", exact=True)).to_be_visible()
    expect(row.get_by_text("二维码海报 PDF")).to_be_visible()
    expect(row.get_by_role("progressbar")).to_be_visible()
    page.wait_for_timeout(4500)  # the API's Retry-After is 2 s
    assert len(polls) >= 3

    # Left, the page asks no more.
    page.get_by_role("menuitem", name="用户").click()
    expect(page.get_by_role("heading", name="用户")).to_be_visible()
    left = len(polls)
    page.wait_for_timeout(3000)
    assert len(polls) == left

    page.get_by_role("menuitem", name="任务", exact=True).click()
    row.get_by_role("button", name="取消").click()
    expect(page.get_by_text(f"已取消任务 {job['id']}")).to_be_visible()
    expect(row.get_by_role("cell", name="已取消", exact=True)).to_be_visible()
    assert admin.get(f"/api/v1/jobs/{job['id']}")["state"] == "cancelled"
    # Nothing unfinished: the list is not asked again.
    page.wait_for_timeout(500)
    settled = len(polls)
    page.wait_for_timeout(3000)
    assert len(polls) == settled
    assert page_problems.all() == []


def test_a_hazards_documents_are_offered_once_the_api_makes_them(
    page: Page, live_server: LiveServer, page_problems: PageProblems, browser: Browser
) -> None:
    world = live_server.world
    admin, officer = Api(live_server, world.admin), Api(live_server, world.officer)
    reporter = Api(live_server, world.reporter)
    code = admin.post(f"/api/v1/enterprises/{world.enterprise_a.id}/qrcodes", {}, status=201)
    body = {
        "qr_token": code["token"],
        "category": "fire",
        "description": "灭火器压力不足",
        "media_ids": [reporter.photo()],
    }
    hazard = reporter.post("/api/v1/hazards", body, status=201)["hazard"]
    log_in(page, live_server, world.district_supervisor, then=f"/console/hazards/{hazard['id']}")
    expect(page.get_by_text("交办整改后可下载隐患整改通知书")).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("^下载"))).to_have_count(0)

    deadline = (datetime.now(UTC) + timedelta(days=7)).date().isoformat()
    assignment = {"assignee_id": world.officer.id, "deadline": deadline}
    officer.post(f"/api/v1/hazards/{hazard['id']}/assign", assignment)
    page.reload()
    name = f"隐患整改通知书-{hazard['number']}.pdf"
    with page.expect_download() as waiting:
        page.get_by_role("button", name="下载隐患整改通知书（PDF）").click()
    assert waiting.value.suggested_filename == name
    assert Path(waiting.value.path()).read_bytes()[:5] == b"%PDF-"
    expect(page.get_by_role("button", name="下载复查意见书（PDF）")).to_have_count(0)
    assert page_problems.all() == []

    # The enterprise's officer keeps the written order on the phone.
    phone = browser.new_context(locale="zh-CN", **PHONES["375x667"])
    try:
        mobile = phone.new_page()
        mobile.goto(f"{live_server.url}/h5/login")
        mobile.get_by_label("账号").fill(world.officer.username or "")
        mobile.get_by_label("密码").fill(PASSWORD)
        mobile.get_by_role("button", name="登录").click()
        expect(mobile.get_by_role("tab").first).to_be_visible()
        mobile.goto(f"{live_server.url}/h5/staff/hazards/{hazard['id']}")
        with mobile.expect_download() as waiting:
            mobile.get_by_role("button", name="下载整改通知书（PDF）").click()
        assert waiting.value.suggested_filename == name
        assert Path(waiting.value.path()).read_bytes()[:5] == b"%PDF-"
    finally:
        phone.close()
