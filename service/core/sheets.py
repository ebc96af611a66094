"""The one writer of every spreadsheet export, CSV and XLSX: text reaches the office as text.

Reports, names and descriptions come from people outside the office, and a spreadsheet
runs a cell that starts with a formula character (CSV or formula injection). Per OWASP's
CSV Injection guidance, a text cell that starts with `=`, `+`, `-`, `@`, a tab, a carriage
return or a line feed gets a leading `'`; CSV text fields are always quoted (quotes
doubled), so a separator or a quote inside a value cannot start a new cell; XLSX text
cells are typed inline strings, never formulas or error values. Numbers stay numbers.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any, BinaryIO

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n")


def neutralise(value: Any) -> Any:
    """A cell value as exported: text starting with a formula trigger gets a leading `'`;
    numbers, dates and empty cells pass unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


class CsvSheet:
    """CSV text for Excel (UTF-8 with BOM), taken in pieces so a long export can stream."""

    def __init__(self) -> None:
        self._buffer = io.StringIO()
        self._buffer.write("\ufeff")  # BOM: Excel then reads the file as UTF-8
        # Text quoted, numbers bare: a quoted field keeps `,` `;` `"` and line breaks inside
        # its cell, and a bare number stays a number (negative ones too).
        self._writer = csv.writer(self._buffer, quoting=csv.QUOTE_NONNUMERIC)

    def row(self, values: Sequence[Any]) -> None:
        """Append one line."""
        self._writer.writerow([neutralise(v) for v in values])

    def rows(self, lines: Iterable[Sequence[Any]]) -> None:
        """Append several lines."""
        for values in lines:
            self.row(values)

    def take(self) -> str:
        """The text written since the last take."""
        text = self._buffer.getvalue()
        self._buffer.seek(0)
        self._buffer.truncate()
        return text


class XlsxSheet:
    """One sheet of an `XlsxBook`, written row by row."""

    def __init__(self, sheet: Any) -> None:
        self._sheet = sheet

    def _cell(self, value: Any, font: Font | None = None) -> WriteOnlyCell:
        cell = WriteOnlyCell(self._sheet)
        if isinstance(value, str):
            # Characters XML 1.0 cannot carry (control codes) would make openpyxl refuse
            # the whole export; they show as U+FFFD instead.
            cell.value = neutralise(ILLEGAL_CHARACTERS_RE.sub("\ufffd", value))
            cell.data_type = "s"  # inline text, whatever it looks like ("#N/A", "=…")
        else:
            cell.value = value
        if font is not None:
            cell.font = font
        return cell

    def header(self, titles: Sequence[str]) -> None:
        """Append the bold title line."""
        bold = Font(bold=True)
        self._sheet.append([self._cell(title, bold) for title in titles])

    def row(self, values: Sequence[Any]) -> None:
        """Append one line."""
        self._sheet.append([self._cell(v) for v in values])

    def rows(self, lines: Iterable[Sequence[Any]]) -> None:
        """Append several lines."""
        for values in lines:
            self.row(values)


class XlsxBook:
    """An XLSX workbook written in streaming mode, one sheet after the other."""

    def __init__(self) -> None:
        self._workbook = Workbook(write_only=True)

    def sheet(self, title: str, header: Sequence[str]) -> XlsxSheet:
        """A new sheet, its title line written."""
        sheet = XlsxSheet(self._workbook.create_sheet(title))
        sheet.header(header)
        return sheet

    def save(self, out: BinaryIO) -> None:
        """Write the workbook to `out`."""
        self._workbook.save(out)
