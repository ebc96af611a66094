"""The console's file uploads when the login has gone bad, in headless Chromium: an
enterprise import and a photo upload sent with a revoked login lead to the login page (as
every other call of the console does), and logging in again returns to the page.
Every page is watched for console errors and CSP violations."""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Route, expect

from service.directory.models import User
from tests.browser.conftest import LiveServer, PageProblems
from tests.browser.test_console import Api, log_in
from tests.factories import make_user
from tests.hostile import plain_jpeg
from uploads_schema.vocabulary import Role

_n = itertools.count(1)
UNAUTHORIZED = "status of 401 (UNAUTHORIZED)"


@pytest.fixture
def browser_context(browser: Browser) -> Iterator[BrowserContext]:
    """A fresh desktop-sized profile: the console is for office screens."""
    context = browser.new_context(locale="zh-CN", viewport={"width": 1440, "height": 900})
    yield context
    context.close()


def staff(live: LiveServer, role: Role, **kw: object) -> User:
    """A user of this test alone, whose login the test may revoke without touching others."""
    with live.ctx.session_factory() as session:
        user = make_user(session, role, username=f"{role.value}-expiry-{next(_n)}", **kw)
        session.commit()
        session.refresh(user)
        session.expunge(user)
    return user


def revoke_logins(page: Page, live: LiveServer, user: User) -> None:
    """Every token issued to `user` so far stops working (as a password change does), once
    the page has loaded what it shows: only the upload then meets the revoked login."""
    page.wait_for_load_state("networkidle")
    with live.ctx.session_factory() as session:
        session.get(User, user.id).token_version += 1  # type: ignore[union-attr]
        session.commit()


def expect_login_page_then_back(page: Page, live: LiveServer, user: User, path: str) -> None:
    """The login page, asked to return to `path`; logging in there leads back to it."""
    expect(page.get_by_role("button", name="登录")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/console/login\?next=" + re.escape(path)))
    log_in(page, live, user, then=path)
    expect(page).to_have_url(f"{live.url}{path}")


def test_an_import_sent_with_a_revoked_login_leads_to_the_login_page(
    page: Page, live_server: LiveServer, page_problems: PageProblems, tmp_path: Path
) -> None:
    world = live_server.world
    admin = staff(live_server, Role.ADMIN)
    log_in(page, live_server, admin, then="/console/enterprises")
    expect(page.get_by_label("导入企业文件")).to_be_attached()
    csv = tmp_path / "企业.csv"
    csv.write_text(
        "统一社会信用代码,企业名称,地址,纬度,经度,行业,风险等级,网格编码\n"
        f"91350100M000100Y43,过期登录导入企业,路2号,31.7,119.9,工贸,黄,{world.grid_a.code}\n",
        encoding="utf-8-sig",
    )

    revoke_logins(page, live_server, admin)
    page.get_by_label("导入企业文件").set_input_files(csv)

    expect_login_page_then_back(page, live_server, admin, "/console/enterprises")
    expect(page.get_by_label("导入结果")).to_have_count(0)
    assert (
        Api(live_server, world.admin).get("/api/v1/enterprises", q="过期登录导入企业")["items"]
        == []
    )
    # Chromium logs the API's 401 answer; nothing else may go wrong.
    assert [p for p in page_problems.all() if UNAUTHORIZED not in p] == []
    assert page_problems.all()


def test_a_photo_sent_with_a_revoked_login_leads_to_the_login_page(
    page: Page, live_server: LiveServer, page_problems: PageProblems
) -> None:
    world = live_server.world
    admin, reporter = Api(live_server, world.admin), Api(live_server, world.reporter)
    code = admin.post(f"/api/v1/enterprises/{world.enterprise_a.id}/qrcodes", {}, status=201)
    body = {
        "qr_token": code["token"],
        "category": "electrical",
        "description": "插线板串接使用",
        "media_ids": [reporter.photo()],
    }
    hazard = reporter.post("/api/v1/hazards", body, status=201)["hazard"]
    supervisor = staff(live_server, Role.SUPERVISOR, region_id=world.district.id)
    path = f"/console/hazards/{hazard['id']}"

    # Only an enterprise's officer submits a fix (with its photos), and the console is not
    # theirs: the hazard's list of actions offers the form to this supervisor, so that its
    # photo upload meets the real API with a revoked login.
    def offer_the_fix_form(route: Route) -> None:
        answer = route.fetch()
        shown = answer.json()
        shown["actions"] = [*shown["actions"], "submit_fix"]
        route.fulfill(response=answer, body=json.dumps(shown))

    page.route(re.compile(rf"/api/v1/hazards/{hazard['id']}$"), offer_the_fix_form, times=1)
    log_in(page, live_server, supervisor, then=path)
    page.get_by_role("button", name="提交整改").click()
    dialog = page.get_by_role("dialog", name="提交整改")
    photos = dialog.get_by_role("button", name="整改后照片", exact=True)
    expect(photos).to_be_attached()

    revoke_logins(page, live_server, supervisor)
    photos.set_input_files(
        files=[{"name": "after.jpg", "mimeType": "image/jpeg", "buffer": plain_jpeg(64, 48)}]
    )

    expect_login_page_then_back(page, live_server, supervisor, path)
    assert [p for p in page_problems.all() if UNAUTHORIZED not in p] == []
    assert page_problems.all()
