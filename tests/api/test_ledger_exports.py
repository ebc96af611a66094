"""The 台账 an office files: typed cells, print set-up, every column it files, never the
reporter; the 重大隐患 台账 (一单四制) of its own. Opened with openpyxl as Excel would."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from service.statistics.exports import HAZARD_HEADER, MAJOR_HEADER
from tests.api.hazard_helpers import PLAN, in_days, report, scan_token, upload

CHINA = ZoneInfo("Asia/Shanghai")
HEADER_ROW = 4  # a title, the scope / period / time of making, a blank line, the header
COLUMN = {c.title: i for i, c in enumerate(HAZARD_HEADER)}
MAJOR_COLUMN = {c.title: i for i, c in enumerate(MAJOR_HEADER)}


def _local(iso: str) -> datetime:
    """An API time as the naive China wall-clock time a spreadsheet cell holds."""
    moment = datetime.fromisoformat(iso).astimezone(CHINA).replace(tzinfo=None)
    return moment.replace(second=0, microsecond=0)


def _minute(value: datetime) -> datetime:
    return value.replace(second=0, microsecond=0)


@pytest.fixture
def story(client, world, auth_header):
    """A named tip taken to 销号 with a verification note, and a 重大 hazard being fixed under
    its 五落实 plan: answers the hazards as the API shows them."""
    admin, reporter = auth_header(world.admin), auth_header(world.reporter)
    inspector, officer = auth_header(world.inspector), auth_header(world.officer)
    token = scan_token(client, admin, world.enterprise_a.id)

    def step(headers, hid, action, body):
        answer = client.post(f"/api/v1/hazards/{hid}/{action}", json=body, headers=headers)
        assert answer.status_code == 200, answer.json
        return answer.json

    tip = report(client, reporter, token, anonymous=False, description="配电箱门未关闭")
    assert tip.status_code == 201, tip.json
    closed = tip.json["hazard"]["id"]
    step(officer, closed, "assign", {"assignee_id": world.officer.id, "deadline": in_days(7)})
    fix = {"note": "已更换电缆并加锁", "media_ids": [upload(client, officer)]}
    step(officer, closed, "submit-fix", fix)
    step(inspector, closed, "verify", {"passed": True, "note": "验收合格，同意销号"})

    major = report(client, inspector, token, description="储罐区可燃气体报警器失效").json
    major_id = major["hazard"]["id"]
    step(officer, major_id, "plan", PLAN)
    assign = {"assignee_id": world.officer.id, "deadline": in_days(20), "level": "major"}
    step(inspector, major_id, "assign", assign)
    supervisor = auth_header(world.district_supervisor)
    return {
        "closed": client.get(f"/api/v1/hazards/{closed}", headers=supervisor).json,
        "major": client.get(f"/api/v1/hazards/{major_id}", headers=supervisor).json,
    }


def _get(client, world, auth_header, path):
    answer = client.get(path, headers=auth_header(world.district_supervisor))
    assert answer.status_code == 200, answer.get_data(as_text=True)[:300]
    return answer


def _assert_filed(sheet, columns: int, rows: int) -> None:
    """Frozen header, filter, the header repeated on each printed page, A4 landscape fitted
    to the page width."""
    last = sheet.cell(HEADER_ROW, columns).column_letter
    assert sheet.freeze_panes == f"A{HEADER_ROW + 1}"
    assert sheet.auto_filter.ref == f"A{HEADER_ROW}:{last}{HEADER_ROW + rows}"
    assert sheet.print_title_rows == f"${HEADER_ROW}:${HEADER_ROW}"
    assert sheet.page_setup.orientation == "landscape"
    assert int(sheet.page_setup.paperSize) == 9  # A4
    assert sheet.sheet_properties.pageSetUpPr.fitToPage is True
    assert (int(sheet.page_setup.fitToWidth), int(sheet.page_setup.fitToHeight)) == (1, 0)
    assert all(sheet.cell(HEADER_ROW, c).font.b for c in range(1, columns + 1))


def test_the_ledger_is_typed_filed_and_names_everyone_but_the_reporter(
    client, world, auth_header, story
):
    data = _get(client, world, auth_header, "/api/v1/stats/export.xlsx").data
    summary = _get(client, world, auth_header, "/api/v1/stats/summary").json
    book = load_workbook(io.BytesIO(data))
    sheet = book["隐患清单"]
    assert sheet["A1"].value == "隐患排查治理台账" and sheet["A1"].font.b
    top = sheet["A2"].value
    assert "统计范围：测试区" in top and summary["scope"]["from"] in top and "制表时间：" in top
    header = [c.value for c in sheet[HEADER_ROW]]
    assert header == [c.title for c in HAZARD_HEADER]
    assert "举报人" not in "".join(header)
    _assert_filed(sheet, len(HAZARD_HEADER), rows=2)
    assert sheet.column_dimensions["I"].width == 36  # 隐患描述, wide enough to read

    rows = {r[0].value: r for r in sheet.iter_rows(min_row=HEADER_ROW + 1)}
    closed, major = story["closed"], story["major"]
    row = rows[closed["number"]]

    def cell(title):
        return row[COLUMN[title]]

    assert cell("企业名称").value == world.enterprise_a.name
    assert cell("统一社会信用代码").value == world.enterprise_a.credit_code
    assert cell("整改责任人").value == world.officer.display_name
    assert cell("整改说明").value == "已更换电缆并加锁"
    assert cell("验收人").value == world.inspector.display_name
    assert cell("验收意见").value == "验收合格，同意销号"
    flags = (cell("状态").value, cell("是否逾期").value, cell("挂牌督办").value)
    assert flags == ("已销号", "否", "否")
    assert cell("控制台链接").value == f"https://mashangcha.test/console/hazards/{closed['id']}"
    # Times are date cells in China time, formatted as offices read them.
    for title, field in (
        ("上报时间", "created_at"),
        ("整改期限", "deadline"),
        ("原定期限", "original_deadline"),
        ("整改提交时间", "fix_submitted_at"),
        ("销号时间", "closed_at"),
    ):
        assert cell(title).is_date and cell(title).number_format == "yyyy-mm-dd hh:mm", title
        assert _minute(cell(title).value) == _local(closed[field]), title
    assert cell("重新整改次数").value == 0 and cell("重新整改次数").data_type == "n"
    plan = rows[major["number"]][COLUMN["五落实方案"]].value
    assert plan == (
        f"责任人：{PLAN['responsible_person']}；措施：{PLAN['measures']}；资金：{PLAN['funds']}"
        f"；时限：{PLAN['deadline']} 23:59；预案：{PLAN['contingency_plan']}"
    )
    assert rows[major["number"]][COLUMN["挂牌督办"]].value == "是"

    # 举报人信息保护: the named reporter appears nowhere in the workbook.
    text = "\n".join(
        str(c.value) for ws in book for line in ws.iter_rows() for c in line if c.value
    )
    assert world.reporter.display_name not in text and world.reporter.username not in text


def test_rates_are_numbers_with_a_percent_format_equal_to_the_statistics(
    client, world, auth_header, story
):
    data = _get(client, world, auth_header, "/api/v1/stats/export.xlsx").data
    figures = _get(client, world, auth_header, "/api/v1/stats/summary").json["figures"]
    book = load_workbook(io.BytesIO(data))
    sheet = book["汇总"]
    _assert_filed(sheet, 2, rows=20)
    values = {r[0].value: r[1] for r in sheet.iter_rows(min_row=HEADER_ROW + 1)}
    rate = values["整改率"]
    assert rate.data_type == "n" and rate.number_format == "0.00%"
    assert rate.value == figures["rectification_rate"] == 0.5
    assert values["上报隐患数"].value == figures["reported"] == 2
    assert values["生成时间"].is_date
    ranking = book["排名"]
    titles = [c.value for c in ranking[HEADER_ROW]]
    ranked = list(ranking.iter_rows(min_row=HEADER_ROW + 1))
    street = ranked[0]
    assert street[titles.index("整改率")].number_format == "0.00%"
    assert isinstance(street[titles.index("上报数")].value, int)


def test_the_major_hazard_ledger_has_its_plan_items_in_columns(client, world, auth_header, story):
    answer = _get(client, world, auth_header, "/api/v1/stats/major-hazards.xlsx")
    assert "filename*=UTF-8''" in answer.headers["Content-Disposition"]
    assert "major-hazards-" in answer.headers["Content-Disposition"]
    book = load_workbook(io.BytesIO(answer.data))
    assert book.sheetnames == ["重大隐患台账"]
    sheet = book["重大隐患台账"]
    assert sheet["A1"].value == "重大事故隐患台账（一单四制）"
    assert [c.value for c in sheet[HEADER_ROW]] == [c.title for c in MAJOR_HEADER]
    _assert_filed(sheet, len(MAJOR_HEADER), rows=1)
    row = next(sheet.iter_rows(min_row=HEADER_ROW + 1))
    major = story["major"]

    def cell(title):
        return row[MAJOR_COLUMN[title]].value

    assert cell("序号") == 1 and cell("隐患编号") == major["number"]
    assert cell("统一社会信用代码") == world.enterprise_a.credit_code
    assert (cell("责任人"), cell("整改措施"), cell("整改资金"), cell("应急预案")) == (
        PLAN["responsible_person"],
        PLAN["measures"],
        PLAN["funds"],
        PLAN["contingency_plan"],
    )
    assert _minute(cell("整改期限")) == _local(major["deadline"])
    assert _minute(cell("整改时限")) == datetime.fromisoformat(f"{PLAN['deadline']} 23:59")
    assert (cell("状态"), cell("挂牌督办"), cell("是否逾期")) == ("整改中", "是", "否")


def test_the_major_hazard_ledger_is_scoped(client, world, auth_header, story):
    answer = client.get("/api/v1/stats/major-hazards.xlsx", headers=auth_header(world.reporter))
    assert answer.status_code == 403


def test_the_csv_keeps_bom_sections_and_writes_times_and_rates_as_text(
    client, world, auth_header, story
):
    data = _get(client, world, auth_header, "/api/v1/stats/export.csv").data
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    sections = [r[0] for r in rows if r and r[0].startswith("【")]
    assert sections == ["【汇总】", "【排名】", "【双重预防】", "【隐患清单】"]
    start = rows.index(["【隐患清单】"])
    assert rows[start + 1] == [c.title for c in HAZARD_HEADER]
    listed = {r[0]: r for r in rows[start + 2 :]}
    closed = listed[story["closed"]["number"]]
    assert closed[COLUMN["上报时间"]] == f"{_local(story['closed']['created_at']):%Y-%m-%d %H:%M}"
    assert closed[COLUMN["验收人"]] == world.inspector.display_name
    summary = {r[0]: r[1] for r in rows[2 : rows.index([])]}
    assert summary["整改率"] == "50.00%"
    assert world.reporter.display_name not in data.decode("utf-8-sig")


def test_an_enterprise_officer_sees_who_verified_by_role_not_by_name(
    client, world, auth_header, story
):
    """举报人信息保护: office staff's names stay with the office (an inspector verifying here may
    have reported elsewhere); the enterprise learns the role."""
    answer = client.get("/api/v1/stats/export.xlsx", headers=auth_header(world.officer))
    assert answer.status_code == 200
    sheet = load_workbook(io.BytesIO(answer.data))["隐患清单"]
    rows = {r[0].value: r for r in sheet.iter_rows(min_row=HEADER_ROW + 1)}
    row = rows[story["closed"]["number"]]
    assert row[COLUMN["验收人"]].value == "网格员"
    assert row[COLUMN["验收意见"]].value == "验收合格，同意销号"
    assert row[COLUMN["整改责任人"]].value == world.officer.display_name
