"""Bulk import of staff accounts from CSV or XLSX, with a per-row report and one-time
passwords.

Modes as in the enterprise import: `atomic` (default) writes nothing unless every row is
good; `partial` writes the good rows and reports the bad ones. An import only creates
accounts: a username that exists is a row error (an import never changes an account or
its password). Each created account gets a generated one-time password, handed out in
this report only (stored as a hash, never shown again), and must change it at first login.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.access import passwords
from service.access.auth import hash_one_time_password
from service.access.scoping import Actor
from service.core.context import Context
from service.core.errors import DomainError
from service.core.uploaded_sheets import header_map, read_rows
from service.directory import credit_code
from service.directory.models import Enterprise, Grid, Region, User
from service.directory.regions import require_admin
from service.directory.users import USERNAME, _bind
from uploads_schema.vocabulary import ImportMode, Role

# A district's staff fit many times over; each account costs a password hash.
MAX_ROWS = 1_000

# Column headers accepted, Chinese first (docs/staff-import-example.csv), English second.
COLUMNS: dict[str, tuple[str, ...]] = {
    "username": ("用户名", "username"),
    "display_name": ("姓名", "display_name"),
    "phone": ("手机号", "phone"),
    "role": ("角色", "role"),
    "region_code": ("区域编码", "region_code"),
    "grid_codes": ("网格编码", "grid_codes"),
    "credit_code": ("统一社会信用代码", "credit_code"),
}
REQUIRED = ("username", "display_name", "role")

ROLE_LABELS: dict[Role, str] = {
    Role.ADMIN: "管理员",
    Role.SUPERVISOR: "监管人员",
    Role.INSPECTOR: "网格员",
    Role.ENTERPRISE_OFFICER: "企业安全员",
    Role.REPORTER: "职工",
}
_ROLE_BY_TEXT = (
    {label: role for role, label in ROLE_LABELS.items()}
    | {"监管": Role.SUPERVISOR, "安全员": Role.ENTERPRISE_OFFICER, "员工": Role.REPORTER}
    | {role.value: role for role in Role}
)
_SEPARATORS = re.compile(r"[\s,，;；、/]+")  # between grid codes in one cell
MAX_GRIDS = 50  # grid codes in one cell: an inspector covers a few; also bounds the look-up
_PHONE = re.compile(r"[0-9+\- ]{5,32}")


@dataclass
class StaffRowReport:
    row: int
    status: str  # "ok" or "error"
    username: str | None = None
    display_name: str | None = None
    action: str | None = None  # "created"
    user_id: int | None = None
    # Only in the answer of an import that wrote the account: the one and only time it shows.
    one_time_password: str | None = None
    errors: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class StaffImportReport:
    mode: ImportMode
    committed: bool
    total: int
    created: int
    failed: int
    rows: list[StaffRowReport]


@dataclass
class _Lookups:
    """What the file's codes name, read once before the write."""

    regions: dict[str, int]
    grids: dict[str, int]
    enterprises: dict[str, int]
    taken: set[str]


def _grid_codes(raw: dict[str, str]) -> list[str]:
    return [c for c in _SEPARATORS.split(raw.get("grid_codes", "")) if c]


def _lookups(session: Session, raws: Sequence[dict[str, str]]) -> _Lookups:
    region_codes = {r["region_code"] for r in raws if r.get("region_code")}
    grid_codes = {c for r in raws for c in _grid_codes(r)[:MAX_GRIDS]}
    credit_codes = {
        credit_code.check(r["credit_code"]).code for r in raws if r.get("credit_code")
    }
    names = {r["username"] for r in raws if r.get("username")}

    def ids(key: Any, wanted: set[str]) -> dict[str, int]:
        return {k: i for k, i in session.execute(select(key, key.class_.id).where(key.in_(wanted)))}

    return _Lookups(
        regions=ids(Region.code, region_codes),
        grids=ids(Grid.code, grid_codes),
        enterprises=ids(Enterprise.credit_code, credit_codes),
        taken=set(session.scalars(select(User.username).where(User.username.in_(names)))),
    )


def _parse_row(raw: dict[str, str], found: _Lookups) -> tuple[dict[str, Any], dict]:
    values: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}

    def fail(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    for name in REQUIRED:
        if not raw.get(name):
            fail(name, "必填 / required")
    username = raw.get("username", "")
    if username:
        if not USERNAME.fullmatch(username):
            fail("username", "应为 3～64 个字母、数字或 . _ - @ / 3-64 letters, digits, . _ - @")
        elif username in found.taken:
            fail("username", "用户名已存在 / username already taken")
        values["username"] = username
    if raw.get("display_name"):
        if len(raw["display_name"]) > 100:
            fail("display_name", "最多 100 个字符 / at most 100 characters")
        values["display_name"] = raw["display_name"]
    phone = raw.get("phone", "")
    if phone and not _PHONE.fullmatch(phone):
        fail("phone", "手机号格式错误 / malformed phone number")
    values["phone"] = phone
    role = _ROLE_BY_TEXT.get(raw.get("role", ""))
    if raw.get("role") and role is None:
        fail("role", "角色应为 " + "/".join(ROLE_LABELS.values()) + " / unknown role")
    values["role"] = role

    region_code, credit = raw.get("region_code", ""), raw.get("credit_code", "")
    grid_codes = _grid_codes(raw)
    if region_code:
        if role is not Role.SUPERVISOR:
            fail("region_code", "只有监管人员绑定区域 / supervisors only")
        elif region_code not in found.regions:
            fail("region_code", "区域编码不存在 / unknown region")
        else:
            values["region_id"] = found.regions[region_code]
    elif role is Role.SUPERVISOR:
        fail("region_code", "监管人员必须填写区域编码 / required for supervisors")
    if grid_codes:
        unknown = [c for c in grid_codes if c not in found.grids]
        if len(grid_codes) > MAX_GRIDS:
            fail("grid_codes", f"最多 {MAX_GRIDS} 个网格 / at most {MAX_GRIDS} grids")
        elif role is not Role.INSPECTOR:
            fail("grid_codes", "只有网格员绑定网格 / inspectors only")
        elif unknown:
            fail("grid_codes", "网格编码不存在：" + "、".join(unknown) + " / unknown grid")
        else:
            values["grid_ids"] = sorted({found.grids[c] for c in grid_codes})
    elif role is Role.INSPECTOR:
        fail("grid_codes", "网格员必须填写网格编码 / required for inspectors")
    if credit:
        code = credit_code.check(credit).code
        if role not in (Role.ENTERPRISE_OFFICER, Role.REPORTER):
            fail("credit_code", "只有企业安全员和职工绑定企业 / officers and workers only")
        elif code not in found.enterprises:
            fail("credit_code", "企业不存在 / unknown enterprise")
        else:
            values["enterprise_id"] = found.enterprises[code]
    elif role is Role.ENTERPRISE_OFFICER:
        fail("credit_code", "企业安全员必须填写统一社会信用代码 / required for officers")
    return values, errors


def import_staff(
    ctx: Context,
    actor: Actor,
    *,
    filename: str,
    data: bytes,
    mode: ImportMode,
    keep_report: Callable[[Session, StaffImportReport], None] | None = None,
) -> StaffImportReport:
    """Create office accounts from a CSV/XLSX file, reporting on every row; the created
    ones carry a one-time password, in this answer only.

    `keep_report` is called in the accounts' transaction, before its commit, with the
    report as committed: a job keeps it there, so the accounts and their passwords are
    written together or not at all."""
    require_admin(actor)
    rows = list(read_rows(filename, data, MAX_ROWS))
    mapping = header_map(rows[0][1], COLUMNS, REQUIRED) if rows else {}
    raws = [
        (number, {name: cells.get(header, "") for name, header in mapping.items()})
        for number, cells in rows
    ]
    with ctx.read() as uow:
        found = _lookups(uow.session, [raw for _, raw in raws])
    reports: list[StaffRowReport] = []
    good: list[tuple[StaffRowReport, dict[str, Any]]] = []
    seen: set[str] = set()
    for number, raw in raws:
        values, errors = _parse_row(raw, found)
        name = values.get("username")
        if name and name in seen:
            errors.setdefault("username", []).append("文件内重复 / duplicate in file")
        if name:
            seen.add(name)
        report = StaffRowReport(
            row=number, status="ok", username=name, display_name=values.get("display_name")
        )
        if errors:
            report.status, report.errors = "error", errors
        else:
            report.action = "created"  # what the row does if the import is written
            good.append((report, values))
        reports.append(report)
    if not reports or (mode is ImportMode.ATOMIC and len(good) < len(reports)):
        return _report(mode, False, reports)

    # Passwords are made and hashed before the write begins: on SQLite a writing unit holds
    # the database's one write lock until it commits.
    secrets = [(passwords.generate(), values) for _, values in good]
    hashed = [(p, hash_one_time_password(p), values) for p, values in secrets]
    with ctx.uow() as uow:
        session = uow.session
        for (report, _), (one_time, password_hash, values) in zip(good, hashed, strict=True):
            # A savepoint per row, so one failing row cannot spoil the others.
            try:
                with session.begin_nested():
                    user = User(
                        username=values["username"],
                        display_name=values["display_name"],
                        phone=values["phone"],
                        role=values["role"],
                        password_hash=password_hash,
                        must_change_password=True,
                        token_version=0,
                        grids=[],
                    )
                    session.add(user)
                    _bind(session, user, values)
                    session.flush()
                    report.user_id, report.one_time_password = user.id, one_time
            except IntegrityError:
                # Taken meanwhile by another writer (the look-up ran before this unit).
                report.status, report.action = "error", None
                report.errors = {"username": ["用户名已存在 / username already taken"]}
            except DomainError as exc:
                report.status, report.action = "error", None
                report.errors = exc.errors or {"row": [exc.message]}
        failed = sum(r.status == "error" for r in reports)
        committed = mode is ImportMode.PARTIAL or failed == 0
        result = _report(mode, committed, reports)
        if committed:
            if keep_report is not None:
                keep_report(session, result)
            uow.commit()
    return result


def _report(mode: ImportMode, committed: bool, reports: list[StaffRowReport]) -> StaffImportReport:
    if not committed:
        for r in reports:  # nothing was written: ids and passwords of rolled-back rows mean nothing
            r.user_id, r.one_time_password = None, None
    return StaffImportReport(
        mode=mode,
        committed=committed,
        total=len(reports),
        created=sum(r.action == "created" for r in reports) if committed else 0,
        failed=sum(r.status == "error" for r in reports),
        rows=reports,
    )


__all__ = ["COLUMNS", "MAX_ROWS", "StaffImportReport", "StaffRowReport", "import_staff"]
