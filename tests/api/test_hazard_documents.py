"""隐患整改通知书 and 复查意见书: PDFs whose text is the hazard's own data, rendered by poppler,
scoped like the hazard, and only once the hazard has reached their stage."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tests.api.hazard_helpers import PLAN, in_days, report, scan_token, upload
from tests.api.helpers import assert_error
from tests.factories import make_user
from tests.pdf_tools import page_sizes_mm, pdf_text, render_pages
from uploads_schema.vocabulary import Role

CHINA = ZoneInfo("Asia/Shanghai")


def _flat(data: bytes) -> str:
    return "".join(pdf_text(data)).replace("\n", "").replace(" ", "")


def _local(iso: str) -> str:
    return f"{datetime.fromisoformat(iso).astimezone(CHINA):%Y年%m月%d日%H:%M}"


@pytest.fixture
def h(world, auth_header):
    names = ("admin", "district_supervisor", "street_supervisor", "inspector", "officer")
    return {name: auth_header(getattr(world, name)) for name in names} | {
        "reporter": auth_header(world.reporter)
    }


def step(client, headers, hid, action, body):
    answer = client.post(f"/api/v1/hazards/{hid}/{action}", json=body, headers=headers)
    assert answer.status_code == 200, answer.json
    return answer.json


@pytest.fixture
def reported(client, world, h):
    token = scan_token(client, h["admin"], world.enterprise_a.id)
    answer = report(client, h["inspector"], token, photos=2)  # a check by the grid inspector
    assert answer.status_code == 201, answer.json
    return answer.json["hazard"]


def _document(client, headers, hid, kind):
    return client.get(f"/api/v1/hazards/{hid}/documents/{kind}.pdf", headers=headers)


def test_the_notice_carries_the_hazard_its_photos_requirement_and_deadline(
    client, world, h, ctx, reported
):
    ctx.settings = ctx.settings.with_overrides(office_name="测试区应急管理局")
    hid = reported["id"]
    assert_error(_document(client, h["officer"], hid, "notice"), 409, "document_not_ready")
    body = {
        "assignee_id": world.officer.id,
        "deadline": in_days(7),
        "note": "更换破损电缆，加装防护门锁",
    }
    assigned = step(client, h["inspector"], hid, "assign", body)

    answer = _document(client, h["officer"], hid, "notice")
    assert answer.status_code == 200 and answer.mimetype == "application/pdf"
    assert "filename*=UTF-8''" in answer.headers["Content-Disposition"]
    assert f"notice-{reported['number']}.pdf" in answer.headers["Content-Disposition"]
    text = _flat(answer.data)
    year = datetime.now(CHINA).year
    for expected in (
        "测试区应急管理局",
        "隐患整改通知书",
        f"文书编号：整改〔{year}〕{reported['number']}号",
        world.enterprise_a.name,
        world.enterprise_a.credit_code,
        reported["number"],
        reported["description"].replace(" ", ""),
        "更换破损电缆，加装防护门锁",
        f"{_local(assigned['deadline'])}前",
        world.officer.display_name,
        "被检查单位负责人（签名）",
        "测试区应急管理局（盖章）",
        "隐患照片",
    ):
        assert expected in text, expected
    # 举报人信息保护: the enterprise receives this; the inspector who found and assigned the
    # hazard is named by role.
    assert "检查人员（签名）：网格员" in text and world.inspector.display_name not in text
    office_copy = _flat(_document(client, h["street_supervisor"], hid, "notice").data)
    assert f"检查人员（签名）：{world.inspector.display_name}" in office_copy
    pages = render_pages(answer.data)
    assert len(pages) == len(pdf_text(answer.data)) >= 1
    assert page_sizes_mm(answer.data)[0] == (210, 297)
    assert_error(_document(client, h["officer"], hid, "review"), 409, "document_not_ready")


def test_the_review_records_a_failed_then_a_passed_verification(client, world, h, reported):
    hid = reported["id"]
    body = {"assignee_id": world.officer.id, "deadline": in_days(7)}
    step(client, h["inspector"], hid, "assign", body)
    fix = {"note": "已更换电缆", "media_ids": [upload(client, h["officer"])]}
    step(client, h["officer"], hid, "submit-fix", fix)
    failed = step(client, h["inspector"], hid, "verify", {"passed": False, "note": "防护门锁未装"})
    text = _flat(_document(client, h["inspector"], hid, "review").data)
    assert "复查意见书" in text and "整改不合格，须重新整改" in text and "防护门锁未装" in text
    assert f"{_local(failed['deadline'])}前" in text
    assert world.inspector.display_name in text  # the office's own copy names its staff

    fix = {"note": "已加装门锁", "media_ids": [upload(client, h["officer"])]}
    step(client, h["officer"], hid, "submit-fix", fix)
    step(client, h["inspector"], hid, "verify", {"passed": True, "note": "复查合格"})
    answer = _document(client, h["officer"], hid, "review")
    text = _flat(answer.data)
    year = datetime.now(CHINA).year
    assert f"复查〔{year}〕{reported['number']}-2号" in text
    assert "整改合格，予以销号" in text and "复查合格" in text and "已加装门锁" in text
    assert "网格员" in text and world.inspector.display_name not in text
    assert len(render_pages(answer.data)) >= 1


def test_a_major_hazards_notice_lists_its_plan(client, world, h, reported):
    hid = reported["id"]
    step(client, h["officer"], hid, "plan", PLAN)
    major = {"assignee_id": world.officer.id, "deadline": in_days(20), "level": "major"}
    step(client, h["inspector"], hid, "assign", major)
    text = _flat(_document(client, h["district_supervisor"], hid, "notice").data)
    assert "重大隐患" in text and "五落实方案" in text
    assert PLAN["measures"] in text and PLAN["contingency_plan"] in text


def test_documents_are_scoped_like_the_hazard(client, db, world, h, reported, auth_header):
    hid = reported["id"]
    body = {"assignee_id": world.officer.id, "deadline": in_days(7)}
    step(client, h["inspector"], hid, "assign", body)
    other_street = make_user(db, Role.SUPERVISOR, region_id=world.street_b.id)
    other_officer = make_user(db, Role.ENTERPRISE_OFFICER, enterprise_id=world.enterprise_b.id)
    for outsider in (other_street, other_officer):
        assert_error(_document(client, auth_header(outsider), hid, "notice"), 404)
    assert_error(_document(client, h["officer"], 999999, "notice"), 404)
    assert_error(client.get(f"/api/v1/hazards/{hid}/documents/notice.pdf"), 401)
    for role in ("street_supervisor", "district_supervisor", "inspector", "admin"):
        assert _document(client, h[role], hid, "notice").status_code == 200, role
