"""Bulk enterprise import from CSV or XLSX with a per-row report.

Modes: `atomic` (default) writes nothing unless every row is good; `partial` writes the
good rows and reports the bad ones. Rows are keyed by 统一社会信用代码: an existing code
is updated, a new one created.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.access.scoping import Actor
from service.core.context import Context
from service.core.errors import DomainError
from service.core.uploaded_sheets import UnsupportedImportFile, header_map, read_rows
from service.directory import credit_code
from service.directory.enterprises import CHECKSUM_WARNING, _apply_changes, _create
from service.directory.models import Enterprise, Grid
from service.directory.regions import require_admin
from uploads_schema.vocabulary import INDUSTRY_LABELS, RISK_LABELS, ImportMode, Industry, RiskColor

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
    ctx: Context,
    actor: Actor,
    *,
    filename: str,
    data: bytes,
    mode: ImportMode,
    keep_report: Callable[[Session, ImportReport], None] | None = None,
) -> ImportReport:
    """Create or update enterprises from a CSV/XLSX file, reporting on every row.

    `keep_report` is called in the import's transaction, before its commit, with the
    report as committed: a job keeps it there, so the rows and the report are written
    together or not at all (a retry never reports its own earlier rows as updated)."""
    require_admin(actor)
    rows = list(read_rows(filename, data))
    mapping = header_map(rows[0][1], COLUMNS, REQUIRED) if rows else {}
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
        if not committed:
            for r in reports:  # nothing was written; ids of rolled-back rows mean nothing
                r.enterprise_id = None
        ok = [r for r in reports if r.status == "ok"]
        result = ImportReport(
            mode=mode,
            committed=committed,
            total=len(reports),
            created=sum(r.action == "created" for r in ok) if committed else 0,
            updated=sum(r.action == "updated" for r in ok) if committed else 0,
            failed=failed,
            rows=reports,
        )
        if committed:
            if keep_report is not None:
                keep_report(session, result)
            uow.commit()
    return result


__all__ = [
    "CHECKSUM_WARNING",
    "ImportMode",
    "ImportReport",
    "RowReport",
    "UnsupportedImportFile",
    "import_enterprises",
]
