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

The XLSX is SpreadsheetML written row by row to a temporary file per sheet and zipped on
save: constant memory, and several times faster than openpyxl's write-only mode (whose
per-cell objects dominated a district's year), with the same cells.
"""

from __future__ import annotations

import csv
import io
import re
import shutil
import tempfile
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any, BinaryIO

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.utils import get_column_letter

from service.core.clock import to_china

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_SHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="'
    'http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1"'
    f' Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
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


# Cell styles of styles.xml, by index: the default, the bold header, the title, then the
# number formats of times, dates and percentages, and the table's text, wrapped within its
# column (a long enterprise name or description grows its row, never hides under the next).
_PLAIN, _BOLD, _TITLE, _DATETIME, _DATE, _PERCENT, _WRAP = range(7)
_FONT = '<sz val="{}"/><name val="Calibri"/><family val="2"/>'
_XF = '<xf numFmtId="{}" fontId="{}" fillId="0" borderId="0" xfId="0"{}/>'
# Times, dates and percentages sit at the top of a row grown by wrapped text, as the text does.
_TOP = (
    '<xf numFmtId="{}" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"'
    ' applyAlignment="1"><alignment vertical="top"/></xf>'
)
_STYLES = (
    f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<styleSheet xmlns="{_MAIN}">'
    f'<numFmts count="2"><numFmt numFmtId="164" formatCode="{DATETIME_FORMAT}"/>'
    f'<numFmt numFmtId="165" formatCode="{DATE_FORMAT}"/></numFmts>'
    f'<fonts count="3"><font>{_FONT.format(11)}</font><font><b/>{_FONT.format(11)}</font>'
    f"<font><b/>{_FONT.format(16)}</font></fonts>"
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="7">'
    + _XF.format(0, 0, "")
    + _XF.format(0, 1, ' applyFont="1"')
    + _XF.format(0, 2, ' applyFont="1"')
    + _TOP.format(164)
    + _TOP.format(165)
    + _TOP.format(10)  # built-in 10 is 0.00%
    + '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0" applyAlignment="1">'
    '<alignment vertical="top" wrapText="1"/></xf>'
    + '</cellXfs><cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/>'
    "</cellStyles></styleSheet>"
)
_EPOCH = datetime(1899, 12, 30)  # Excel's day 0 (with its 1900 leap-year quirk folded in)


def _xml(text: str) -> str:
    # Chained replace is several times faster than str.translate on short texts.
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


@lru_cache(maxsize=65536)
def _text_xml(value: str) -> str:
    """A text cell's content: XML 1.0 cannot carry control codes (they show as U+FFFD),
    formula triggers get their `'`; cached, as names and labels repeat down a sheet."""
    return _xml(neutralise(ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)))


ROW_HEIGHT = 15  # points, one line of the 11-point font
_MAX_LINES = 6  # a very long text shows its start; the cell keeps all of it


@lru_cache(maxsize=65536)
def _lines(text: str, width: float) -> int:
    """How many lines `text` takes wrapped in a column `width` characters wide (a Chinese
    character is about two), at most _MAX_LINES."""
    room = max(width - 1, 1)
    lines = 0
    for part in text.split("\n"):
        span = sum(2 if ord(c) >= 0x2E80 else 1 for c in part)
        lines += max(1, -(-span // room))
        if lines >= _MAX_LINES:
            return _MAX_LINES
    return int(lines)


def _serial(value: datetime | date) -> float:
    """Excel's serial day number of a (China wall-clock) time or a date."""
    moment = value if isinstance(value, datetime) else datetime(value.year, value.month, value.day)
    return (local_moment(moment) - _EPOCH).total_seconds() / 86400


class XlsxSheet:
    """One sheet of an `XlsxBook`, its rows written straight to a temporary file as
    SpreadsheetML: a district's year (≈ 200,000 rows) in seconds and constant memory."""

    def __init__(self, title: str, columns: Sequence[Column], heading: Sequence[str]) -> None:
        self.title = title
        self._columns = len(columns)
        self._letters = [get_column_letter(i) for i in range(1, len(columns) + 1)]
        self.header_row = len(heading) + 2 if heading else 1
        self.last_row = 0
        self._rows = tempfile.TemporaryFile()  # noqa: SIM115 (closed once copied, on save)
        for index, line in enumerate(heading):
            self._write([line], _TITLE if index == 0 else _PLAIN)
        if heading:
            self.last_row += 1  # a blank line between the heading and the table
        self._widths = [c.width for c in columns]
        self._write([c.title for c in columns], _BOLD)

    def _cell(self, ref: str, value: Any, style: int) -> str:
        s = f' s="{style}"' if style else ""
        if value is None:
            return ""
        if isinstance(value, str):
            # An inline string whatever it looks like ("#N/A", "=…"), never a formula.
            text = _text_xml(value)
            return f'<c r="{ref}"{s} t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>'
        if isinstance(value, bool):
            return f'<c r="{ref}"{s} t="b"><v>{int(value)}</v></c>'
        if isinstance(value, Percent):
            return f'<c r="{ref}" s="{_PERCENT}"><v>{float(value)!r}</v></c>'
        if isinstance(value, datetime):
            return f'<c r="{ref}" s="{_DATETIME}"><v>{_serial(value)!r}</v></c>'
        if isinstance(value, date):
            return f'<c r="{ref}" s="{_DATE}"><v>{_serial(value)!r}</v></c>'
        if isinstance(value, int | float):
            return f'<c r="{ref}"{s}><v>{value!r}</v></c>'
        raise TypeError(f"cannot write {type(value).__name__} to a spreadsheet")

    def _write(self, values: Sequence[Any], style: int = _PLAIN) -> None:
        self.last_row += 1
        n = self.last_row
        while len(self._letters) < len(values):  # a line may run past the header
            self._letters.append(get_column_letter(len(self._letters) + 1))
        cells = "".join(
            self._cell(f"{letter}{n}", value, style)
            for letter, value in zip(self._letters, values, strict=False)
        )
        height = ""
        if style == _WRAP:
            lines = max(
                (_lines(v, w) for v, w in zip(values, self._widths, strict=False)
                 if isinstance(v, str)),
                default=1,
            )  # fmt: skip
            if lines > 1:
                # Spreadsheet programs do not all grow a wrapped row when they open the file.
                height = f' ht="{ROW_HEIGHT * lines}" customHeight="1"'
        self._rows.write(f'<row r="{n}"{height}>{cells}</row>'.encode())

    def header(self, titles: Sequence[str]) -> None:
        """Append a bold line."""
        self._write(titles, _BOLD)

    def row(self, values: Sequence[Any]) -> None:
        """Append one line."""
        self._write(values, _WRAP)

    def rows(self, lines: Iterable[Sequence[Any]]) -> None:
        """Append several lines."""
        for values in lines:
            self._write(values, _WRAP)

    def copy_to(self, out: BinaryIO) -> None:
        """The whole worksheet XML: frozen below the header, widths, the rows, the filter
        over the table, A4 landscape fitted to the page width."""
        first = f"A{self.header_row + 1}"
        cols = "".join(
            f'<col min="{i}" max="{i}" width="{w}" customWidth="1"/>'
            for i, w in enumerate(self._widths, start=1)
        )
        out.write(
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{_MAIN}">'
            '<sheetPr><pageSetUpPr fitToPage="1"/></sheetPr>'
            f'<dimension ref="A1:{self._letters[-1]}{self.last_row}"/>'
            '<sheetViews><sheetView workbookViewId="0">'
            f'<pane ySplit="{self.header_row}" topLeftCell="{first}" activePane="bottomLeft"'
            ' state="frozen"/>'
            f'<selection pane="bottomLeft" activeCell="{first}" sqref="{first}"/>'
            "</sheetView></sheetViews>"
            f'<sheetFormatPr defaultRowHeight="15"/><cols>{cols}</cols><sheetData>'.encode()
        )
        self._rows.seek(0)
        shutil.copyfileobj(self._rows, out)
        self._rows.close()
        out.write(
            f'</sheetData><autoFilter ref="{self.filter_range}"/>'
            '<printOptions gridLines="1"/>'
            '<pageMargins left="0.5" right="0.5" top="0.75" bottom="0.75" header="0.3"'
            ' footer="0.3"/>'
            '<pageSetup paperSize="9" orientation="landscape" fitToWidth="1" fitToHeight="0"/>'
            "</worksheet>".encode()
        )

    @property
    def filter_range(self) -> str:
        return f"A{self.header_row}:{self._letters[self._columns - 1]}{self.last_row}"


class XlsxBook:
    """An XLSX workbook, sheet after sheet, each streamed to a temporary file and zipped on
    save: constant memory for any number of rows."""

    def __init__(self) -> None:
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
        sheet = XlsxSheet(title, columns, heading)
        self._sheets.append(sheet)
        return sheet

    def save(self, out: BinaryIO) -> None:
        """Write the workbook to `out`."""
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=4) as archive:
            archive.writestr("[Content_Types].xml", self._content_types())
            archive.writestr("_rels/.rels", _ROOT_RELS)
            archive.writestr("xl/workbook.xml", self._workbook())
            archive.writestr("xl/_rels/workbook.xml.rels", self._workbook_rels())
            archive.writestr("xl/styles.xml", _STYLES)
            for index, sheet in enumerate(self._sheets, start=1):
                with archive.open(f"xl/worksheets/sheet{index}.xml", "w") as part:
                    sheet.copy_to(part)

    def _content_types(self) -> str:
        sheets = "".join(
            f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="{_SHEET_TYPE}"/>'
            for i in range(1, len(self._sheets) + 1)
        )
        return (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Types xmlns="'
            'http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
            'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
            'officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-'
            f'officedocument.spreadsheetml.styles+xml"/>{sheets}</Types>'
        )

    def _workbook(self) -> str:
        sheets, names = [], []
        for index, sheet in enumerate(self._sheets):
            title = _xml(sheet.title)
            quoted = "'" + sheet.title.replace("'", "''") + "'"
            sheets.append(f'<sheet name="{title}" sheetId="{index + 1}" r:id="rId{index + 1}"/>')
            names.append(
                f'<definedName name="_xlnm._FilterDatabase" localSheetId="{index}" hidden="1">'
                f"{_xml(quoted)}!{_absolute(sheet.filter_range)}</definedName>"
                f'<definedName name="_xlnm.Print_Titles" localSheetId="{index}">'
                f"{_xml(quoted)}!${sheet.header_row}:${sheet.header_row}</definedName>"
            )
        return (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<workbook xmlns="{_MAIN}"'
            f' xmlns:r="{_REL}"><bookViews><workbookView/></bookViews>'
            f"<sheets>{''.join(sheets)}</sheets><definedNames>{''.join(names)}</definedNames>"
            "</workbook>"
        )

    def _workbook_rels(self) -> str:
        rels = [
            f'<Relationship Id="rId{i}" Type="{_REL}/worksheet" Target="worksheets/sheet{i}.xml"/>'
            for i in range(1, len(self._sheets) + 1)
        ]
        styles = len(self._sheets) + 1
        rels.append(f'<Relationship Id="rId{styles}" Type="{_REL}/styles" Target="styles.xml"/>')
        return (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="'
            f'http://schemas.openxmlformats.org/package/2006/relationships">{"".join(rels)}'
            "</Relationships>"
        )


def _absolute(cells: str) -> str:
    """`A4:X9` → `$A$4:$X$9`."""
    return ":".join(re.sub(r"([A-Z]+)(\d+)", r"$\1$\2", part) for part in cells.split(":"))
