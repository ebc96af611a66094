"""Statistics exports a regulator can file: XLSX (one sheet each) and CSV (UTF-8 with BOM).

The hazard list never carries the reporter (举报人信息保护). Both go through the one
spreadsheet writer (service.core.sheets), so no reported text runs as a formula.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, BinaryIO

from service.access.scoping import Actor
from service.core.clock import to_china
from service.core.context import Context
from service.core.sheets import CsvSheet, XlsxBook
from service.hazards.deadlines import is_overdue
from service.hazards.models import Hazard
from service.statistics import figures as statistics
from service.statistics.figures import Figures, Period, Ranking, ScopeInfo, StatsQuery, Summary
from uploads_schema.vocabulary import (
    CATEGORY_LABELS,
    LEVEL_LABELS,
    SOURCE_LABELS,
    STATUS_LABELS,
)

RANKING_HEADER = [
    "排名", "区域/网格代码", "名称", "上报数", "不属实", "有效隐患", "已销号", "未销号",
    "逾期", "待验收", "验收超时", "按期销号", "整改率", "按期整改率", "平均销号时长（小时）",
    "90%销号时长上限（小时）", "重新整改次数", "检查覆盖率",
]  # fmt: skip
HAZARD_HEADER = [
    "隐患编号", "企业名称", "网格", "来源", "类别", "等级", "状态", "上报时间",
    "整改期限", "原定期限", "销号时间", "是否逾期", "重新整改次数", "挂牌督办", "隐患描述",
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


def _local(moment: datetime | None) -> str:
    return to_china(moment).strftime("%Y-%m-%d %H:%M") if moment else ""


def _percent(value: float | None) -> str:
    return f"{value * 100:.2f}%" if value is not None else "—"


def _number(value: float | None) -> Any:
    return value if value is not None else "—"


def summary_rows(summary: Summary) -> list[list[Any]]:
    """Label / value lines of the summary sheet."""
    f, scope = summary.figures, summary.scope
    return [
        ["统计范围", scope.region_name],
        ["统计期间", f"{scope.period.first_day:%Y-%m-%d} 至 {scope.period.last_day:%Y-%m-%d}"],
        ["生成时间", _local(summary.generated_at)],
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


def hazard_row(hazard: Hazard, enterprise_name: str, grid_name: str, now: datetime) -> list[Any]:
    """One hazard of the list, as filed (no reporter)."""
    overdue = is_overdue(hazard.status, hazard.deadline, now)
    return [
        hazard.number,
        enterprise_name,
        grid_name,
        SOURCE_LABELS[hazard.source],
        CATEGORY_LABELS[hazard.category],
        LEVEL_LABELS[hazard.level],
        STATUS_LABELS[hazard.status],
        _local(hazard.created_at),
        _local(hazard.deadline),
        _local(hazard.original_deadline),
        _local(hazard.closed_at),
        "是" if overdue else "否",
        hazard.reopen_count,
        "是" if hazard.supervised else "否",
        hazard.description,
    ]


def write_xlsx(ctx: Context, actor: Actor, query: StatsQuery, out: BinaryIO) -> ExportName:
    """汇总, 排名 and 隐患清单 sheets, written in streaming mode; returns the file's name."""
    summary = statistics.summary(ctx, actor, query)
    ranking = statistics.ranking(ctx, actor, query)
    book = XlsxBook()
    book.sheet("汇总", ["指标", "数值"]).rows(summary_rows(summary))
    book.sheet("排名", RANKING_HEADER).rows(ranking_rows(ranking))
    sheet = book.sheet("隐患清单", HAZARD_HEADER)
    now = ctx.now()
    for hazard, enterprise_name, grid_name in statistics.hazard_rows(ctx, actor, query):
        sheet.row(hazard_row(hazard, enterprise_name, grid_name, now))
    book.save(out)
    return export_name(summary.scope)


def csv_export(ctx: Context, actor: Actor, query: StatsQuery) -> tuple[ExportName, Iterator[str]]:
    """The same three parts as one CSV, a titled section each, separated by a blank line:
    the file's name, and its text in parts."""
    summary = statistics.summary(ctx, actor, query)
    ranking = statistics.ranking(ctx, actor, query)
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
    sheet.row(RANKING_HEADER)
    sheet.rows(ranking_rows(ranking))
    sheet.row([])
    sheet.row(["【隐患清单】"])
    sheet.row(HAZARD_HEADER)
    yield sheet.take()
    now = ctx.now()
    for i, (hazard, enterprise_name, grid_name) in enumerate(
        statistics.hazard_rows(ctx, actor, query), start=1
    ):
        sheet.row(hazard_row(hazard, enterprise_name, grid_name, now))
        if i % 500 == 0:
            yield sheet.take()
    yield sheet.take()
