"""The H5 pages on the phones people have: WeChat's in-app browser on Android and iOS,
Android Chrome, iOS Safari, and a small 320×568 screen besides the two main sizes. On every
profile one pass through the pages a reporter and a supervisor see checks what a thumb and
an eye need: no sideways scrolling, nothing cut off, rounded cards rounded, readable text,
tap targets of at least 44 px for the main actions. Then what people do with photos and codes
on those phones: the same photo picked twice, more than nine photos, a transparent PNG, an
upload that fails, a code revoked while its form is open."""

from __future__ import annotations

import io
import itertools
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from PIL import Image
from playwright.sync_api import Browser, BrowserContext, Page, Route, expect
from sqlalchemy import select

from service.directory.models import Grid
from service.media.models import Media
from tests import hostile
from tests.browser.conftest import LiveServer, PageProblems
from tests.browser.test_h5 import PROFILES, issue_code
from tests.browser.test_h5_staff import _log_in, _log_out, _tip
from tests.factories import make_enterprise

LONG_NAME = "江苏省常州市武进区高新技术产业开发区精密机械制造股份有限公司第二分公司"
LONG_POINT = "三号联合厂房东侧危险化学品暂存仓库"
_tips = itertools.count(1)
LONG_DESCRIPTION = (
    "二号仓库东侧安全出口被大量纸箱和托盘长期堵塞，消防通道宽度不足一米，"
    "灭火器压力表指针在红区且已过期未检，应急照明灯不亮，"
) * 3


@pytest.fixture(params=sorted(PROFILES))
def browser_context(request: pytest.FixtureRequest, browser: Browser) -> Iterator[BrowserContext]:
    """A fresh profile of one of the phones (each layout test runs on every one)."""
    context = browser.new_context(locale="zh-CN", **PROFILES[request.param])
    yield context
    context.close()


def _profile(name: str) -> Any:
    """Run a test on one named profile only (behaviour, not layout: one phone is enough)."""
    return pytest.mark.parametrize("browser_context", [name], indirect=True)


def _admin(live: LiveServer) -> dict[str, str]:
    return {"Authorization": f"Bearer {live.token(live.world.admin)}"}


def _long_named_code(live: LiveServer) -> dict[str, Any]:
    """A code of a point of an enterprise with a long name, as real registrations have."""
    with live.ctx.session_factory() as session:
        grid = session.get(Grid, live.world.grid_a.id)
        assert grid is not None
        enterprise = make_enterprise(session, grid, name=LONG_NAME)
        session.commit()
        enterprise_id = enterprise.id
    answer = requests.post(
        f"{live.url}/api/v1/enterprises/{enterprise_id}/qrcodes",
        json={"point_name": LONG_POINT},
        headers=_admin(live),
        timeout=10,
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


def _files(photos: list[bytes], kind: str = "image/jpeg") -> list[dict[str, Any]]:
    extension = "png" if kind == "image/png" else "jpg"
    return [
        {"name": f"IMG_{n}.{extension}", "mimeType": kind, "buffer": data}
        for n, data in enumerate(photos)
    ]


def _tiles(page: Page) -> Any:
    return page.get_by_role("listitem").filter(has=page.get_by_role("img"))


def _settled(page: Page) -> None:
    expect(page.get_by_role("progressbar")).to_have_count(0, timeout=60_000)


def _fill(page: Page, photos: list[bytes]) -> None:
    page.get_by_label("隐患类别").click()
    page.get_by_role("button", name="消防安全").click()
    page.get_by_label("隐患描述").fill("二号仓库安全出口被货物堵住")
    page.get_by_label("添加照片").set_input_files(_files(photos))
    expect(_tiles(page)).to_have_count(len(photos))
    _settled(page)


# What the eye and thumb need, measured in the page: each problem one line.
_LAYOUT = """(targets) => {
  const CLAMPED = '.card .van-cell__title > span';
  const width = document.documentElement.clientWidth;
  const problems = [];
  const name = (el) => `${el.tagName.toLowerCase()}.${[...el.classList].join('.')}`
    + ` "${(el.innerText || el.getAttribute('aria-label') || '').trim().slice(0, 20)}"`;
  const shown = (el) => {
    if (el.closest('.van-tab__panel-wrapper--inactive, .van-toast, [aria-hidden="true"]'))
      return false;
    const style = getComputedStyle(el);
    const box = el.getBoundingClientRect();
    return style.visibility !== 'hidden' && style.display !== 'none' && box.width > 0
      && box.height > 0;
  };
  const clipped = (el) => {
    for (let up = el.parentElement; up && up !== document.body; up = up.parentElement)
      if (getComputedStyle(up).overflowX !== 'visible') return true;
    return false;
  };
  if (document.documentElement.scrollWidth > width)
    problems.push(`the page is ${document.documentElement.scrollWidth}px wide on ${width}px`);
  for (const el of document.querySelectorAll('body *')) {
    if (!shown(el)) continue;
    const box = el.getBoundingClientRect();
    // Inside a box that clips or scrolls sideways (a tab strip, the swiped tab panels), the
    // box is what must fit, and it is checked itself.
    if ((box.right > width + 1 || box.left < -1) && !clipped(el))
      problems.push(`${name(el)} sticks out`);
    const text = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!text) continue;
    const style = getComputedStyle(el);
    if (parseFloat(style.fontSize) < 12) problems.push(`${name(el)}: ${style.fontSize} text`);
    // Cut off: clipped sideways, or to fewer lines (an ellipsis "重大待…" is cut off too);
    // a long description clamped on a list card is whole on its own page.
    const across = el.scrollWidth > el.clientWidth + 1 && style.overflowX !== 'visible';
    const down = el.scrollHeight > el.clientHeight + 1 && style.overflowY !== 'visible';
    if ((across || down) && !el.matches(CLAMPED)) problems.push(`${name(el)} is cut off`);
  }
  // A rounded card is cut square where something inside paints its own square background
  // over the card's corner (a Vant component with a background of its own, not clipped).
  const painted = (el) => {
    const color = getComputedStyle(el).backgroundColor;
    return color !== 'transparent' && !color.endsWith(', 0)');
  };
  const radius = (style, corner, box) => {
    const value = style[`border${corner}Radius`];
    return value.endsWith('%') ? parseFloat(value) / 100 * Math.min(box.width, box.height)
      : parseFloat(value);
  };
  for (const card of document.querySelectorAll('body *')) {
    const style = getComputedStyle(card);
    if (!shown(card) || style.overflowX !== 'visible' || style.overflowY !== 'visible') continue;
    const box = card.getBoundingClientRect();
    for (const [corner, x, y] of [['TopLeft', box.left + 1, box.top + 1],
        ['TopRight', box.right - 1, box.top + 1], ['BottomLeft', box.left + 1, box.bottom - 1],
        ['BottomRight', box.right - 1, box.bottom - 1]]) {
      const round = radius(style, corner, box);
      if (!(round >= 4)) continue;  // a point 1 px in from the corner is outside the curve
      const over = [...card.querySelectorAll('*')].find((el) => {
        if (!shown(el) || !painted(el)) return false;
        for (let up = el.parentElement; up !== card; up = up.parentElement)
          if (getComputedStyle(up).overflow !== 'visible') return false;
        const b = el.getBoundingClientRect();
        return b.left <= x && x <= b.right && b.top <= y && y <= b.bottom
          && radius(getComputedStyle(el), corner, b) < round - 1;
      });
      if (over) problems.push(`${name(card)}: ${name(over)} covers its rounded ${corner} corner`);
    }
  }
  for (const selector of targets) {
    const found = [...document.querySelectorAll(selector)].filter(shown);
    if (!found.length) problems.push(`no ${selector}`);
    for (const el of found) {
      const box = el.getBoundingClientRect();
      if (box.height < 44 || box.width < 44)
        problems.push(`${name(el)} is a ${Math.round(box.width)}×${Math.round(box.height)} target`);
    }
  }
  return problems;
}"""


def _layout_problems(page: Page, *targets: str) -> list[str]:
    page.wait_for_timeout(400)  # transitions (toasts, tabs) settle
    problems: list[str] = page.evaluate(_LAYOUT, list(targets))
    return problems


def test_every_page_fits_the_phone_and_its_thumb(
    page: Page, live_server: LiveServer, page_problems: PageProblems, tmp_path: Path
) -> None:
    code = _long_named_code(live_server)
    page.goto(f"{live_server.url}/q/{code['token']}")
    expect(page.get_by_text(LONG_POINT)).to_be_visible()
    _fill(page, [hostile.plain_jpeg(640, 480), hostile.plain_jpeg(480, 640)])
    assert (
        _layout_problems(
            page,
            ".van-field",  # 隐患类别, 隐患描述
            ".grid .add",  # 添加照片
            ".grid .remove",
            ".location",  # the whole row switches location on and off
            ".actions .van-button",  # 提交上报
        )
        == []
    )

    page.get_by_role("button", name="提交上报").click()
    expect(page.get_by_test_id("receipt-key")).to_be_visible()
    assert _layout_problems(page, ".actions .van-button", ".actions .link") == []
    page.get_by_role("link", name="查看处理进度").click()
    expect(page.get_by_text("上报 · 已上报")).to_be_visible()
    assert _layout_problems(page, ".van-button") == []

    # A supervisor's 待办 (the longest tab titles) with long descriptions on the cards.
    description = f"{LONG_DESCRIPTION}（第 {next(_tips)} 处）"  # unique in the shared database
    _tip(live_server, tmp_path, description)
    _log_in(page, live_server, live_server.world.street_supervisor)
    page.get_by_role("tab", name="挂牌督办").click()
    page.get_by_role("tab", name="整改中").click()
    page.get_by_role("tab").first.click()
    assert _layout_problems(page, ".van-tab") == []
    _log_out(page)
    _log_in(page, live_server, live_server.world.officer)
    card = page.locator(".card").filter(has_text=description)
    expect(card).to_be_visible()
    assert _layout_problems(page, ".van-tab", ".card") == []
    # A long description takes a few lines of a card, not the whole screen.
    box = card.bounding_box()
    viewport = page.viewport_size
    assert box is not None and viewport is not None and box["height"] <= 160, box
    card.click()
    expect(page.get_by_text("处理记录")).to_be_visible()
    assert _layout_problems(page, ".actions .van-button") == []
    assert page_problems.all() == []


def test_the_supervisors_tabs_are_whole_on_a_small_screen(
    page: Page, live_server: LiveServer, page_problems: PageProblems
) -> None:
    _log_in(page, live_server, live_server.world.street_supervisor)
    for title in ["重大待验收", "整改中", "挂牌督办", "逾期"]:
        expect(page.get_by_role("tab", name=title)).to_be_visible()
    assert _layout_problems(page, ".van-tab") == []
    assert page_problems.all() == []


# --- photos ------------------------------------------------------------------------------


@_profile("wechat-android")
def test_the_same_photo_picked_twice_is_kept_once_and_said(
    page: Page, live_server: LiveServer, page_problems: PageProblems
) -> None:
    code = issue_code(live_server, live_server.world.enterprise_a.id)
    page.goto(f"{live_server.url}/q/{code['token']}")
    photo, other = hostile.plain_jpeg(640, 480), hostile.plain_jpeg(480, 640)
    _fill(page, [photo])
    page.get_by_label("添加照片").set_input_files(_files([photo, other]))
    expect(page.get_by_text("这张照片已经添加过")).to_be_visible()
    expect(_tiles(page)).to_have_count(2)
    _settled(page)

    # The report goes through with both photos (a repeated one would be refused as a
    # duplicate and every photo asked for again).
    page.get_by_role("button", name="提交上报").click()
    expect(page.get_by_test_id("receipt-key")).to_be_visible()
    assert page_problems.all() == []


@_profile("android-chrome")
def test_more_than_nine_photos_keep_nine_and_say_so(
    page: Page, live_server: LiveServer, page_problems: PageProblems
) -> None:
    code = issue_code(live_server, live_server.world.enterprise_a2.id)
    page.goto(f"{live_server.url}/q/{code['token']}")
    page.get_by_label("添加照片").set_input_files(
        _files([hostile.plain_jpeg(200 + n, 150) for n in range(11)])
    )
    expect(page.get_by_text("最多 9 张照片，另外 2 张未添加")).to_be_visible()
    expect(_tiles(page)).to_have_count(9)
    # With nine, the page says why there is nothing more to add.
    expect(page.get_by_label("添加照片")).to_have_count(0)
    expect(page.get_by_text("已达 9 张上限")).to_be_visible()
    _settled(page)
    page.get_by_role("button", name="删除照片 9").click()
    expect(page.get_by_label("添加照片")).to_have_count(1)
    assert page_problems.all() == []


@_profile("wechat-ios")
def test_a_transparent_png_travels_as_a_jpeg_on_white(
    page: Page, live_server: LiveServer, page_problems: PageProblems
) -> None:
    code = issue_code(live_server, live_server.world.enterprise_a.id)
    page.goto(f"{live_server.url}/q/{code['token']}")
    page.get_by_label("添加照片").set_input_files(
        _files([hostile.plain_png(400, 300)], kind="image/png")
    )
    _settled(page)
    expect(page.get_by_text("上传失败")).to_have_count(0)
    with live_server.ctx.session_factory() as session:
        (media,) = session.scalars(select(Media).where(Media.qrcode_id == code["id"]))
        key = media.key
    stored = Image.open(io.BytesIO(live_server.ctx.storage.get(key)))
    assert stored.format == "JPEG"
    # The left half was transparent: white on paper, as the phone's gallery shows it.
    red, green, blue = stored.convert("RGB").getpixel((20, 150))
    assert min(red, green, blue) > 235, (red, green, blue)
    assert page_problems.all() == []


def _refuse_uploads(status: int, code: str, message: str) -> Any:
    body = {"status": status, "code": code, "message": message, "message_en": code, "errors": {}}

    def refuse(route: Route) -> None:
        route.fulfill(status=status, content_type="application/json", body=json.dumps(body))

    return refuse


@_profile("320x568")
def test_a_failed_upload_says_why_and_is_sent_again_on_retry(
    page: Page, live_server: LiveServer, page_problems: PageProblems
) -> None:
    code = issue_code(live_server, live_server.world.enterprise_a.id)
    page.goto(f"{live_server.url}/q/{code['token']}")
    uploads = "**/api/v1/scan/*/media"
    page.route(uploads, lambda route: route.abort("connectionreset"))
    page.get_by_label("添加照片").set_input_files(_files([hostile.plain_jpeg(640, 480)]))
    tile = page.get_by_role("listitem", name="照片 1")
    reasons = page.get_by_role("alert")
    expect(reasons).to_contain_text("照片 1 未上传：网络不可用")
    retry = tile.get_by_role("button", name="重试")
    assert _layout_problems(page, ".grid .retry", ".grid .remove") == []

    page.unroute(uploads)
    storage_down = _refuse_uploads(503, "storage_unavailable", "文件存储暂时不可用，请稍后重试")
    page.route(uploads, storage_down)
    retry.click()
    expect(reasons).to_contain_text("照片 1 未上传：文件存储暂时不可用")
    assert _layout_problems(page, ".grid .retry", ".grid .remove") == []

    page.unroute(uploads)
    retry.click()
    _settled(page)
    expect(tile.get_by_role("button", name="重试")).to_have_count(0)
    expect(page.get_by_text("未上传")).to_have_count(0)
    failures = ("ERR_CONNECTION_RESET", "status of 503")
    assert [p for p in page_problems.all() if not any(f in p for f in failures)] == []


# --- codes ---------------------------------------------------------------------------------


@_profile("wechat-android")
def test_a_code_revoked_while_its_form_is_open_says_so_and_keeps_the_text(
    page: Page, live_server: LiveServer, page_problems: PageProblems
) -> None:
    code = issue_code(live_server, live_server.world.enterprise_a.id)
    page.goto(f"{live_server.url}/q/{code['token']}")
    _fill(page, [hostile.plain_jpeg(640, 480)])
    revoke = f"{live_server.url}/api/v1/qrcodes/{code['id']}/revoke"
    revoked = requests.post(revoke, headers=_admin(live_server), timeout=10)
    assert revoked.status_code == 200
    page.get_by_role("button", name="提交上报").click()

    # Said where it stays (not a toast that is gone in three seconds), with what to do.
    alert = page.get_by_role("alert").filter(has_text="该二维码已停用")
    expect(alert).to_be_visible()
    page.wait_for_timeout(3500)
    expect(alert).to_be_visible()
    expect(alert).to_contain_text("请扫描现场张贴的有效二维码")
    # What was typed is still there to copy; the button no longer offers to submit.
    expect(page.get_by_label("隐患描述")).to_have_value("二号仓库安全出口被货物堵住")
    expect(page.get_by_role("button", name="二维码已停用")).to_be_disabled()
    assert [p for p in page_problems.all() if "status of 410" not in p] == []


@_profile("375x667")
def test_a_phone_without_crypto_random_uuid_still_reports(
    page: Page, live_server: LiveServer, page_problems: PageProblems
) -> None:
    # iOS Safari before 15.4 (the 375×667 profile says iOS 15.0), and WeChat on it, have
    # crypto.getRandomValues but no crypto.randomUUID, which the Idempotency-Key came from.
    page.add_init_script("delete Crypto.prototype.randomUUID")
    code = issue_code(live_server, live_server.world.enterprise_a2.id)
    page.goto(f"{live_server.url}/q/{code['token']}")
    _fill(page, [hostile.plain_jpeg(640, 480)])
    keys: list[str] = []
    page.on(
        "request",
        lambda request: (
            keys.append(request.headers.get("idempotency-key", ""))
            if request.url.endswith("/hazards")
            else None
        ),
    )
    page.get_by_role("button", name="提交上报").click()
    expect(page.get_by_test_id("receipt-key")).to_be_visible()
    uuid4 = r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
    assert len(keys) == 1 and re.fullmatch(uuid4, keys[0]), keys
    assert page_problems.all() == []
