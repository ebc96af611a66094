"""The one spreadsheet writer: formula text neutralised, text typed as text, numbers kept."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import datetime

import pytest
from openpyxl import load_workbook

from service.core.sheets import FORMULA_TRIGGERS, CsvSheet, XlsxBook, neutralise


@pytest.mark.parametrize("trigger", FORMULA_TRIGGERS)
def test_text_starting_with_a_trigger_gets_a_leading_quote(trigger):
    assert neutralise(f"{trigger}1+2") == f"'{trigger}1+2"


@pytest.mark.parametrize("value", ["配电箱=1+2", "'=already", "", " =1", "#N/A", "１２"])
def test_other_text_is_left_alone(value):
    assert neutralise(value) == value


@pytest.mark.parametrize("value", [-3, -2.5, 0, 7, None, datetime(2026, 10, 1, 9, 0)])
def test_numbers_negative_ones_too_and_other_values_pass_unchanged(value):
    assert neutralise(value) is value


def _csv(lines):
    sheet = CsvSheet()
    sheet.rows(lines)
    return sheet.take()


def test_csv_quotes_text_and_leaves_numbers_bare():
    text = _csv([["=1+2", -3, 2.5, "-3", 'a";=1+2', "x,=1"]])
    assert text == '\ufeff"\'=1+2",-3,2.5,"\'-3","a"";=1+2","x,=1"\r\n'
    assert next(csv.reader(io.StringIO(text[1:]))) == [
        "'=1+2",
        "-3",
        "2.5",
        "'-3",
        'a";=1+2',
        "x,=1",
    ]


def test_csv_is_taken_in_pieces():
    sheet = CsvSheet()
    sheet.row(["a"])
    first = sheet.take()
    sheet.row(["b"])
    assert (first, sheet.take(), sheet.take()) == ('\ufeff"a"\r\n', '"b"\r\n', "")


def _xlsx(lines):
    book = XlsxBook()
    book.sheet("表", ["标题"]).rows(lines)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_xlsx_text_cells_are_inline_strings_never_formulas_or_errors():
    data = _xlsx([["=1+2", "@SUM(A1)", "#N/A", "#DIV/0!", "\t-1", -3, 2.5, "-3"]])
    xml = zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml")
    assert b"<f>" not in xml and b't="e"' not in xml
    row = next(load_workbook(io.BytesIO(data))["表"].iter_rows(min_row=2))
    assert [c.value for c in row] == [
        "'=1+2",
        "'@SUM(A1)",
        "#N/A",
        "#DIV/0!",
        "'\t-1",
        -3,
        2.5,
        "'-3",
    ]
    assert [c.data_type for c in row] == ["s", "s", "s", "s", "s", "n", "n", "s"]


def test_xlsx_header_is_bold_text():
    cell = load_workbook(io.BytesIO(_xlsx([])))["表"]["A1"]
    assert (cell.value, cell.data_type, cell.font.b) == ("标题", "s", True)


def test_xlsx_replaces_characters_xml_cannot_carry():
    row = list(load_workbook(io.BytesIO(_xlsx([["a\x00b\x0bc\x1b"]])))["表"].iter_rows(min_row=2))
    assert row[0][0].value == "a\ufffdb\ufffdc\ufffd"
