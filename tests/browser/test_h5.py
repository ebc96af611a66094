"""The H5 pages for phones in headless Chromium, at two phone sizes with a mobile user
agent: a printed code's URL opens the report page; a revoked code says why. Every page is
watched for console errors and CSP violations."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.conftest import LiveServer, PageProblems

# Playwright's "iPhone SE" (375×667) and "iPhone 11" (414×896) descriptors, written out:
# the session's Playwright object is not at hand here, and these sizes are the ones to test.
_IOS_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 15_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/15.0 Mobile/15E148 Safari/604.1"
)
PHONES: dict[str, dict[str, Any]] = {
    "375x667": {
        "viewport": {"width": 375, "height": 667},
        "device_scale_factor": 2,
        "user_agent": _IOS_UA,
        "is_mobile": True,
        "has_touch": True,
    },
    "414x896": {
        "viewport": {"width": 414, "height": 896},
        "device_scale_factor": 2,
        "user_agent": _IOS_UA,
        "is_mobile": True,
        "has_touch": True,
    },
}


@pytest.fixture(params=sorted(PHONES))
def browser_context(request: pytest.FixtureRequest, browser: Browser) -> Iterator[BrowserContext]:
    """A fresh phone-sized profile with a mobile user agent (each test runs at both sizes)."""
    context = browser.new_context(locale="zh-CN", **PHONES[request.param])
    yield context
    context.close()


def issue_code(live: LiveServer, enterprise_id: int) -> dict[str, Any]:
    """A new code for the enterprise, issued by the admin through the API."""
    answer = requests.post(
        f"{live.url}/api/v1/enterprises/{enterprise_id}/qrcodes",
        json={},
        headers={"Authorization": f"Bearer {live.token(live.world.admin)}"},
        timeout=10,
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_a_printed_code_opens_the_report_page_of_its_enterprise(
    page: Page, live_server: LiveServer, page_problems: PageProblems
) -> None:
    code = issue_code(live_server, live_server.world.enterprise_a.id)
    page.goto(f"{live_server.url}/q/{code['token']}")
    expect(page.get_by_text("甲企业").first).to_be_visible()
    assert page_problems.all() == []


def test_a_revoked_code_says_so_in_chinese(
    page: Page, live_server: LiveServer, page_problems: PageProblems
) -> None:
    code = issue_code(live_server, live_server.world.enterprise_a.id)
    admin = {"Authorization": f"Bearer {live_server.token(live_server.world.admin)}"}
    revoked = requests.post(
        f"{live_server.url}/api/v1/qrcodes/{code['id']}/revoke", headers=admin, timeout=10
    )
    assert revoked.status_code == 200
    url = f"{live_server.url}/q/{code['token']}"
    answer = page.goto(url)
    assert answer is not None and answer.status == 410
    expect(page.get_by_role("heading", name="二维码不可用")).to_be_visible()
    expect(page.get_by_text("已停用")).to_be_visible()
    # Chromium reports the page's own status; nothing else may go wrong.
    gone = f"Failed to load resource: the server responded with a status of 410 (GONE) ({url})"
    assert page_problems.all() == [gone]
