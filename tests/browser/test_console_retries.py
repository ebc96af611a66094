"""The console's creating writes are retry-safe: a submission whose answer was lost on the way
is sent again with the same Idempotency-Key, and the API makes one account / one code."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Route, expect

from tests.browser.conftest import LiveServer
from tests.browser.test_console import Api, log_in
from tests.factories import PASSWORD

_n = itertools.count(1)


@pytest.fixture
def browser_context(browser: Browser) -> Iterator[BrowserContext]:
    """A fresh desktop-sized profile: the console is for office screens."""
    context = browser.new_context(locale="zh-CN", viewport={"width": 1440, "height": 900})
    yield context
    context.close()


class LoseFirstAnswer:
    """Lets every POST to `path` reach the server, but drops the first answer on the way
    back (a network failure after the server did the work); notes each request's key."""

    def __init__(self, page: Page, pattern: str) -> None:
        self.keys: list[str] = []
        page.route(pattern, self._handle)

    def _handle(self, route: Route) -> None:
        if route.request.method != "POST":
            route.continue_()
            return
        self.keys.append(route.request.headers.get("idempotency-key", ""))
        if len(self.keys) == 1:
            route.fetch()  # the server answers; the page never hears it
            route.abort("connectionreset")
        else:
            route.continue_()


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
    log_in(page, live_server, world.admin, then="/console/enterprises")
    page.get_by_label("搜索企业").fill(enterprise.name)
    page.get_by_role("button", name="查询").click()
    page.get_by_role("row", name=enterprise.name).get_by_role("button", name="管理二维码").click()
    lost = LoseFirstAnswer(page, "**/api/v1/enterprises/*/qrcodes")
    page.get_by_role("button", name="生成新二维码").click()
    expect(page.get_by_text("网络不可用，请稍后重试")).to_be_visible()

    page.get_by_role("button", name="生成新二维码").click()
    expect(page.get_by_text("已生成二维码")).to_be_visible()
    assert len(lost.keys) == 2 and lost.keys[0] and lost.keys[0] == lost.keys[1]
    after = admin.get("/api/v1/qrcodes", enterprise_id=enterprise.id, page_size=100)["total"]
    assert after == before + 1
