"""The console's 双重预防 screens in headless Chromium on a desktop-sized window: an officer
registers a risk point, grades it by LEC watching the live D and level, saves it and sees the
colour in the enterprise's 四色 table; a checklist is written item by item, attached to a point
with its frequency and doer, and detached; the task-completion view shows the API's figures
for the district and each street, and an enterprise's tasks by day; a street supervisor
meets 「未找到」 at another street's enterprise. Every page is watched for console errors."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from playwright.sync_api import Page, expect

from service.core.clock import CHINA, china_date
from service.inspections import tasks
from tests.browser.conftest import LiveServer, PageProblems
from tests.browser.test_console import Api, browser_context, log_in, percent, screenshot

__all__ = ["browser_context"]  # the desktop-sized profile of the console's tests

_n = itertools.count(1)  # names unique in the live database the browser tests share


def choose(page: Page, label: str, option: str) -> None:
    """Picks an option of a select, as a person clicks it open and clicks the option."""
    # The select's placeholder lies over its input and takes the click, as it does a mouse's.
    page.get_by_role("combobox", name=label, exact=True).click(force=True)
    page.get_by_role("option", name=option, exact=True).click()
    expect(page.get_by_role("listbox", name=label, exact=True)).to_be_hidden()


def a_point(api: Api, enterprise_id: int, name: str | None = None) -> dict[str, Any]:
    name = name or f"控制台风险点{next(_n)}"
    body = {"enterprise_id": enterprise_id, "name": name, "kind": "equipment"}
    return api.post("/api/v1/points", body, status=201)


def test_an_officer_grades_a_point_by_lec_and_sees_its_colour_in_the_four_colour_table(
    page: Page, live_server: LiveServer, page_problems: PageProblems
) -> None:
    world = live_server.world
    api = Api(live_server, world.officer)
    name = f"液氯钢瓶库{next(_n)}"
    log_in(page, live_server, world.officer)
    # An officer's console opens on their own enterprise's 四色 table.
    expect(
        page.get_by_role("heading", name=f"风险四色 · {world.enterprise_a.name}")
    ).to_be_visible()
    assert f"enterprise={world.enterprise_a.id}" in page.url

    page.get_by_role("button", name="新增风险点").click()
    dialog = page.get_by_role("dialog", name="新增风险点")
    dialog.get_by_label("名称", exact=True).fill(name)
    dialog.get_by_label("责任人", exact=True).fill("张工")
    choose(page, "管控层级", "车间级")
    dialog.get_by_role("button", name="保存").click()
    expect(page.get_by_text(f"已新增风险点 {name}")).to_be_visible()
    row = page.get_by_role("row", name=name)
    expect(row.get_by_text("未评价")).to_be_visible()
    row.get_by_role("link", name=name).click()
    expect(page.get_by_role("heading", name=f"风险点 {name}")).to_be_visible()

    # A direct determination without its reason: the API's 422 shows under the field.
    form = page.get_by_role("form", name="风险评价")
    form.get_by_text("直接判定", exact=True).click()
    choose(page, "风险等级", "红 · 重大风险")
    form.get_by_role("button", name="保存评价").click()
    expect(
        form.get_by_text("直接判定须说明依据 / a direct determination needs its reason")
    ).to_be_visible()

    # LS: R = L × S on 1–5, 15–16 橙.
    form.get_by_text("LS 风险矩阵").click()
    choose(page, "可能性 L", "4 — 很可能")
    choose(page, "严重性 S", "4 — 严重")
    live = form.get_by_label("实时计算")
    expect(live).to_contain_text("R = L × S = 4 × 4 = 16")
    expect(live.get_by_text("橙 · 较大风险")).to_be_visible()

    form.get_by_text("LEC 作业条件危险性分析").click()
    choose(page, "可能性 L", "6 — 相当可能")
    choose(page, "暴露频率 E", "3 — 每周一次或偶然暴露")
    choose(page, "后果 C", "7 — 严重，重伤")
    live = form.get_by_label("实时计算")
    expect(live).to_contain_text("D = L × E × C = 6 × 3 × 7 = 126")
    expect(live.get_by_text("黄 · 一般风险")).to_be_visible()
    choose(page, "后果 C", "40 — 灾难，数人死亡")  # D = 720 > 320
    expect(live).to_contain_text("= 720")
    expect(live.get_by_text("红 · 重大风险")).to_be_visible()
    choose(page, "后果 C", "7 — 严重，重伤")
    form.get_by_label("评价人", exact=True).fill("安全科")
    form.get_by_role("button", name="保存评价").click()
    # The server's answer, not the preview, is what the page reports.
    expect(page.get_by_text("已保存：D = 126，黄 · 一般风险")).to_be_visible()
    history = page.get_by_label("评价记录", exact=True)
    expect(history.get_by_role("row").filter(has_text="L=6 E=3 C=7")).to_contain_text("126")
    screenshot(page, "console-assessment.png")

    # Its officer completes the point's description: a control measure.
    page.get_by_role("button", name="编辑风险点").click()
    dialog = page.get_by_role("dialog", name="编辑风险点")
    dialog.get_by_role("button", name="添加措施").click()
    dialog.get_by_label("措施内容 1").fill("设置氯气泄漏报警仪")
    dialog.get_by_role("button", name="保存").click()
    expect(page.get_by_text(f"已保存风险点 {name}")).to_be_visible()
    expect(page.get_by_text("【工程技术】设置氯气泄漏报警仪")).to_be_visible()

    point = next(
        p
        for p in api.get("/api/v1/points", enterprise_id=world.enterprise_a.id, page_size=100)[
            "items"
        ]
        if p["name"] == name
    )
    assert point["risk_level"] == "yellow" and point["control_level"] == "workshop"
    assert point["measures"] == [{"type": "engineering", "content": "设置氯气泄漏报警仪"}]
    [assessment] = api.get(f"/api/v1/points/{point['id']}/assessments")
    assert assessment["score"] == 126 and assessment["inputs"] == {"l": 6, "e": 3, "c": 7}

    page.get_by_role("link", name=f"返回 {world.enterprise_a.name} 的风险四色").click()
    row = page.get_by_role("row", name=name)
    expect(row.get_by_text("黄 · 一般风险")).to_be_visible()
    expect(row.get_by_text("LEC D=126")).to_be_visible()
    screenshot(page, "console-points.png")
    figures = api.get("/api/v1/stats/prevention", enterprise_id=world.enterprise_a.id)["figures"]
    expect(page.locator('[data-figure="yellow"] .card-figure')).to_have_text(
        str(figures["points_by_level"]["yellow"])
    )
    # Chromium logs the API's one 422 (the direct determination without reason); nothing else.
    refused = [p for p in page_problems.all() if "status of 422 (UNPROCESSABLE ENTITY)" in p]
    assert len(refused) == 1 and len(page_problems.all()) == 1


def test_a_checklist_is_written_item_by_item_then_attached_to_a_point_and_detached(
    page: Page, live_server: LiveServer, page_problems: PageProblems
) -> None:
    world = live_server.world
    api = Api(live_server, world.officer)
    point = a_point(api, world.enterprise_a.id)
    name = f"仓库月检清单{next(_n)}"
    log_in(page, live_server, world.officer, then="/console/checklists")
    page.get_by_role("button", name="新建清单").click()
    dialog = page.get_by_role("dialog", name="新建清单")
    dialog.get_by_label("清单名称").fill(name)
    dialog.get_by_label("排查内容 1").fill("灭火器压力在绿区")
    dialog.get_by_label("标准依据 1").fill("GB 50140")
    dialog.get_by_label("排查方法 1").fill("查看压力表")
    dialog.get_by_role("button", name="添加条目").click()
    dialog.get_by_label("排查内容 2").fill("安全出口畅通")
    dialog.get_by_role("button", name="保存").click()
    expect(page.get_by_text(f"已保存清单 {name}")).to_be_visible()
    expect(page.get_by_role("row", name=name)).to_be_visible()
    [checklist] = [
        c for c in api.get("/api/v1/checklists", page_size=100)["items"] if c["name"] == name
    ]
    assert [(i["content"], i["basis"], i["method"]) for i in checklist["items"]] == [
        ("灭火器压力在绿区", "GB 50140", "查看压力表"),
        ("安全出口畅通", "", ""),
    ]

    page.goto(f"{live_server.url}/console/points/{point['id']}")
    expect(page.get_by_role("heading", name=f"风险点 {point['name']}")).to_be_visible()
    choose(page, "选择清单", name)
    choose(page, "频次", "每周")
    page.get_by_role("form", name="关联排查清单").get_by_role("button", name="关联").click()
    expect(page.get_by_text(f"已关联清单 {name}")).to_be_visible()
    attached = page.get_by_label("已关联的排查清单", exact=True).get_by_role("row", name=name)
    expect(attached).to_contain_text("每周")
    expect(attached).to_contain_text("企业安全员")
    [attachment] = api.get(f"/api/v1/points/{point['id']}/checklists")
    assert attachment["checklist_id"] == checklist["id"]
    assert (attachment["frequency"], attachment["assignee_role"]) == ("week", "enterprise_officer")

    attached.get_by_role("button", name="解除关联").click()
    expect(page.get_by_text(f"已解除关联 {name}")).to_be_visible()
    expect(page.get_by_text("尚未关联排查清单")).to_be_visible()
    assert api.get(f"/api/v1/points/{point['id']}/checklists") == []
    assert page_problems.all() == []


def _tasks_over_the_last_days(live: LiveServer) -> dict[str, Any]:
    """A daily checklist at a point of 甲企业 with its tasks of the last five days (all
    overdue by now but one, done late) and a weekly one at 乙企业."""
    world = live.world
    officer = Api(live, world.officer)
    point = a_point(officer, world.enterprise_a.id)
    checklist = officer.post(
        "/api/v1/checklists",
        {"name": f"日检{next(_n)}", "items": [{"content": "现场无明火"}]},
        status=201,
    )
    body = {
        "checklist_id": checklist["id"],
        "frequency": "day",
        "assignee_role": "enterprise_officer",
    }
    officer.post(f"/api/v1/points/{point['id']}/checklists", body, status=201)
    admin = Api(live, world.admin)
    other = a_point(admin, world.enterprise_b.id)
    shared = admin.post(
        "/api/v1/checklists",
        {
            "name": f"周检{next(_n)}",
            "region_id": world.district.id,
            "items": [{"content": "台账齐全"}],
        },
        status=201,
    )
    body = {"checklist_id": shared["id"], "frequency": "week", "assignee_role": "inspector"}
    admin.post(f"/api/v1/points/{other['id']}/checklists", body, status=201)
    assert tasks.generate(live.ctx, days=6, now=datetime.now(UTC) - timedelta(days=5)) > 0
    mine = officer.get("/api/v1/tasks", point_id=point["id"], state="overdue")["items"]
    assert len(mine) >= 4
    late = officer.get(f"/api/v1/tasks/{mine[0]['id']}")
    answers = [{"item_id": i["id"], "outcome": "pass"} for i in late["items"]]
    officer.post(
        f"/api/v1/tasks/{late['id']}/submit", {"answers": answers, "lat": 31.23, "lng": 121.47}
    )
    return point


def test_the_completion_view_shows_the_api_figures_by_street_and_an_enterprises_tasks_by_day(
    page: Page, live_server: LiveServer, page_problems: PageProblems
) -> None:
    world = live_server.world
    point = _tasks_over_the_last_days(live_server)
    today = china_date(datetime.now(UTC))
    period = {"from": (today - timedelta(days=6)).isoformat(), "to": today.isoformat()}
    api = Api(live_server, world.district_supervisor)
    log_in(page, live_server, world.district_supervisor)
    page.get_by_role("menuitem", name="排查任务").click()
    expect(page.get_by_role("heading", name="排查任务 · 测试区")).to_be_visible()
    page.goto(f"{page.url}?from={period['from']}&to={period['to']}")
    expect(page.get_by_text(f"{period['from']} 至 {period['to']}")).to_be_visible()
    expect(page.get_by_role("heading", name="排查任务 · 测试区")).to_be_visible()

    summary = api.get("/api/v1/stats/prevention", **period)["figures"]
    assert summary["tasks_overdue"] > 0 and summary["tasks_done_late"] > 0
    cards = page.get_by_label("任务完成情况")
    expect(cards.locator('[data-figure="completion_rate"] .card-figure')).to_have_text(
        percent(summary["completion_rate"])
    )
    for key in (
        "tasks_due",
        "tasks_done_in_window",
        "tasks_done_late",
        "tasks_overdue",
        "points_out_of_control",
    ):
        expect(cards.locator(f'[data-figure="{key}"] .card-figure')).to_have_text(str(summary[key]))

    by_region = api.get("/api/v1/stats/prevention/regions", **period)
    assert [r["unit_name"] for r in by_region["rows"]] == ["甲街道", "乙街道"]
    table = page.get_by_label("各区域完成情况", exact=True)
    for unit in by_region["rows"]:
        row = table.get_by_role("row").filter(has_text=unit["unit_name"])
        f = unit["figures"]
        expect(row.locator('[data-figure="completion_rate"]')).to_have_text(
            percent(f["completion_rate"])
        )
        for key in ("tasks_due", "tasks_done_in_window", "tasks_overdue", "points_out_of_control"):
            expect(row.locator(f'[data-figure="{key}"]')).to_have_text(str(f[key]))

    # Drilling into 甲街道: its own figures.
    table.get_by_role("button", name="甲街道").click()
    expect(page.get_by_role("heading", name="排查任务 · 甲街道")).to_be_visible()
    street = api.get("/api/v1/stats/prevention", region_id=world.street_a.id, **period)["figures"]
    expect(cards.locator('[data-figure="tasks_due"] .card-figure')).to_have_text(
        str(street["tasks_due"])
    )

    # 甲企业's tasks, grouped by the day their window closes.
    choose(page, "任务日历的企业", world.enterprise_a.name)
    listed = api.get("/api/v1/tasks", enterprise_id=world.enterprise_a.id, page_size=100, **period)
    expect(page.get_by_text(f"共 {listed['total']} 项任务（按截止日排列）")).to_be_visible()
    overdue = [
        t for t in listed["items"] if t["point_id"] == point["id"] and t["state"] == "overdue"
    ]
    first = datetime.fromisoformat(overdue[-1]["window_start"]).astimezone(CHINA)
    day = page.get_by_role("region", name=f"{first.year}年{first.month}月{first.day}日")
    expect(day.get_by_role("row").filter(has_text=point["name"]).first).to_contain_text("逾期")
    screenshot(page, "console-prevention.png")
    assert page_problems.all() == []


def test_a_street_supervisor_meets_not_found_at_another_streets_enterprise(
    page: Page, live_server: LiveServer, page_problems: PageProblems
) -> None:
    world = live_server.world
    other = a_point(Api(live_server, world.admin), world.enterprise_b.id)
    log_in(page, live_server, world.street_supervisor, then="/console/points")
    expect(page.get_by_role("heading", name="风险四色", exact=True)).to_be_visible()
    # Its own enterprises are listed; the other street's are not.
    overview = page.get_by_label("各企业风险四色", exact=True)
    expect(overview.get_by_role("button", name=world.enterprise_a.name, exact=True)).to_be_visible()
    expect(overview.get_by_role("button", name=world.enterprise_b.name)).to_have_count(0)
    # No writes for a supervisor: the API would refuse them (403).
    expect(page.get_by_role("button", name="新增风险点")).to_have_count(0)

    for path in (
        f"/console/points?enterprise={world.enterprise_b.id}",
        f"/console/points/{other['id']}",
        f"/console/prevention?enterprise={world.enterprise_b.id}",
        f"/console/prevention?region={world.street_b.id}",
    ):
        page.goto(f"{live_server.url}{path}")
        expect(page.get_by_text("未找到")).to_be_visible()
    # Chromium logs the API's own 404 answers; nothing else may go wrong.
    assert [p for p in page_problems.all() if "status of 404 (NOT FOUND)" not in p] == []
