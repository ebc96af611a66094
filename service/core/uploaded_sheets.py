"""Reading uploaded spreadsheets (the imports' CSV and XLSX files), hardened against hostile
files: XLSX through defusedxml with a bound on its unpacked size, sheets opened without
openpyxl's size scan, rows read lazily up to a cap, every parse failure one 415.
The writer of exports is `service.core.sheets`.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator, Sequence
from typing import Any

from openpyxl.reader.excel import ExcelReader
from openpyxl.worksheet._read_only import ReadOnlyWorksheet

from service.core.errors import DomainError, ValidationFailed

MAX_ROWS = 10_000  # filled rows after the header
# Blank rows are skipped, but reading stops at this sheet row: a sheet padded with empty
# rows (or one cell at row 1,048,576) is over the cap, not a million rows to look at.
MAX_SHEET_ROWS = 2 * MAX_ROWS + 1
MAX_COLUMNS = 100  # columns read; the templates have about ten
# openpyxl reads the shared strings whole when it opens a file, at ~0.6 s per MB of the
# smallest entries: the unpacked size bounds what a file can cost. A full 10,000-row
# file of the template unpacks to ~6 MB.
MAX_XLSX_UNPACKED_BYTES = 16 * 2**20


class UnsupportedImportFile(DomainError):
    status, code = 415, "unsupported_import_file"
    message, message_en = "只支持 CSV 或 XLSX 文件", "Only CSV or XLSX files are accepted"


def _over_cap(max_rows: int) -> ValidationFailed:
    return ValidationFailed(f"一次最多导入 {max_rows} 行", f"At most {max_rows} rows per file")


def _unreadable_xlsx() -> UnsupportedImportFile:
    return UnsupportedImportFile("XLSX 文件无法读取", "Unreadable XLSX file")


class _UnsizedSheet(ReadOnlyWorksheet):
    """A read-only sheet opened without openpyxl's size scan, which reads a sheet lacking a
    <dimension> element to its end (a 60 KB file of 400,000 rows: 2.6 s before its first
    row). Rows are asked for with explicit bounds instead."""

    def _get_size(self) -> None:
        pass


class _LazyReader(ExcelReader):
    """What load_workbook(read_only=True) runs (openpyxl 3.1), its sheets left unsized."""

    def read_worksheets(self) -> None:
        """Register each worksheet without reading it."""
        for sheet, rel in self.parser.find_sheets():
            if rel.target not in self.valid_files:
                continue
            if "chartsheet" in rel.Type:
                self.read_chartsheet(sheet, rel)
                continue
            ws = _UnsizedSheet(self.wb, sheet.name, rel.target, self.shared_strings)
            ws.sheet_state = sheet.state
            self.wb._sheets.append(ws)


def _xlsx_rows(data: bytes, max_sheet_rows: int) -> Iterator[Sequence[Any]]:
    """The first sheet's rows, parsed lazily (a row is read when it is asked for)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            # Declared sizes bound what zipfile unpacks, so they can be trusted here.
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise _unreadable_xlsx() from exc
    if unpacked > MAX_XLSX_UNPACKED_BYTES:
        raise UnsupportedImportFile(
            f"XLSX 文件解压后超过 {MAX_XLSX_UNPACKED_BYTES // 2**20} MB",
            f"The XLSX file unpacks to more than {MAX_XLSX_UNPACKED_BYTES // 2**20} MB",
        )
    # A hostile file can make openpyxl raise almost anything: ParseError (malformed XML),
    # defusedxml's EntitiesForbidden (a DOCTYPE declaring entities), KeyError (a missing
    # part), TypeError or IndexError (nonsense values), zlib.error, … Each means the file
    # cannot be read, so each is the one 415 (nothing of ours runs inside these blocks).
    try:
        reader = _LazyReader(io.BytesIO(data), read_only=True, data_only=True)
        reader.read()
        workbook = reader.wb
    except Exception as exc:
        raise _unreadable_xlsx() from exc
    try:
        try:
            rows = workbook.active.iter_rows(  # type: ignore[union-attr]
                max_row=max_sheet_rows + 1, max_col=MAX_COLUMNS, values_only=True
            )
        except Exception as exc:
            raise _unreadable_xlsx() from exc
        while True:
            try:
                values = next(rows)
            except StopIteration:
                return
            except Exception as exc:
                raise _unreadable_xlsx() from exc
            yield values
    finally:
        workbook.close()


def _csv_rows(data: bytes) -> Iterator[Sequence[Any]]:
    """The CSV's records, parsed lazily."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("gb18030")  # Excel on Chinese Windows saves CSV in GBK
        except UnicodeDecodeError as exc:
            raise UnsupportedImportFile("CSV 编码无法识别", "Unknown CSV encoding") from exc
    if "\x00" in text:
        raise UnsupportedImportFile()
    # newline="": the csv module's own line handling, so old-Mac "\r" endings work.
    records = csv.reader(io.StringIO(text, newline=""))
    while True:
        try:
            values = next(records)
        except StopIteration:
            return
        except csv.Error as exc:  # e.g. a field over the csv module's size limit
            raise UnsupportedImportFile("CSV 文件无法解析", "Unparseable CSV file") from exc
        yield values


def read_rows(
    filename: str, data: bytes, max_rows: int = MAX_ROWS
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (spreadsheet row number, {header: value}) of a CSV or XLSX upload; row 1 is the
    header. Reading stops at the cap: a file over it costs no more than one at it."""
    # Blank rows are skipped, but reading stops at this sheet row (see MAX_SHEET_ROWS).
    max_sheet_rows = 2 * max_rows + 1
    is_xlsx = data[:4] == b"PK\x03\x04" or filename.lower().endswith(".xlsx")
    rows = _xlsx_rows(data, max_sheet_rows) if is_xlsx else _csv_rows(data)
    header: list[str] | None = None
    filled = 0
    for number, values in enumerate(rows, start=1):
        if number > max_sheet_rows:
            raise _over_cap(max_rows)
        cells = ["" if v is None else str(v).strip() for v in values[:MAX_COLUMNS]]
        if header is None:
            header = cells
            continue
        if not any(cells):
            continue
        filled += 1
        if filled > max_rows:
            raise _over_cap(max_rows)
        yield number, dict(zip(header, cells, strict=False))
    if header is None:
        raise ValidationFailed("文件为空", "The file is empty", errors={"file": ["empty"]})


def header_map(
    sample: dict[str, Any], columns: dict[str, tuple[str, ...]], required: Sequence[str]
) -> dict[str, str]:
    """{field: the header naming it} from a row's headers, each field's accepted headers in
    `columns` (Chinese first); a missing required column is one 422 naming them all."""
    mapping: dict[str, str] = {}
    for name, aliases in columns.items():
        for alias in aliases:
            if alias in sample:
                mapping[name] = alias
                break
    missing = [columns[n][0] for n in required if n not in mapping]
    if missing:
        raise ValidationFailed(
            "缺少必填列：" + "、".join(missing),
            "Missing required columns: " + ", ".join(missing),
            errors={"columns": missing},
        )
    return mapping
