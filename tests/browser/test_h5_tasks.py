"""An enterprise officer does a 双重预防 inspection task on a phone (375×667, headless
Chromium): scanning a risk point's code lists the tasks due there for them, the task page
takes every item 合格 / 不合格 / 不涉及 with a photo and a note for the failed one, and one
submit turns the failed item into exactly one hazard at that point with the photo (checked
through the API), also when the first answer is lost and the officer submits again (the
answers stay on screen and in the phone's storage). The 待办 page lists the same due
task under 排查任务, and no page logs a console error or a CSP violation."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from PIL import Image
from playwright.sync_api import Browser, BrowserContext, Page, Route, expect

from service.directory.models import User
from service.inspections import tasks
from tests.browser.conftest import LiveServer, PageProblems
from tests.browser.test_h5 import PHONES
from tests.factories import PASSWORD

_points = itertools.count(1)  # each point's name is unique in the shared database


@pytest.fixture
def browser_context(browser: Browser) -> Iterator[BrowserContext]:
    """The small phone, allowed to read its location (at 甲企业's gate, 12 m accuracy)."""
    context = browser.new_context(
        locale="zh-CN",
        geolocation={"latitude": 31.2304, "longitude": 121.4737, "accuracy": 12},
        permissions=["geolocation"],
        **PHONES["375x667"],
    )
    yield context
    context.close()


def _api(live: LiveServer, user: User, method: str, path: str, **kw: Any) -> Any:
    answer = requests.request(
        method,
        f"{live.url}/api/v1{path}",
        headers={"Authorization": f"Bearer {live.token(user)}"},
        timeout=30,
        **kw,
    )
    assert answer.status_code < 300, answer.text
    return answer.json()


def _point_with_a_due_task(live: LiveServer) -> tuple[dict[str, Any], str]:
    """A risk point of 甲企业 with a daily checklist for its officers, today's task
    generated, and the point's printed code."""
    world, officer = live.world, live.world.officer
    name = f"液氨储罐区{next(_points)}号"
    point = _api(
        live,
        officer,
        "POST",
        "/points",
        json={"enterprise_id": world.enterprise_a.id, "name": name, "kind": "equipment"},
    )
    checklist = _api(
        live,
        officer,
        "POST",
        "/checklists",
        json={
            "name": f"{name}日检",
            "items": [
                {"content": "储罐压力表在检定有效期内", "basis": "GB 150", "method": "查看标签"},
                {"content": "围堰内无积水、无杂物", "method": "现场查看"},
                {"content": "喷淋装置可正常启动"},
            ],
        },
    )
    _api(
        live,
        officer,
        "POST",
        f"/points/{point['id']}/checklists",
        json={
            "checklist_id": checklist["id"],
            "frequency": "day",
            "assignee_role": "enterprise_officer",
        },
    )
    code = _api(
        live,
        world.admin,
        "POST",
        f"/enterprises/{world.enterprise_a.id}/qrcodes",
        json={"point_name": name},
    )
    assert tasks.generate(live.ctx, days=1) >= 1
    return point, code["token"]


def _log_in(page: Page, live: LiveServer, user: User) -> None:
    page.goto(f"{live.url}/h5/login")
    page.get_by_label("账号").fill(user.username or "")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("tab").first).to_be_visible()


def test_an_officer_scans_a_point_and_a_failed_item_becomes_one_hazard_with_its_photo(
    page: Page, live_server: LiveServer, page_problems: PageProblems, tmp_path: Path
) -> None:
    live, world = live_server, live_server.world
    point, token = _point_with_a_due_task(live)
    photo = tmp_path / "gauge.jpg"
    Image.new("RGB", (1200, 900), (120, 120, 160)).save(photo, "JPEG", quality=90)
    note = f"压力表超期未检（{point['name']}）"

    _log_in(page, live, world.officer)
    page.get_by_role("tab", name="排查任务").click()
    expect(page.get_by_text(point["name"]).locator("visible=true").first).to_be_visible()

    page.goto(f"{live.url}/q/{token}")
    here = page.get_by_role("region", name="本点位的排查任务")
    expect(here.get_by_text(point["name"])).to_be_visible()
    here.get_by_text(point["name"]).click()

    items = page.locator("fieldset")
    expect(items).to_have_count(3)
    # Submitting before every item is answered is refused on the page.
    page.get_by_role("button", name="提交排查结果").click()
    expect(page.get_by_role("alert")).to_contain_text("请逐项选择")

    items.nth(0).get_by_role("radio", name="不合格").click()
    items.nth(1).get_by_role("radio", name="合格").filter(has_not_text="不合格").click()
    items.nth(2).get_by_role("radio", name="不涉及").click()
    failed = items.nth(0)
    failed.get_by_role("radio", name="特种设备").click()
    failed.get_by_label("问题说明").fill(note)
    failed.locator("input[type=file]").set_input_files(str(photo))
    expect(failed.get_by_text("已上传 1 张")).to_be_visible()

    # The first answer is lost on the way back (the server did the work): the answers stay
    # on screen and on the phone with the submit's key; submitting again acts once.
    lost: list[str] = []

    def drop_the_answer(route: Route) -> None:
        answer = route.fetch()
        lost.append(f"{answer.status} {route.request.headers.get('idempotency-key')}")
        route.abort("connectionreset")

    page.route("**/api/v1/tasks/*/submit", drop_the_answer, times=1)
    page.get_by_role("button", name="提交排查结果").click()
    expect(page.get_by_role("alert")).to_contain_text("已填写的内容保留在本机")
    expect(page.get_by_role("status").filter(has_text="精度约 12 米")).to_be_visible()
    expect(failed.get_by_label("问题说明")).to_have_value(note)
    expect(failed.get_by_text("已上传 1 张")).to_be_visible()
    expect(items.nth(2).get_by_role("radio", name="不涉及")).to_be_checked()
    task_id = int(page.url.rsplit("/", 1)[1])
    kept = page.evaluate(f"localStorage.getItem('mashangcha.task.{task_id}')")
    assert note in kept and lost[0].split(" ")[1] in kept  # the answers and the same key
    page.get_by_role("button", name="提交排查结果").click()
    expect(page.get_by_role("status").filter(has_text="发现隐患 1 条")).to_be_visible()
    assert len(lost) == 1 and lost[0].startswith("200 ")
    expect(page.get_by_role("button", name=re.compile("^查看隐患"))).to_have_count(1)

    # Through the API: the task is done and exactly one hazard exists at the point.
    found = _api(
        live,
        world.officer,
        "GET",
        "/hazards",
        params={"enterprise_id": world.enterprise_a.id, "page_size": 100},
    )
    assert found["total"] <= 100
    at_point = [h for h in found["items"] if h["point_id"] == point["id"]]
    assert len(at_point) == 1
    hazard = _api(live, world.officer, "GET", f"/hazards/{at_point[0]['id']}")
    assert note in hazard["description"]
    assert hazard["category"] == "special_equipment"
    assert len(hazard["photos"]["before"]) == 1
    # (near midnight in China the next day's task exists too, not yet done)
    done = _api(
        live, world.officer, "GET", "/tasks", params={"point_id": point["id"], "state": "done"}
    )["items"]
    assert [t["done_by_id"] for t in done] == [world.officer.id]
    results = _api(live, world.officer, "GET", f"/tasks/{done[0]['id']}")["results"]
    assert sorted(r["outcome"] for r in results) == ["fail", "not_applicable", "pass"]
    assert [r["hazard_id"] for r in results if r["hazard_id"]] == [hazard["id"]]
    # Chromium reports the dropped answer; nothing else went wrong.
    assert [p for p in page_problems.all() if "ERR_CONNECTION_RESET" not in p] == []
