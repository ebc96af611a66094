"""The H5 pages for phones in headless Chromium, at two phone sizes with a mobile user
agent: a printed code's URL opens the report page; a revoked code says why. Every page is
watched for console errors and CSP violations."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Browser, BrowserContext, Page, Route, expect
from sqlalchemy import delete, select

from service.hazards.models import Hazard, HazardMedia
from service.media.models import Media
from tests import hostile
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


# The phones people scan with, for the layout and usability checks (tests/browser/
# test_h5_phones.py): the two sizes above, WeChat's in-app browser on Android (its X5/XWEB
# WebView) and on iOS (WKWebView), Android Chrome, and the small 320×568 screen.
_WECHAT_ANDROID_UA = (
    "Mozilla/5.0 (Linux; Android 13; V2148A Build/TP1A.220624.014; wv) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Version/4.0 Chrome/116.0.0.0 Mobile Safari/537.36 XWEB/1160065 "
    "MMWEBSDK/20231202 MMWEBID/2247 MicroMessenger/8.0.47.2560(0x28002F30) WeChat/arm64 "
    "Weixin NetType/WIFI Language/zh_CN ABI/arm64"
)
_WECHAT_IOS_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.44(0x18002c2c) NetType/WIFI "
    "Language/zh_CN"
)
_ANDROID_CHROME_UA = (
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Mobile Safari/537.36"
)


def _phone(width: int, height: int, scale: float, user_agent: str) -> dict[str, Any]:
    return {
        "viewport": {"width": width, "height": height},
        "device_scale_factor": scale,
        "user_agent": user_agent,
        "is_mobile": True,
        "has_touch": True,
    }


PROFILES: dict[str, dict[str, Any]] = {
    **PHONES,
    "wechat-android": _phone(393, 851, 2.75, _WECHAT_ANDROID_UA),
    "wechat-ios": _phone(390, 844, 3, _WECHAT_IOS_UA),
    "android-chrome": _phone(360, 800, 3, _ANDROID_CHROME_UA),
    "320x568": _phone(320, 568, 2, _IOS_UA),
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
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    page.goto(f"{live_server.url}/q/{code['token']}")
    expect(page.get_by_text("甲企业").first).to_be_visible()
    choose_category(page, "消防安全")
    expect(page.get_by_label("隐患类别")).to_have_value("消防安全")
    # The code's answer and the categories came inside the page: no API round trip.
    assert not [url for url in asked if "/api/v1/" in url], asked
    assert page_problems.all() == []


@pytest.mark.parametrize("change", ["absent", "stale", "broken"])
def test_without_its_data_block_the_report_page_asks_the_api(
    page: Page, live_server: LiveServer, page_problems: PageProblems, change: str
) -> None:
    code = issue_code(live_server, live_server.world.enterprise_a.id)
    other = issue_code(live_server, live_server.world.enterprise_b.id)

    def alter(route: Route) -> None:
        answer = route.fetch()
        html = answer.text()
        start = html.index('<script type="application/json" id="report-data">')
        end = html.index("</script>", start) + len("</script>")
        block = {
            "absent": "",
            "stale": html[start:end].replace(code["token"], other["token"]),
            "broken": '<script type="application/json" id="report-data">{"token":</script>',
        }[change]
        route.fulfill(response=answer, body=html[:start] + block + html[end:])

    page.route(f"**/q/{code['token']}", alter)
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    page.goto(f"{live_server.url}/q/{code['token']}")
    expect(page.get_by_text("甲企业").first).to_be_visible()
    choose_category(page, "消防安全")
    expect(page.get_by_label("隐患类别")).to_have_value("消防安全")
    assert f"{live_server.url}/api/v1/scan/{code['token']}" in asked
    assert f"{live_server.url}/api/v1/vocabulary" in asked
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


# --- an anonymous report from a printed code ------------------------------------------------


def phone_photo() -> bytes:
    """A 12-megapixel JPEG as a phone takes it: landscape pixels, EXIF saying "turn 90°"."""
    return hostile.plain_jpeg(4000, 3000, quality=85, exif=hostile.phone_exif(6))


def choose_category(page: Page, label: str) -> None:
    page.get_by_label("隐患类别").click()
    page.get_by_role("button", name=label).click()


def fill_report(page: Page, photos: list[bytes]) -> None:
    choose_category(page, "消防安全")
    page.get_by_label("隐患描述").fill("二号仓库安全出口被货物堵住")
    page.get_by_label("添加照片").set_input_files(
        [
            {"name": f"IMG_{n}.jpg", "mimeType": "image/jpeg", "buffer": data}
            for n, data in enumerate(photos)
        ]
    )
    tiles = page.get_by_role("listitem").filter(has=page.get_by_role("img"))
    expect(tiles).to_have_count(len(photos))
    # Each photo shows its own progress until it is stored; then nothing covers it.
    expect(page.get_by_role("progressbar")).to_have_count(0, timeout=60_000)
    expect(page.get_by_text("上传失败")).to_have_count(0)


def hazards_of(live: LiveServer, code_id: int) -> list[Hazard]:
    with live.ctx.session_factory() as session:
        return list(session.scalars(select(Hazard).where(Hazard.qrcode_id == code_id)))


def photos_of(live: LiveServer, hazard_id: int) -> list[Media]:
    with live.ctx.session_factory() as session:
        return list(
            session.scalars(
                select(Media)
                .join(HazardMedia, HazardMedia.media_id == Media.id)
                .where(HazardMedia.hazard_id == hazard_id)
                .order_by(HazardMedia.position)
            )
        )


# The bytes of each FormData / Blob body the page sends (file sizes plus text fields).
RECORD_UPLOADS = (Path(__file__).parent / "record_uploads.js").read_text()


def test_an_anonymous_report_with_two_photos_reaches_its_receipt_and_back(
    page: Page, live_server: LiveServer, page_problems: PageProblems, request: pytest.FixtureRequest
) -> None:
    code = issue_code(live_server, live_server.world.enterprise_a.id)
    # Chromium hands Playwright no body for a file upload: the page itself records the size
    # of each form it sends (an init script, which the CSP does not apply to).
    page.add_init_script(RECORD_UPLOADS)
    page.goto(f"{live_server.url}/q/{code['token']}")
    expect(page.get_by_text("甲企业").first).to_be_visible()
    fill_report(page, [phone_photo(), hostile.plain_jpeg(800, 600)])
    uploads = page.evaluate("window.__uploads")
    # A 12-megapixel photo travels shrunk; still a real photo of over 100 KB.
    assert len(uploads) == 2 and 100 * 1024 < max(uploads) <= 800 * 1024, uploads
    if request.node.callspec.params["browser_context"] == "375x667":
        screenshot(page, "h5-report.png")

    page.get_by_role("button", name="提交上报").click()
    expect(page.get_by_role("heading", name="回执码")).to_be_visible()
    key = page.get_by_test_id("receipt-key").inner_text().strip()
    assert len(key) >= 20
    expect(page.get_by_text("回执码只显示这一次")).to_be_visible()
    if request.node.callspec.params["browser_context"] == "375x667":
        screenshot(page, "h5-receipt.png")

    # Checked through the API and the database: one anonymous hazard with both photos,
    # the big one upright and no longer than 2560 px.
    receipt = requests.get(f"{live_server.url}/api/v1/receipts/{key}", timeout=10).json()
    assert receipt["enterprise_name"] == "甲企业" and receipt["category_label"] == "消防安全"
    (hazard,) = hazards_of(live_server, code["id"])
    assert hazard.number == receipt["number"] and hazard.anonymous and hazard.reporter_id is None
    assert hazard.description == "二号仓库安全出口被货物堵住"
    big, small = photos_of(live_server, hazard.id)
    assert (big.width, big.height) == (1920, 2560)
    assert (small.width, small.height) == (800, 600)

    page.get_by_role("link", name="查看处理进度").click()
    expect(page.get_by_text(receipt["number"])).to_be_visible()
    expect(page.get_by_text("已上报").first).to_be_visible()
    expect(page.get_by_text("上报 · 已上报")).to_be_visible()
    expect(page.get_by_text("甲企业")).to_be_visible()
    assert key not in page.url.split("#")[0]  # the key stays in the fragment
    page.go_back()
    expect(page.get_by_test_id("receipt-key")).to_have_text(key)
    assert page_problems.all() == []


def test_a_submit_whose_answer_was_lost_is_retried_into_one_hazard(
    page: Page, live_server: LiveServer, page_problems: PageProblems
) -> None:
    code = issue_code(live_server, live_server.world.enterprise_a2.id)
    page.goto(f"{live_server.url}/q/{code['token']}")
    fill_report(page, [hostile.plain_jpeg(640, 480)])

    dropped: list[int] = []

    def drop_the_answer(route: Route) -> None:
        if not dropped:
            answer = route.fetch()  # the report reaches the server and is stored …
            dropped.append(answer.status)
            route.abort("connectionreset")  # … but the phone never hears back
        else:
            route.continue_()

    page.route("**/api/v1/scan/*/hazards", drop_the_answer)
    page.get_by_role("button", name="提交上报").click()
    expect(page.get_by_text("网络不可用")).to_be_visible()
    assert dropped == [201] and len(hazards_of(live_server, code["id"])) == 1

    # What was typed and chosen is still there; the same submit again finds the same hazard.
    expect(page.get_by_label("隐患描述")).to_have_value("二号仓库安全出口被货物堵住")
    page.get_by_role("button", name="提交上报").click()
    expect(page.get_by_test_id("receipt-key")).to_be_visible()
    (hazard,) = hazards_of(live_server, code["id"])
    assert page.get_by_text(hazard.number).is_visible()
    # The aborted answer is the one failure the page saw.
    assert [p for p in page_problems.all() if "ERR_CONNECTION_RESET" not in p] == []


def test_offline_the_form_keeps_everything_and_says_so(
    page: Page,
    browser_context: BrowserContext,
    live_server: LiveServer,
    page_problems: PageProblems,
) -> None:
    code = issue_code(live_server, live_server.world.enterprise_a.id)
    page.goto(f"{live_server.url}/q/{code['token']}")
    fill_report(page, [hostile.plain_jpeg(640, 480)])
    browser_context.set_offline(True)
    expect(page.get_by_text("网络已断开")).to_be_visible()
    page.get_by_role("button", name="提交上报").click()
    expect(page.get_by_label("隐患描述")).to_have_value("二号仓库安全出口被货物堵住")
    expect(page.get_by_label("隐患类别")).to_have_value("消防安全")
    assert hazards_of(live_server, code["id"]) == []

    # A reload (the phone dropped the tab) still has the draft, photos included.
    browser_context.set_offline(False)
    page.reload()
    expect(page.get_by_label("隐患描述")).to_have_value("二号仓库安全出口被货物堵住")
    expect(page.get_by_role("listitem").filter(has=page.get_by_role("img"))).to_have_count(1)
    page.get_by_role("button", name="提交上报").click()
    expect(page.get_by_test_id("receipt-key")).to_be_visible()
    assert len(hazards_of(live_server, code["id"])) == 1
    assert [p for p in page_problems.all() if "ERR_INTERNET_DISCONNECTED" not in p] == []


def test_photos_expired_while_the_draft_waited_are_asked_for_again(
    page: Page, live_server: LiveServer, page_problems: PageProblems
) -> None:
    code = issue_code(live_server, live_server.world.enterprise_a.id)
    page.goto(f"{live_server.url}/q/{code['token']}")
    fill_report(page, [hostile.plain_jpeg(640, 480)])
    # The phone kept the draft for days: `flask media gc` removed the unused upload.
    with live_server.ctx.session_factory() as session:
        session.execute(delete(Media).where(Media.qrcode_id == code["id"]))
        session.commit()
    page.get_by_role("button", name="提交上报").click()
    expect(page.get_by_role("alert")).to_have_text(re.compile("照片已失效"))
    expect(page.get_by_role("listitem").filter(has=page.get_by_role("img"))).to_have_count(0)
    expect(page.get_by_label("隐患描述")).to_have_value("二号仓库安全出口被货物堵住")
    assert hazards_of(live_server, code["id"]) == []
    # The API's 422 is the one failure the page saw.
    assert [p for p in page_problems.all() if "status of 422" not in p] == []


def test_the_home_page_follows_a_receipt_key_typed_in(
    page: Page, live_server: LiveServer, page_problems: PageProblems
) -> None:
    page.goto(f"{live_server.url}/h5/")
    page.get_by_label("回执码").fill("NoSuchReceiptKey0000000x")
    page.get_by_role("button", name="查询").click()
    expect(page.get_by_text("没有找到该回执码")).to_be_visible()
    # The API's own 404 for the unknown key is the one failure the page saw.
    assert [p for p in page_problems.all() if "status of 404" not in p] == []


DOCS = Path(__file__).resolve().parents[2] / "docs"


def screenshot(page: Page, name: str) -> None:
    """The README's pictures, taken from the real page at 375×667 (with H5_SCREENSHOTS=1:
    a test run does not rewrite files of the project otherwise)."""
    if os.environ.get("H5_SCREENSHOTS") == "1":
        page.screenshot(path=str(DOCS / name), full_page=True)
