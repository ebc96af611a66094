"""月度通报: a region's month in figures, as DOCX (python-docx) and PDF (reportlab).

Every figure comes from the statistics functions (summary, ranking, trend, 重大隐患 台账)
for the same scope and period as the statistics API answers it: nothing is recounted here.
The month is compared with the month before and the same month a year earlier; child
regions are ranked by 整改率 with the best and the worst named; overdue 重大 hazards are
listed; a short text says it the way an office's bulletin does.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from service.access.scoping import Actor
from service.core.clock import china_date, to_china
from service.core.context import Context
from service.core.errors import ValidationFailed
from service.documents import charts
from service.documents.pdf import GRID, Styles, escape, font
from service.statistics import figures as statistics
from service.statistics.figures import Figures, MajorHazardRow, RankingRow, StatsQuery, Summary
from uploads_schema.vocabulary import Bucket, HazardLevel

Progress = Callable[[int, int], None]
_STEPS = 4  # figures, charts, the document, done
TREND_MONTHS = 6


def _month_end(first: date) -> date:
    return (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def _shift(first: date, months: int) -> date:
    index = first.year * 12 + first.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def last_month(now: datetime) -> date:
    """The first day of last month in China: what the 1st's bulletin reports on."""
    return _shift(china_date(now).replace(day=1), -1)


def parse_month(text: str) -> date:
    """`2026-11` → 2026-11-01 (a 422 for anything else, or a year with no year before it)."""
    try:
        year, month = (int(part) for part in text.split("-"))
        if not 1901 <= year <= 9999:
            raise ValueError(year)  # the bulletin compares with the year before
        return date(year, month, 1)
    except ValueError as exc:
        raise ValidationFailed(errors={"month": ["月份格式为 YYYY-MM / month is YYYY-MM"]}) from exc


@dataclass
class OverdueMajor:
    number: str
    enterprise_name: str
    deadline: datetime | None
    days_overdue: int


@dataclass
class Bulletin:
    """The month's figures, all from the statistics functions, and the text they make."""

    region_name: str
    month: date
    made_at: datetime
    this: Summary
    previous: Summary
    year_ago: Summary
    major_reported: int
    ranking: list[RankingRow]
    trend_labels: list[str]
    trend_reported: list[int]
    trend_closed: list[int]
    overdue_major: list[OverdueMajor]
    text: list[str]

    @property
    def title(self) -> str:
        return f"{self.region_name}安全生产隐患排查治理月度通报"

    @property
    def period(self) -> str:
        return f"{self.month:%Y}年{self.month.month}月"


def pct(value: float | None) -> str:
    """A rate as the bulletin prints it: 42.86%; — without data."""
    return "—" if value is None else f"{value * 100:.2f}%"


def count_change(now: int, before: int) -> str:
    """A count against an earlier one: 增加3条 / 减少1条 / 持平."""
    if now == before:
        return "持平"
    return f"{'增加' if now > before else '减少'}{abs(now - before)}条"


def rate_change(now: float | None, before: float | None) -> str:
    """A rate against an earlier one in percentage points; 无可比数据 without both."""
    if now is None or before is None:
        return "无可比数据"
    points = round((now - before) * 100, 2)
    if points == 0:
        return "持平"
    return f"{'上升' if points > 0 else '下降'}{abs(points):.2f}个百分点"


def _ranked_by_rate(rows: list[RankingRow]) -> list[RankingRow]:
    return [r for r in rows if r.figures.rectification_rate is not None]


def _text(b: Bulletin) -> list[str]:
    f, p, y = b.this.figures, b.previous.figures, b.year_ago.figures
    lines = [
        f"{b.period}，{b.region_name}共排查上报隐患{f.reported}条，"
        f"较上月{count_change(f.reported, p.reported)}，"
        f"较去年同期{count_change(f.reported, y.reported)}，"
        f"其中重大隐患{b.major_reported}条。"
        f"有效隐患{f.valid}条，已整改销号{f.closed}条，整改率{pct(f.rectification_rate)}"
        f"（较上月{rate_change(f.rectification_rate, p.rectification_rate)}），"
        f"按期整改率{pct(f.on_time_rate)}；检查覆盖率{pct(f.coverage)}。",
        f"截至通报时，逾期未整改隐患{f.overdue}条，待验收{f.awaiting_verification}条"
        + (
            f"，其中逾期重大隐患{len(b.overdue_major)}条，须挂牌督办、限期整改。"
            if b.overdue_major
            else "。"
        ),
    ]
    ranked = _ranked_by_rate(b.ranking)
    if len(ranked) >= 2:
        best = max(ranked, key=lambda r: r.figures.rectification_rate or 0.0)
        worst = min(ranked, key=lambda r: r.figures.rectification_rate or 0.0)
        lines.append(
            f"从各地区情况看，整改率最高的是{best.unit_name}（{pct(best.figures.rectification_rate)}），"
            f"最低的是{worst.unit_name}（{pct(worst.figures.rectification_rate)}），请整改率偏低的地区"
            "分析原因、督促整改。"
        )
    return lines


def monthly_bulletin(
    ctx: Context,
    actor: Actor,
    region_id: int | None,
    month: date,
    progress: Progress | None = None,
) -> Bulletin:
    """The figures of a region's month (by default the supervisor's own region), scoped
    like the statistics (404 for a region outside the caller's scope)."""
    first = month.replace(day=1)

    def query(start: date, **extra: object) -> StatsQuery:
        return StatsQuery(region_id=region_id, date_from=start, date_to=_month_end(start), **extra)  # type: ignore[arg-type]

    this = statistics.summary(ctx, actor, query(first))
    previous = statistics.summary(ctx, actor, query(_shift(first, -1)))
    year_ago = statistics.summary(ctx, actor, query(_shift(first, -12)))
    major = statistics.summary(ctx, actor, query(first, level=HazardLevel.MAJOR))
    ranking = statistics.ranking(ctx, actor, query(first))
    trend_query = StatsQuery(
        region_id=region_id,
        date_from=_shift(first, 1 - TREND_MONTHS),
        date_to=_month_end(first),
    )
    points = {
        p.bucket: p.figures for p in statistics.trend(ctx, actor, trend_query, Bucket.MONTH).points
    }
    months = [_shift(first, i - TREND_MONTHS + 1) for i in range(TREND_MONTHS)]
    trend = [points.get(f"{m:%Y-%m}", Figures()) for m in months]
    now = ctx.now()
    overdue = [
        _overdue(row, now)
        for row in statistics.major_hazards(ctx, actor, query(first))
        if row.overdue
    ]
    if progress is not None:
        progress(1, _STEPS)
    bulletin = Bulletin(
        region_name=this.scope.region_name,
        month=first,
        made_at=now,
        this=this,
        previous=previous,
        year_ago=year_ago,
        major_reported=major.figures.reported,
        ranking=ranking.rows,
        trend_labels=[f"{m.month}月" for m in months],
        trend_reported=[f.reported for f in trend],
        trend_closed=[f.closed for f in trend],
        overdue_major=overdue,
        text=[],
    )
    bulletin.text = _text(bulletin)
    return bulletin


def _overdue(row: MajorHazardRow, now: datetime) -> OverdueMajor:
    h = row.hazard
    days = (china_date(now) - china_date(h.deadline)).days if h.deadline else 0
    return OverdueMajor(h.number, row.enterprise_name, h.deadline, days)


# --- the tables both formats print ------------------------------------------------------------


def headline_rows(b: Bulletin) -> list[list[str]]:
    """指标 / 本月 / 上月 / 环比 / 去年同期 / 同比."""
    f, p, y = b.this.figures, b.previous.figures, b.year_ago.figures
    rows = [["指标", "本月", "上月", "环比", "去年同期", "同比"]]
    for label, attr in (
        ("上报隐患（条）", "reported"),
        ("有效隐患（条）", "valid"),
        ("已销号（条）", "closed"),
        ("按期销号（条）", "closed_on_time"),
    ):
        now, before, ago = getattr(f, attr), getattr(p, attr), getattr(y, attr)
        rows.append(
            [
                label,
                str(now),
                str(before),
                count_change(now, before),
                str(ago),
                count_change(now, ago),
            ]
        )
    for label, attr in (
        ("整改率", "rectification_rate"),
        ("按期整改率", "on_time_rate"),
        ("检查覆盖率", "coverage"),
    ):
        now, before, ago = getattr(f, attr), getattr(p, attr), getattr(y, attr)
        rows.append(
            [
                label,
                pct(now),
                pct(before),
                rate_change(now, before),
                pct(ago),
                rate_change(now, ago),
            ]
        )
    rows.append(["当前逾期（条）", str(f.overdue), "—", "—", "—", "—"])
    rows.append(["当前待验收（条）", str(f.awaiting_verification), "—", "—", "—", "—"])
    return rows


def ranking_rows(b: Bulletin) -> list[list[str]]:
    """排名 / 地区 / 上报 / 整改率 / 按期整改率 / 逾期 / 检查覆盖率."""
    rows = [["排名", "地区", "上报", "整改率", "按期整改率", "逾期", "检查覆盖率"]]
    for r in b.ranking:
        f = r.figures
        rows.append(
            [
                str(r.rank),
                r.unit_name,
                str(f.reported),
                pct(f.rectification_rate),
                pct(f.on_time_rate),
                str(f.overdue),
                pct(f.coverage),
            ]
        )
    return rows


def overdue_rows(b: Bulletin) -> list[list[str]]:
    """The overdue 重大 hazards: number, enterprise, deadline, days overdue."""
    rows = [["隐患编号", "企业名称", "整改期限", "逾期天数"]]
    for o in b.overdue_major:
        deadline = f"{to_china(o.deadline):%Y-%m-%d}" if o.deadline else "—"
        rows.append([o.number, o.enterprise_name, deadline, str(o.days_overdue)])
    return rows


REQUIREMENTS = (
    "各地区要对照本通报，逐条核查逾期未整改隐患，落实整改责任、措施、资金、时限和预案，"
    "确保重大事故隐患按期整改销号；整改率、按期整改率偏低的地区要分析原因，加强督促检查，"
    "推动隐患排查治理闭环管理。"
)


def _charts(ctx: Context, b: Bulletin) -> tuple[bytes, bytes | None]:
    path = ctx.settings.qr_font_path
    trend = charts.trend_chart(path, b.trend_labels, b.trend_reported, b.trend_closed)
    if not b.ranking:
        return trend, None
    ranking = charts.ranking_chart(
        path,
        "各地区整改率",
        [r.unit_name for r in b.ranking],
        [r.figures.rectification_rate for r in b.ranking],
    )
    return trend, ranking


def office(ctx: Context) -> str:
    """The issuing office's name from settings, or the generic one."""
    return ctx.settings.office_name or "安全生产监督管理部门"


def bulletin_pdf(ctx: Context, b: Bulletin, progress: Progress | None = None) -> bytes:
    """The bulletin as an A4 PDF with the CJK font embedded."""
    trend_png, ranking_png = _charts(ctx, b)
    if progress is not None:
        progress(2, _STEPS)
    styles = Styles(font(ctx.settings.qr_font_path))
    width = A4[0] - 40 * mm

    def table(rows: list[list[str]], widths: list[float]) -> Table:
        cells = [[Paragraph(escape(v), styles.cell) for v in row] for row in rows]
        t = Table(cells, colWidths=widths, repeatRows=1)
        t.setStyle(
            TableStyle(
                [("GRID", (0, 0), (-1, -1), 0.6, GRID), ("BACKGROUND", (0, 0), (-1, 0), "#eeeeee")]
            )
        )
        return t

    def picture(png: bytes, height_ratio: float) -> Image:
        return Image(io.BytesIO(png), width=width, height=width * height_ratio)

    story = [
        Paragraph(escape(b.title), styles.title),
        Paragraph(f"（{b.period}）", styles.centre),
        Paragraph(f"{escape(office(ctx))}　{to_china(b.made_at):%Y年%m月%d日}", styles.right),
        Paragraph("一、总体情况", styles.heading),
        *(Paragraph(escape(line), styles.body) for line in b.text),
        Spacer(1, 3 * mm),
        table(headline_rows(b), [width * 0.22] + [width * 0.156] * 5),
        Spacer(1, 3 * mm),
        picture(trend_png, 640 / 1600),
        Paragraph("二、各地区排名", styles.heading),
    ]
    if b.ranking:
        story.append(table(ranking_rows(b), [width * 0.08, width * 0.24] + [width * 0.136] * 5))
        if ranking_png is not None:
            story += [
                Spacer(1, 3 * mm),
                picture(ranking_png, (90 + 54 * len(b.ranking) + 30) / 1600),
            ]
    else:
        story.append(Paragraph("本区域无下级地区。", styles.body))
    story.append(Paragraph("三、逾期重大隐患", styles.heading))
    if b.overdue_major:
        story.append(
            table(overdue_rows(b), [width * 0.32, width * 0.38, width * 0.17, width * 0.13])
        )
    else:
        story.append(Paragraph("本月无逾期重大隐患。", styles.body))
    story += [Paragraph("四、工作要求", styles.heading), Paragraph(REQUIREMENTS, styles.body)]
    out = io.BytesIO()
    SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=18 * mm,
        bottomMargin=18 * mm,
        title=f"{b.title}（{b.period}）",
        author=office(ctx),
        creator="码上查",
        invariant=1,
    ).build(story)
    if progress is not None:
        progress(_STEPS, _STEPS)
    return out.getvalue()


def bulletin_docx(ctx: Context, b: Bulletin, progress: Progress | None = None) -> bytes:
    """The bulletin as a Word document an office can edit before sending."""
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml.ns import qn
    from docx.shared import Cm, Pt

    trend_png, ranking_png = _charts(ctx, b)
    if progress is not None:
        progress(2, _STEPS)
    document = Document()
    for style_name in ("Normal", "Title", "Heading 1", "Table Grid"):
        style = document.styles[style_name]
        style.font.name = "SimSun"
        # Word picks Chinese glyphs by the east-Asian font name.
        style.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), "宋体")
    document.styles["Normal"].font.size = Pt(11)
    section = document.sections[0]
    section.page_width, section.page_height = Cm(21), Cm(29.7)
    section.left_margin = section.right_margin = Cm(2)

    title = document.add_paragraph(b.title, style="Title")
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    period = document.add_paragraph(f"（{b.period}）")
    period.alignment = WD_ALIGN_PARAGRAPH.CENTER
    made = document.add_paragraph(f"{office(ctx)}　{to_china(b.made_at):%Y年%m月%d日}")
    made.alignment = WD_ALIGN_PARAGRAPH.RIGHT

    def table(rows: list[list[str]]) -> None:
        t = document.add_table(rows=len(rows), cols=len(rows[0]), style="Table Grid")
        for r, values in enumerate(rows):
            for c, value in enumerate(values):
                cell = t.cell(r, c)
                cell.text = value
                if r == 0:
                    for run in cell.paragraphs[0].runs:
                        run.bold = True

    document.add_heading("一、总体情况", level=1)
    for line in b.text:
        document.add_paragraph(line)
    table(headline_rows(b))
    document.add_picture(io.BytesIO(trend_png), width=Cm(17))
    document.add_heading("二、各地区排名", level=1)
    if b.ranking:
        table(ranking_rows(b))
        if ranking_png is not None:
            document.add_picture(io.BytesIO(ranking_png), width=Cm(17))
    else:
        document.add_paragraph("本区域无下级地区。")
    document.add_heading("三、逾期重大隐患", level=1)
    if b.overdue_major:
        table(overdue_rows(b))
    else:
        document.add_paragraph("本月无逾期重大隐患。")
    document.add_heading("四、工作要求", level=1)
    document.add_paragraph(REQUIREMENTS)
    document.core_properties.title = f"{b.title}（{b.period}）"
    document.core_properties.author = office(ctx)
    out = io.BytesIO()
    document.save(out)
    if progress is not None:
        progress(_STEPS, _STEPS)
    return out.getvalue()


def bulletin_name(b: Bulletin, region_code: str | None, ext: str) -> tuple[str, str]:
    """`月度通报-武进区-2026-11.pdf` and its ASCII fallback."""
    return (
        f"月度通报-{b.region_name}-{b.month:%Y-%m}.{ext}",
        f"monthly-bulletin-{region_code or 'all'}-{b.month:%Y-%m}.{ext}",
    )
