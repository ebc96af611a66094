"""Statistics exports a regulator can file: XLSX (one sheet each) and CSV (UTF-8 with BOM).

The hazard list (the 台账) never carries the reporter (举报人信息保护). Both go through the
one spreadsheet writer (service.core.sheets), so no reported text runs as a formula; the
XLSX keeps numbers, percentages and China times as typed cells, the CSV writes them as text.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any, BinaryIO

from service.access.scoping import Actor
from service.core.context import Context
from service.core.sheets import Column, CsvSheet, Percent, XlsxBook, local_moment
from service.statistics import figures as statistics
from service.statistics.figures import (
    Figures,
    LedgerRow,
    MajorHazardRow,
    Period,
    Ranking,
    ScopeInfo,
    StatsQuery,
    Summary,
)
from service.statistics.prevention import PreventionFigures
from uploads_schema.vocabulary import (
    CATEGORY_LABELS,
    LEVEL_LABELS,
    PLAN_LABELS,
    SOURCE_LABELS,
    STATUS_LABELS,
)

Progress = Callable[[int, int], None]  # (done, total), for a job's progress
PREVENTION_SHEET = "双重预防"

SUMMARY_HEADER = [Column("指标", 26), Column("数值", 22)]
RANKING_HEADER = [
    Column("排名", 6), Column("区域/网格代码", 16), Column("名称", 18), Column("上报数", 8),
    Column("不属实", 8), Column("有效隐患", 9), Column("已销号", 8), Column("未销号", 8),
    Column("逾期", 7), Column("待验收", 8), Column("验收超时", 9), Column("按期销号", 9),
    Column("整改率", 9), Column("按期整改率", 11), Column("平均销号时长（小时）", 12),
    Column("90%销号时长上限（小时）", 14), Column("重新整改次数", 10), Column("检查覆盖率", 11),
]  # fmt: skip
PREVENTION_HEADER = [
    Column("区域/网格代码", 16), Column("名称", 18), Column("应完成任务", 10),
    Column("按时完成", 9), Column("逾期后完成", 10), Column("逾期未完成", 10),
    Column("任务完成率", 10), Column("排查发现隐患", 11), Column("群众举报隐患", 11),
    Column("其他途径隐患", 11), Column("风险点", 8), Column("红（重大）", 9),
    Column("橙（较大）", 9), Column("黄（一般）", 9), Column("蓝（低）", 8), Column("未评价", 8),
    Column("失控风险点", 10),
]  # fmt: skip
HAZARD_HEADER = [
    Column("隐患编号", 22), Column("企业名称", 24), Column("统一社会信用代码", 21),
    Column("网格", 14), Column("点位", 12), Column("类别", 10), Column("等级", 8),
    Column("来源", 8), Column("隐患描述", 36), Column("上报时间", 17), Column("整改责任人", 11),
    Column("整改期限", 17), Column("原定期限", 17), Column("五落实方案", 36),
    Column("整改说明", 28), Column("整改提交时间", 17), Column("验收人", 10),
    Column("验收意见", 24), Column("销号时间", 17), Column("状态", 8), Column("是否逾期", 9),
    Column("挂牌督办", 9), Column("重新整改次数", 10), Column("控制台链接", 40),
]  # fmt: skip
MAJOR_HEADER = [
    Column("序号", 6), Column("隐患编号", 22), Column("企业名称", 24),
    Column("统一社会信用代码", 21), Column("类别", 10), Column("隐患描述", 36),
    Column("上报时间", 17), Column("责任人", 11), Column("整改措施", 30), Column("整改资金", 12),
    Column("整改时限", 17), Column("应急预案", 24), Column("整改期限", 17), Column("原定期限", 17),
    Column("状态", 8), Column("是否逾期", 9), Column("挂牌督办", 9), Column("销号时间", 17),
    Column("控制台链接", 40),
]  # fmt: skip


@dataclass(frozen=True)
class ExportName:
    """What an export is saved as, without the extension: `隐患统计-武进区-2026-11`, and an
    ASCII fallback for clients that cannot take Chinese names."""

    name: str
    ascii_name: str


def _period_label(period: Period, between: str) -> str:
    first, last = period.first_day, period.last_day
    if first == last:
        return f"{first:%Y-%m-%d}"
    if first.day == 1 and (last + timedelta(days=1)).day == 1 and first.month == last.month:
        return f"{first:%Y-%m}"  # a calendar month, as offices file them
    return f"{first:%Y-%m-%d}{between}{last:%Y-%m-%d}"


def export_name(scope: ScopeInfo) -> ExportName:
    """The file name of an export of this scope and period."""
    return ExportName(
        name=f"隐患统计-{scope.region_name}-{_period_label(scope.period, '至')}",
        ascii_name=(
            f"hazard-statistics-{scope.region_code or 'all'}-{_period_label(scope.period, '_')}"
        ),
    )


def _percent(value: float | None) -> Any:
    return Percent(value) if value is not None else "—"


def _number(value: float | None) -> Any:
    return value if value is not None else "—"


def _yes(flag: bool) -> str:
    return "是" if flag else "否"


def console_link(ctx: Context, hazard_id: int) -> str:
    """The hazard in the console: unlike a photo link, it does not expire."""
    return f"{ctx.settings.public_base_url.rstrip('/')}/console/hazards/{hazard_id}"


def plan_item(plan: dict[str, Any] | None, key: str) -> Any:
    """One 五落实 item as filed: the 时限 a moment (it is stored as an ISO 8601 timestamp),
    the others text."""
    value = (plan or {}).get(key)
    if key == "deadline" and isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return value
    return "" if value is None else str(value)


def plan_text(plan: dict[str, Any] | None) -> str:
    """五落实 as one line: 责任人：…；措施：…；时限：2026-12-20 23:59; empty without a plan."""
    if not plan:
        return ""
    items = []
    for key, label in PLAN_LABELS.items():
        value = plan_item(plan, key)
        shown = f"{local_moment(value):%Y-%m-%d %H:%M}" if isinstance(value, datetime) else value
        items.append(f"{label}：{shown}")
    return "；".join(items)


def heading(title: str, scope: ScopeInfo, generated_at: datetime) -> list[str]:
    """The lines on top of a filed sheet: the title, then scope, period and time of making."""
    period = f"{scope.period.first_day:%Y-%m-%d} 至 {scope.period.last_day:%Y-%m-%d}"
    made = f"{local_moment(generated_at):%Y-%m-%d %H:%M}"
    return [title, f"统计范围：{scope.region_name}　统计期间：{period}　制表时间：{made}"]


def summary_rows(summary: Summary) -> list[list[Any]]:
    """Label / value lines of the summary sheet."""
    f, scope = summary.figures, summary.scope
    return [
        ["统计范围", scope.region_name],
        ["统计期间", f"{scope.period.first_day:%Y-%m-%d} 至 {scope.period.last_day:%Y-%m-%d}"],
        ["生成时间", summary.generated_at],
        ["上报隐患数", f.reported],
        ["不属实（驳回）数", f.rejected],
        ["有效隐患数", f.valid],
        ["已销号数", f.closed],
        ["未销号数", f.open],
        ["当前逾期数", f.overdue],
        ["当前待验收数", f.awaiting_verification],
        ["验收超时数", f.verification_late],
        ["按期销号数", f.closed_on_time],
        ["整改率", _percent(f.rectification_rate)],
        ["按期整改率", _percent(f.on_time_rate)],
        ["平均销号时长（小时）", _number(f.mean_hours_to_close)],
        ["90%销号时长上限（小时）", _number(f.p90_hours_to_close)],
        ["重新整改次数", f.reopen_count],
        ["已检查企业数", f.enterprises_checked],
        ["在册企业数", f.enterprises_active],
        ["检查覆盖率", _percent(f.coverage)],
    ]


def _figure_cells(f: Figures) -> list[Any]:
    return [
        f.reported, f.rejected, f.valid, f.closed, f.open, f.overdue,
        f.awaiting_verification, f.verification_late, f.closed_on_time,
        _percent(f.rectification_rate), _percent(f.on_time_rate),
        _number(f.mean_hours_to_close), _number(f.p90_hours_to_close), f.reopen_count,
        _percent(f.coverage),
    ]  # fmt: skip


def ranking_rows(ranking: Ranking) -> list[list[Any]]:
    """One line per ranked unit."""
    return [
        [row.rank, row.unit_code, row.unit_name, *_figure_cells(row.figures)]
        for row in ranking.rows
    ]


def _prevention_cells(f: PreventionFigures) -> list[Any]:
    levels = f.points_by_level
    return [
        f.tasks_due, f.tasks_done_in_window, f.tasks_done_late, f.tasks_overdue,
        _percent(f.completion_rate), f.hazards_by_checklist, f.hazards_by_tips,
        f.hazards_other, f.points, levels.get("red", 0), levels.get("orange", 0),
        levels.get("yellow", 0), levels.get("blue", 0), levels.get("unassessed", 0),
        f.points_out_of_control,
    ]  # fmt: skip


def prevention_rows(summary: Summary, ranking: Ranking) -> list[list[Any]]:
    """双重预防: the scope's total (合计), then each ranked unit in the ranking's order."""
    rows = []
    if summary.prevention is not None:
        total = [summary.scope.region_code or "", "合计", *_prevention_cells(summary.prevention)]
        rows.append(total)
    for row in ranking.rows:
        if row.prevention is not None:
            rows.append([row.unit_code, row.unit_name, *_prevention_cells(row.prevention)])
    return rows


def hazard_row(ctx: Context, row: LedgerRow) -> list[Any]:
    """One hazard of the 台账, as filed (no reporter)."""
    return [
        row.number,
        row.enterprise_name,
        row.credit_code,
        row.grid_name,
        row.point_name or "",
        CATEGORY_LABELS[row.category],
        LEVEL_LABELS[row.level],
        SOURCE_LABELS[row.source],
        row.description,
        row.created_at,
        row.assignee_name or "",
        row.deadline,
        row.original_deadline,
        plan_text(row.plan),
        row.fix_note or "",
        row.fix_submitted_at,
        row.verifier_name or "",
        row.verify_note or "",
        row.closed_at,
        STATUS_LABELS[row.status],
        _yes(row.overdue),
        _yes(row.supervised),
        row.reopen_count,
        console_link(ctx, row.id),
    ]


def write_xlsx(
    ctx: Context,
    actor: Actor,
    query: StatsQuery,
    out: BinaryIO,
    progress: Progress | None = None,
) -> ExportName:
    """汇总, 排名, 双重预防 (task completion, hazards by origin, 四色 and 失控 points) and
    隐患清单 (the 台账) sheets, streamed with constant memory; returns the file's name.
    `progress(done, total)` is told every 1,000 hazards."""
    summary = statistics.summary(ctx, actor, query, with_prevention=True)
    ranking = statistics.ranking(ctx, actor, query, with_prevention=True)
    top = partial(heading, scope=summary.scope, generated_at=summary.generated_at)
    book = XlsxBook()
    book.sheet("汇总", SUMMARY_HEADER, heading=top("隐患排查治理统计汇总")).rows(
        summary_rows(summary)
    )
    book.sheet("排名", RANKING_HEADER, heading=top("隐患排查治理排名")).rows(ranking_rows(ranking))
    book.sheet(PREVENTION_SHEET, PREVENTION_HEADER, heading=top("双重预防排查任务完成情况")).rows(
        prevention_rows(summary, ranking)
    )
    sheet = book.sheet("隐患清单", HAZARD_HEADER, heading=top("隐患排查治理台账"))
    total = summary.figures.reported
    for done, row in enumerate(statistics.hazard_rows(ctx, actor, query), start=1):
        sheet.row(hazard_row(ctx, row))
        if progress is not None and done % 1000 == 0:
            progress(done, total)
    book.save(out)
    if progress is not None:
        progress(total, total)
    return export_name(summary.scope)


def major_row(ctx: Context, index: int, row: MajorHazardRow) -> list[Any]:
    """One 重大隐患 of the 一单四制 台账: the hazard, its 五落实 items, deadline and state."""
    h, plan = row.hazard, row.hazard.plan
    return [
        index,
        h.number,
        row.enterprise_name,
        h.enterprise.credit_code,
        CATEGORY_LABELS[h.category],
        h.description,
        h.created_at,
        *(plan_item(plan, key) for key in PLAN_LABELS),
        h.deadline,
        h.original_deadline,
        STATUS_LABELS[h.status],
        _yes(row.overdue),
        _yes(h.supervised),
        h.closed_at,
        console_link(ctx, h.id),
    ]


def write_major_xlsx(
    ctx: Context,
    actor: Actor,
    query: StatsQuery,
    out: BinaryIO,
    progress: Progress | None = None,
) -> ExportName:
    """The 重大隐患 台账 (一单四制: 清单, 责任人, 措施, 资金, 时限) as one filed sheet."""
    summary = statistics.summary(ctx, actor, query)
    rows = statistics.major_hazards(ctx, actor, query)
    book = XlsxBook()
    sheet = book.sheet(
        "重大隐患台账",
        MAJOR_HEADER,
        heading=heading("重大事故隐患台账（一单四制）", summary.scope, summary.generated_at),
    )
    for index, row in enumerate(rows, start=1):
        sheet.row(major_row(ctx, index, row))
        if progress is not None:
            progress(index, len(rows))
    book.save(out)
    named = export_name(summary.scope)
    return ExportName(
        name=named.name.replace("隐患统计", "重大隐患台账", 1),
        ascii_name=named.ascii_name.replace("hazard-statistics", "major-hazards", 1),
    )


def csv_export(ctx: Context, actor: Actor, query: StatsQuery) -> tuple[ExportName, Iterator[str]]:
    """The same four parts as one CSV, a titled section each, separated by a blank line:
    the file's name, and its text in parts."""
    summary = statistics.summary(ctx, actor, query, with_prevention=True)
    ranking = statistics.ranking(ctx, actor, query, with_prevention=True)
    return export_name(summary.scope), _csv_parts(ctx, actor, query, summary, ranking)


def _csv_parts(
    ctx: Context, actor: Actor, query: StatsQuery, summary: Summary, ranking: Ranking
) -> Iterator[str]:
    sheet = CsvSheet()
    sheet.row(["【汇总】"])
    sheet.row(["指标", "数值"])
    sheet.rows(summary_rows(summary))
    sheet.row([])
    sheet.row(["【排名】"])
    sheet.row([c.title for c in RANKING_HEADER])
    sheet.rows(ranking_rows(ranking))
    sheet.row([])
    sheet.row([f"【{PREVENTION_SHEET}】"])
    sheet.row([c.title for c in PREVENTION_HEADER])
    sheet.rows(prevention_rows(summary, ranking))
    sheet.row([])
    sheet.row(["【隐患清单】"])
    sheet.row([c.title for c in HAZARD_HEADER])
    yield sheet.take()
    for i, row in enumerate(statistics.hazard_rows(ctx, actor, query), start=1):
        sheet.row(hazard_row(ctx, row))
        if i % 500 == 0:
            yield sheet.take()
    yield sheet.take()
