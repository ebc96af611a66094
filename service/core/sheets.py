"""The one writer of every spreadsheet export, CSV and XLSX: text reaches the office as text.

Reports, names and descriptions come from people outside the office, and a spreadsheet
runs a cell that starts with a formula character (CSV or formula injection). Per OWASP's
CSV Injection guidance, a text cell that starts with `=`, `+`, `-`, `@`, a tab, a carriage
return or a line feed gets a leading `'`; CSV text fields are always quoted (quotes
doubled), so a separator or a quote inside a value cannot start a new cell; XLSX text
cells are typed inline strings, never formulas or error values. Numbers stay numbers.

Values are typed once for both: numbers, `Percent` ratios, and moments (aware datetimes,
shown in China time). XLSX keeps the types with a number format (42.86 % is the number
0.4286 formatted `0.00%`, a time is a date cell), CSV writes them as the text an office
reads ("42.86%", "2026-10-02 09:00").
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, BinaryIO

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from service.core.clock import to_china

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n")
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
DATE_FORMAT = "yyyy-mm-dd"
PERCENT_FORMAT = "0.00%"


class Percent(float):
    """A ratio shown as a percentage: 0.4286 is 42.86 %."""


def neutralise(value: Any) -> Any:
    """A cell value as exported: text starting with a formula trigger gets a leading `'`;
    numbers, dates and empty cells pass unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def local_moment(value: datetime) -> datetime:
    """An aware moment as a naive China wall-clock time (spreadsheets have no time zones)."""
    return to_china(value).replace(tzinfo=None) if value.tzinfo is not None else value


def _csv_value(value: Any) -> Any:
    if isinstance(value, Percent):
        return f"{value * 100:.2f}%"
    if isinstance(value, datetime):
        return f"{local_moment(value):%Y-%m-%d %H:%M}"
    if isinstance(value, date):
        return f"{value:%Y-%m-%d}"
    return neutralise(value)


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
        self._writer.writerow([_csv_value(v) for v in values])

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


@dataclass(frozen=True)
class Column:
    """A column of a filed sheet: its title and width (in characters)."""

    title: str
    width: float = 12


_BOLD = Font(bold=True)
_TITLE = Font(bold=True, size=16)
_WRAP = Alignment(wrap_text=True, vertical="top")


class XlsxSheet:
    """One sheet of an `XlsxBook`, written row by row."""

    def __init__(self, sheet: Any, header_row: int, columns: int) -> None:
        self._sheet = sheet
        self._header_row = header_row
        self._columns = columns
        self._last_row = header_row

    def _cell(self, value: Any, font: Font | None = None) -> WriteOnlyCell:
        cell = WriteOnlyCell(self._sheet)
        if isinstance(value, str):
            # Characters XML 1.0 cannot carry (control codes) would make openpyxl refuse
            # the whole export; they show as U+FFFD instead.
            cell.value = neutralise(ILLEGAL_CHARACTERS_RE.sub("\ufffd", value))
            cell.data_type = "s"  # inline text, whatever it looks like ("#N/A", "=…")
        elif isinstance(value, Percent):
            cell.value = float(value)
            cell.number_format = PERCENT_FORMAT
        elif isinstance(value, datetime):
            cell.value = local_moment(value)
            cell.number_format = DATETIME_FORMAT
        elif isinstance(value, date):
            cell.value = value
            cell.number_format = DATE_FORMAT
        else:
            cell.value = value
        if font is not None:
            cell.font = font
        return cell

    def header(self, titles: Sequence[str]) -> None:
        """Append the bold title line."""
        self._sheet.append([self._cell(title, _BOLD) for title in titles])

    def row(self, values: Sequence[Any]) -> None:
        """Append one line."""
        self._sheet.append([self._cell(v) for v in values])
        self._last_row += 1

    def rows(self, lines: Iterable[Sequence[Any]]) -> None:
        """Append several lines."""
        for values in lines:
            self.row(values)

    def finish(self) -> None:
        """The filter over the header and every row; known only once the rows are written."""
        last = get_column_letter(self._columns)
        self._sheet.auto_filter.ref = f"A{self._header_row}:{last}{self._last_row}"


class XlsxBook:
    """An XLSX workbook written in streaming mode, one sheet after the other: constant
    memory for any number of rows (openpyxl's write-only mode)."""

    def __init__(self) -> None:
        self._workbook = Workbook(write_only=True)
        self._sheets: list[XlsxSheet] = []

    def sheet(
        self,
        title: str,
        header: Sequence[str | Column],
        *,
        heading: Sequence[str] = (),
    ) -> XlsxSheet:
        """A new sheet filed as offices print them: the `heading` lines (a title, then scope,
        period and time of making) on top, the bold header row frozen, filtered and repeated
        on every printed page, A4 landscape fitted to the page width."""
        columns = [c if isinstance(c, Column) else Column(c) for c in header]
        ws = self._workbook.create_sheet(title)
        header_row = len(heading) + 2 if heading else 1
        # Everything before the first row is written with the sheet's top: set it first.
        for index, column in enumerate(columns, start=1):
            ws.column_dimensions[get_column_letter(index)].width = column.width
        ws.freeze_panes = f"A{header_row + 1}"
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ws.page_setup.orientation = "landscape"
        ws.page_setup.paperSize = "9"  # A4 (ECMA-376 paper size code)
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 0  # as many pages down as the rows need
        ws.print_options.gridLines = True
        ws.print_title_rows = f"{header_row}:{header_row}"
        sheet = XlsxSheet(ws, header_row, len(columns))
        for index, line in enumerate(heading):
            ws.append([sheet._cell(line, _TITLE if index == 0 else None)])
        if heading:
            ws.append([])
        sheet.header([c.title for c in columns])
        self._sheets.append(sheet)
        return sheet

    def save(self, out: BinaryIO) -> None:
        """Write the workbook to `out`."""
        for sheet in self._sheets:
            sheet.finish()
        self._workbook.save(out)
