"""Bulk enterprise import from CSV or XLSX with a per-row report.

Modes: `atomic` (default) writes nothing unless every row is good; `partial` writes the
good rows and reports the bad ones. Rows are keyed by 统一社会信用代码: an existing code
is updated, a new one created.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from openpyxl.reader.excel import ExcelReader
from openpyxl.worksheet._read_only import ReadOnlyWorksheet
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from service.access.scoping import Actor
from service.core.context import Context
from service.core.errors import DomainError, ValidationFailed
from service.directory import credit_code
from service.directory.enterprises import CHECKSUM_WARNING, _apply_changes, _create
from service.directory.models import Enterprise, Grid
from service.directory.regions import require_admin
from uploads_schema.vocabulary import INDUSTRY_LABELS, RISK_LABELS, ImportMode, Industry, RiskColor

MAX_ROWS = 10_000  # filled rows after the header
# Blank rows are skipped, but reading stops at this sheet row: a sheet padded with empty
# rows (or one cell at row 1,048,576) is over the cap, not a million rows to look at.
MAX_SHEET_ROWS = 2 * MAX_ROWS + 1
MAX_COLUMNS = 100  # columns read; the template has nine
# openpyxl reads the shared strings whole when it opens a file, at ~0.6 s per MB of the
# smallest entries: the unpacked size bounds what a file can cost. A full 10,000-row
# file of the template unpacks to ~6 MB.
MAX_XLSX_UNPACKED_BYTES = 16 * 2**20


class UnsupportedImportFile(DomainError):
    status, code = 415, "unsupported_import_file"
    message, message_en = "只支持 CSV 或 XLSX 文件", "Only CSV or XLSX files are accepted"


# Column headers accepted, Chinese first (the template), English aliases second.
COLUMNS: dict[str, tuple[str, ...]] = {
    "credit_code": ("统一社会信用代码", "credit_code"),
    "name": ("企业名称", "name"),
    "address": ("地址", "address"),
    "lat": ("纬度", "lat"),
    "lng": ("经度", "lng"),
    "industry": ("行业", "industry"),
    "risk_color": ("风险等级", "risk_color"),
    "grid_code": ("网格编码", "grid_code"),
    "active": ("在营", "active"),
}
REQUIRED = ("credit_code", "name", "industry", "risk_color", "grid_code")

_INDUSTRY_BY_TEXT = {label: ind for ind, label in INDUSTRY_LABELS.items()} | {
    ind.value: ind for ind in Industry
}
_RISK_BY_TEXT = (
    {label: c for c, label in RISK_LABELS.items()}
    | {label + "色": c for c, label in RISK_LABELS.items()}
    | {
        "重大": RiskColor.RED,
        "较大": RiskColor.ORANGE,
        "一般": RiskColor.YELLOW,
        "低": RiskColor.BLUE,
    }
    | {c.value: c for c in RiskColor}
)
_TRUE = {"1", "true", "yes", "是", "y"}
_FALSE = {"0", "false", "no", "否", "n"}


@dataclass
class RowReport:
    row: int
    status: str  # "ok" or "error"
    credit_code: str | None = None
    action: str | None = None  # "created" | "updated"
    enterprise_id: int | None = None
    warnings: list[str] = field(default_factory=list)
    errors: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class ImportReport:
    mode: ImportMode
    committed: bool
    total: int
    created: int
    updated: int
    failed: int
    rows: list[RowReport]


def _over_cap() -> ValidationFailed:
    return ValidationFailed(f"一次最多导入 {MAX_ROWS} 行", f"At most {MAX_ROWS} rows per file")


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


def _xlsx_rows(data: bytes) -> Iterator[Sequence[Any]]:
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
                max_row=MAX_SHEET_ROWS + 1, max_col=MAX_COLUMNS, values_only=True
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


def _read_rows(filename: str, data: bytes) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (spreadsheet row number, {header: value}); row 1 is the header. Reading stops
    at the cap: a file over it costs no more than one at it."""
    is_xlsx = data[:4] == b"PK\x03\x04" or filename.lower().endswith(".xlsx")
    rows = _xlsx_rows(data) if is_xlsx else _csv_rows(data)
    header: list[str] | None = None
    filled = 0
    for number, values in enumerate(rows, start=1):
        if number > MAX_SHEET_ROWS:
            raise _over_cap()
        cells = ["" if v is None else str(v).strip() for v in values[:MAX_COLUMNS]]
        if header is None:
            header = cells
            continue
        if not any(cells):
            continue
        filled += 1
        if filled > MAX_ROWS:
            raise _over_cap()
        yield number, dict(zip(header, cells, strict=False))
    if header is None:
        raise ValidationFailed("文件为空", "The file is empty", errors={"file": ["empty"]})


def _header_map(sample: dict[str, Any]) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for name, aliases in COLUMNS.items():
        for alias in aliases:
            if alias in sample:
                mapping[name] = alias
                break
    missing = [COLUMNS[n][0] for n in REQUIRED if n not in mapping]
    if missing:
        raise ValidationFailed(
            "缺少必填列：" + "、".join(missing),
            "Missing required columns: " + ", ".join(missing),
            errors={"columns": missing},
        )
    return mapping


def _parse_row(raw: dict[str, Any], grids: dict[str, Grid]) -> tuple[dict[str, Any], dict]:
    values: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}

    def fail(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    for name in REQUIRED:
        if not raw.get(name):
            fail(name, "必填 / required")
    if raw.get("credit_code"):
        check = credit_code.check(raw["credit_code"])
        if check.wellformed:
            values["credit_code"] = check.code
        else:
            fail("credit_code", "格式错误：应为 18 位 / malformed code")
    if raw.get("name"):
        values["name"] = raw["name"][:200]
    values["address"] = (raw.get("address") or "")[:300]
    for coord, low, high in (("lat", -90, 90), ("lng", -180, 180)):
        if raw.get(coord):
            try:
                number = float(raw[coord])
                if not low <= number <= high:
                    raise ValueError
                values[coord] = number
            except ValueError:
                fail(coord, f"应为 {low}～{high} 之间的数字 / out of range")
    if raw.get("industry"):
        industry = _INDUSTRY_BY_TEXT.get(raw["industry"])
        if industry is None:
            fail("industry", "未知行业 / unknown industry")
        values["industry"] = industry
    if raw.get("risk_color"):
        risk = _RISK_BY_TEXT.get(raw["risk_color"])
        if risk is None:
            fail("risk_color", "风险等级应为 红/橙/黄/蓝 / unknown risk colour")
        values["risk_color"] = risk
    if raw.get("grid_code"):
        grid = grids.get(raw["grid_code"])
        if grid is None:
            fail("grid_code", "网格编码不存在 / unknown grid")
        else:
            values["grid_id"] = grid.id
    if raw.get("active"):
        text = raw["active"].lower()
        if text in _TRUE | _FALSE:
            values["active"] = text in _TRUE
        else:
            fail("active", "应为 是/否 / yes or no")
    return values, errors


def import_enterprises(
    ctx: Context, actor: Actor, *, filename: str, data: bytes, mode: ImportMode
) -> ImportReport:
    """Create or update enterprises from a CSV/XLSX file, reporting on every row."""
    require_admin(actor)
    rows = list(_read_rows(filename, data))
    mapping = _header_map(rows[0][1]) if rows else {}
    reports: list[RowReport] = []
    seen: set[str] = set()
    with ctx.uow() as uow:
        session = uow.session
        grids = {g.code: g for g in session.scalars(select(Grid))}
        for number, cells in rows:
            raw = {name: cells.get(header, "") for name, header in mapping.items()}
            values, errors = _parse_row(raw, grids)
            report = RowReport(row=number, status="ok", credit_code=values.get("credit_code"))
            code = values.get("credit_code")
            if code and code in seen:
                errors.setdefault("credit_code", []).append("文件内重复 / duplicate in file")
            if errors:
                report.status, report.errors = "error", errors
                reports.append(report)
                continue
            seen.add(code)
            # A savepoint per row, so one failing row cannot spoil the others.
            try:
                with session.begin_nested():
                    existing = session.scalar(
                        select(Enterprise).where(Enterprise.credit_code == code)
                    )
                    if existing is None:
                        result = _create(session, values)
                        session.flush()
                        report.action, report.warnings = "created", result.warnings
                        report.enterprise_id = result.enterprise.id
                    else:
                        report.action = "updated"
                        report.warnings = _apply_changes(session, existing, values)
                        session.flush()
                        report.enterprise_id = existing.id
            except (IntegrityError, DomainError) as exc:
                report.status = "error"
                report.errors = getattr(exc, "errors", None) or {"row": [str(exc)]}
            reports.append(report)
        failed = sum(r.status == "error" for r in reports)
        committed = bool(reports) and (mode is ImportMode.PARTIAL or failed == 0)
        if committed:
            uow.commit()
        else:
            for r in reports:  # nothing was written; ids of rolled-back rows mean nothing
                r.enterprise_id = None
    ok = [r for r in reports if r.status == "ok"]
    return ImportReport(
        mode=mode,
        committed=committed,
        total=len(reports),
        created=sum(r.action == "created" for r in ok) if committed else 0,
        updated=sum(r.action == "updated" for r in ok) if committed else 0,
        failed=failed,
        rows=reports,
    )


__all__ = ["CHECKSUM_WARNING", "ImportMode", "ImportReport", "RowReport", "import_enterprises"]
