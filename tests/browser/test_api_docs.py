"""The API docs page (/api/docs) in headless Chromium: it renders under its own CSP, lists
our operations, and "Try it out" answers with a bearer token."""

from __future__ import annotations

import re
import time

import requests
from playwright.sync_api import Page, expect

from tests.browser.conftest import LiveServer, PageProblems


def test_docs_page_lists_every_operation_without_console_errors_or_csp_violations(
    page: Page, live_server: LiveServer, page_problems: PageProblems
) -> None:
    spec = requests.get(f"{live_server.url}/api/openapi.json", timeout=10).json()
    page.goto(f"{live_server.url}/api/docs")
    assert page_problems.all() == []  # by the load event: the start-up script was allowed

    title = page.get_by_role("heading", name=re.compile("^码上查 Hazard Reporting API"))
    expect(title).to_be_visible()
    for tag in ("auth", "enterprises", "hazards", "qrcodes", "stats"):
        expect(page.get_by_role("heading", name=re.compile(rf"^{tag}\b"))).to_be_visible()
    # Swagger UI names each operation's button "<method> <path>".
    expect(page.get_by_role("button", name="post /api/v1/auth/login", exact=True)).to_be_visible()
    operations = [(m, p) for p, item in spec["paths"].items() for m in item if m != "parameters"]
    assert len(operations) > 40
    for method, path in operations:
        expect(page.get_by_role("button", name=f"{method} {path}", exact=True)).to_have_count(1)
    assert page_problems.all() == []


def test_try_it_out_with_a_bearer_token_answers_200_in_the_page(
    page: Page, live_server: LiveServer, page_problems: PageProblems
) -> None:
    world = live_server.world
    page.goto(f"{live_server.url}/api/docs")

    page.get_by_role("button", name="Authorize").click()
    token = live_server.token(world.district_supervisor)
    page.get_by_role("textbox", name="auth-bearer-value").fill(token)
    # The dialog's own Authorize button comes after the one that opened it.
    page.get_by_role("button", name="Authorize", exact=True).last.click()
    expect(page.get_by_role("heading", name="Authorized")).to_be_visible()
    page.get_by_role("button", name="Close").click()

    page.get_by_role("button", name="get /api/v1/enterprises", exact=True).click()
    page.get_by_role("button", name="Try it out").click()
    page.get_by_role("button", name="Execute").click()

    answer = page.get_by_role("row").filter(
        has=page.get_by_role("heading", name="Response body", exact=True)
    )
    expect(answer.get_by_role("cell").first).to_have_text("200")
    # The district's supervisor sees every enterprise of the district.
    for enterprise in (world.enterprise_a, world.enterprise_a2, world.enterprise_b):
        expect(answer).to_contain_text(enterprise.name)
    assert page_problems.all() == []


def test_the_page_watch_reports_a_blocked_inline_script(
    page: Page, live_server: LiveServer, page_problems: PageProblems
) -> None:
    """The watch the tests above rely on does see a CSP violation and a console error."""
    probe = f"{live_server.url}/csp-probe"
    page.route(
        probe,
        lambda route: route.fulfill(
            content_type="text/html",
            headers={"Content-Security-Policy": "script-src 'self'"},
            body="<!doctype html><p>probe</p><script>document.title = 'ran'</script>",
        ),
    )
    page.goto(probe)
    expect(page.get_by_text("probe")).to_be_visible()
    expect(page).not_to_have_title("ran")
    deadline = time.monotonic() + 10  # the violation is reported after the page loaded
    while not page_problems.csp_violations and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    assert any("script-src" in line for line in page_problems.csp_violations)
    assert any("Content Security Policy" in line for line in page_problems.console_errors)
