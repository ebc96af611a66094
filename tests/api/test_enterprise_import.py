"""Bulk import from CSV/XLSX with a per-row report; atomic or partial."""

import io

import openpyxl
import pytest
from openpyxl import Workbook
from sqlalchemy import select

from service.directory.models import Enterprise
from tests import hostile_sheets
from tests.api.helpers import assert_error
from uploads_schema.vocabulary import Industry, RiskColor

HEADER = ["统一社会信用代码", "企业名称", "地址", "纬度", "经度", "行业", "风险等级", "网格编码"]
GOOD_1 = "91350100M000100Y43"
GOOD_2 = "91110000600037341L"
BAD_SUM = "91350100M000100Y44"


def _rows(world):
    return [
        [GOOD_1, "一号企业", "路1号", "31.7", "119.9", "工贸", "黄", world.grid_a.code],
        [BAD_SUM, "校验位错企业", "路2号", "", "", "危化品", "红", world.grid_b.code],
        ["BAD", "格式错企业", "", "", "", "工贸", "蓝", world.grid_a.code],
        [GOOD_2, "未知网格企业", "", "", "", "工贸", "蓝", "NO-SUCH-GRID"],
        [
            world.enterprise_b.credit_code,
            "乙企业（更名）",
            "新地址",
            "",
            "",
            "粉尘涉爆",
            "橙",
            world.grid_b.code,
        ],
    ]


def _csv(rows, encoding="utf-8-sig"):
    lines = [",".join(HEADER)] + [",".join(r) for r in rows]
    return ("\n".join(lines) + "\n").encode(encoding)


def _post(client, headers, data, filename="enterprises.csv", mode=None):
    url = "/api/v1/enterprises/import" + (f"?mode={mode}" if mode else "")
    return client.post(
        url,
        data={"file": (io.BytesIO(data), filename)},
        headers=headers,
        content_type="multipart/form-data",
    )


def test_atomic_import_with_bad_rows_writes_nothing_and_reports_each_row(
    client, world, auth_header, db
):
    response = _post(client, auth_header(world.admin), _csv(_rows(world)))
    assert response.status_code == 200, response.json
    report = response.json
    assert report["mode"] == "atomic" and report["committed"] is False
    assert report["total"] == 5 and report["failed"] == 2
    by_row = {r["row"]: r for r in report["rows"]}
    assert by_row[2]["status"] == "ok"
    assert by_row[3]["status"] == "ok" and by_row[3]["warnings"] == ["credit_code_checksum"]
    assert by_row[4]["status"] == "error" and "credit_code" in by_row[4]["errors"]
    assert by_row[5]["status"] == "error" and "grid_code" in by_row[5]["errors"]
    assert by_row[6]["status"] == "ok" and by_row[6]["action"] == "updated"
    assert db.scalar(select(Enterprise).where(Enterprise.credit_code == GOOD_1)) is None
    db.refresh(world.enterprise_b)
    assert world.enterprise_b.name == "乙企业"


def test_partial_import_writes_the_good_rows(client, world, auth_header, db):
    response = _post(client, auth_header(world.admin), _csv(_rows(world)), mode="partial")
    report = response.json
    assert report["committed"] is True
    assert (report["created"], report["updated"], report["failed"]) == (2, 1, 2)
    created = db.scalar(select(Enterprise).where(Enterprise.credit_code == GOOD_1))
    assert created.industry is Industry.INDUSTRY_TRADE and created.risk_color is RiskColor.YELLOW
    assert created.grid_id == world.grid_a.id and created.lat == 31.7
    warned = db.scalar(select(Enterprise).where(Enterprise.credit_code == BAD_SUM))
    assert warned.credit_code_valid is False
    db.refresh(world.enterprise_b)
    assert world.enterprise_b.name == "乙企业（更名）"
    assert world.enterprise_b.industry is Industry.DUST_EXPLOSION


def test_a_clean_file_imports_atomically(client, world, auth_header, db):
    rows = [r for r in _rows(world) if r[0] in (GOOD_1, BAD_SUM)]
    report = _post(client, auth_header(world.admin), _csv(rows)).json
    assert report["committed"] is True and report["created"] == 2
    ids = [r["enterprise_id"] for r in report["rows"]]
    assert all(ids) and db.get(Enterprise, ids[0]).name == "一号企业"


def test_xlsx_files_import_like_csv(client, world, auth_header, db):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(HEADER)
    sheet.append([GOOD_1, "表格企业", "路9号", 31.75, 119.91, "有限空间", "蓝", world.grid_a.code])
    buffer = io.BytesIO()
    workbook.save(buffer)
    response = _post(client, auth_header(world.admin), buffer.getvalue(), "企业.xlsx")
    assert response.json["committed"] is True, response.json
    created = db.scalar(select(Enterprise).where(Enterprise.credit_code == GOOD_1))
    assert created.name == "表格企业" and created.lng == 119.91


def test_gbk_csv_from_chinese_excel_is_understood(client, world, auth_header, db):
    rows = [[GOOD_1, "国标编码企业", "", "", "", "工贸", "黄", world.grid_a.code]]
    response = _post(client, auth_header(world.admin), _csv(rows, "gb18030"))
    assert response.json["committed"] is True
    assert (
        db.scalar(select(Enterprise.name).where(Enterprise.credit_code == GOOD_1)) == "国标编码企业"
    )


def test_duplicate_codes_within_a_file_are_reported(client, world, auth_header):
    rows = [
        [GOOD_1, "甲", "", "", "", "工贸", "黄", world.grid_a.code],
        [GOOD_1, "乙", "", "", "", "工贸", "黄", world.grid_a.code],
    ]
    report = _post(client, auth_header(world.admin), _csv(rows), mode="partial").json
    assert [r["status"] for r in report["rows"]] == ["ok", "error"]


def test_missing_columns_are_named(client, world, auth_header):
    data = "企业名称,地址\n某企业,某地\n".encode()
    body = assert_error(_post(client, auth_header(world.admin), data), 422, "validation_error")
    assert "统一社会信用代码" in body["message"]


def test_binary_garbage_is_refused(client, world, auth_header):
    response = _post(client, auth_header(world.admin), b"\x00\x01\x02\xff" * 10, "x.csv")
    assert_error(response, 415, "unsupported_import_file")


def test_an_empty_file_is_refused(client, world, auth_header):
    assert_error(_post(client, auth_header(world.admin), b""), 422)


def test_only_admins_import(client, world, auth_header):
    response = _post(client, auth_header(world.district_supervisor), _csv(_rows(world)))
    assert_error(response, 403)


# --- hostile spreadsheets: refused cleanly, in the one error shape, never a 500 ---------


def _good_row(world):
    return [GOOD_1, "一号企业", "路1号", "31.7", "119.9", "工贸", "黄", world.grid_a.code]


def _imported(db) -> bool:
    return db.scalar(select(Enterprise).where(Enterprise.credit_code == GOOD_1)) is not None


@pytest.mark.parametrize(
    "build",
    [
        lambda world: hostile_sheets.malformed_sheet_xlsx(HEADER),
        lambda world: hostile_sheets.malformed_workbook_xlsx(),
        lambda world: hostile_sheets.billion_laughs_xlsx(HEADER),
        lambda world: hostile_sheets.external_entity_xlsx(HEADER),
        lambda world: hostile_sheets.internal_entity_xlsx(HEADER, _good_row(world)),
    ],
    ids=[
        "malformed-sheet",
        "malformed-workbook",
        "billion-laughs",
        "external-entity",
        "internal-entity",
    ],
)
def test_a_malformed_or_entity_carrying_xlsx_is_refused_cleanly(
    client, world, auth_header, db, build
):
    response = _post(client, auth_header(world.admin), build(world), "企业.xlsx")
    body = assert_error(response, 415, "unsupported_import_file")
    assert body["message_en"] == "Unreadable XLSX file"
    assert not _imported(db)


def test_an_external_entity_is_never_resolved(client, world, auth_header, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("91350100M000100Y43")  # a good code: resolving it would import a row
    data = hostile_sheets.external_entity_xlsx(HEADER, target=secret.as_uri())
    response = _post(client, auth_header(world.admin), data, "企业.xlsx")
    assert_error(response, 415, "unsupported_import_file")
    assert "91350100M000100Y43" not in response.get_data(as_text=True)


def test_openpyxl_parses_with_defusedxml():
    """openpyxl picks defusedxml up by itself when it is installed (and
    OPENPYXL_DEFUSEDXML is not "False"); the entity tests above rely on it."""
    assert openpyxl.DEFUSEDXML is True


def test_a_huge_row_xlsx_stops_at_the_row_cap(client, world, auth_header):
    # Its XML breaks off after the 400,000th row: a reader that got there would say so.
    data = hostile_sheets.many_rows_xlsx(HEADER, rows=400_000, broken_tail=True)
    assert len(data) < 100_000  # ~30 KB zipped, 10 MB of XML
    response = _post(client, auth_header(world.admin), data, "企业.xlsx")
    body = assert_error(response, 422, "validation_error")
    assert body["message_en"] == "At most 10000 rows per file"


def test_a_cell_a_million_rows_down_is_over_the_cap(client, world, auth_header):
    data = hostile_sheets.far_apart_rows_xlsx(HEADER)
    response = _post(client, auth_header(world.admin), data, "企业.xlsx")
    body = assert_error(response, 422, "validation_error")
    assert body["message_en"] == "At most 10000 rows per file"


def test_an_xlsx_that_unpacks_too_large_is_refused_before_it_is_parsed(client, world, auth_header):
    data = hostile_sheets.shared_strings_bomb_xlsx(1_100_000)  # ~19 MB of XML
    response = _post(client, auth_header(world.admin), data, "企业.xlsx")
    body = assert_error(response, 415, "unsupported_import_file")
    assert "16 MB" in body["message_en"]


def test_a_csv_over_the_row_cap_is_refused(client, world, auth_header, db):
    rows = [_good_row(world)] + [["x"] * len(HEADER)] * 10_000  # 10,001 filled rows
    body = assert_error(_post(client, auth_header(world.admin), _csv(rows)), 422)
    assert body["message_en"] == "At most 10000 rows per file"
    assert not _imported(db)


def test_blank_rows_are_skipped_up_to_the_sheet_row_limit(client, world, auth_header, db):
    good = ",".join(_good_row(world))
    padded = (",".join(HEADER) + "\n" + good + "\n" + "\n" * 15_000).encode()
    response = _post(client, auth_header(world.admin), padded)
    assert response.status_code == 200 and response.json["committed"] is True, response.json
    too_long = (",".join(HEADER) + "\n" + good + "\n" + "\n" * 20_000 + good + "\n").encode()
    body = assert_error(_post(client, auth_header(world.admin), too_long), 422)
    assert body["message_en"] == "At most 10000 rows per file"
