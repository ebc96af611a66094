"""周统计 and 季度排名: the monthly bulletin's machinery for a week and a quarter.

A week is Monday–Sunday in China time, a quarter three calendar months. Every figure is
the statistics functions' for the same scope and period (nothing recounted); the wording,
the rate formats and the PDF/DOCX styles are the monthly bulletin's.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from service.access.scoping import Actor
from service.core.clock import china_date, to_china
from service.core.context import Context
from service.core.errors import ValidationFailed
from service.documents.bulletins import count_change, office, pct, rate_change
from service.documents.pdf import GRID, Styles, escape, font
from service.statistics import figures as statistics
from service.statistics.figures import RankingRow, StatsQuery, Summary

# A section: a heading and its blocks, each a paragraph or a table (header row first).
Block = str | list[list[str]]
Section = tuple[str, list[Block]]


@dataclass
class Document:
    """What either format prints, and its file name (Chinese, and an ASCII fallback)."""

    title: str
    period: str
    made_at: datetime
    sections: list[Section]
    name: str
    ascii_name: str


# --- periods ----------------------------------------------------------------------------------


def last_week(now: datetime) -> date:
    """The Monday of last week in China."""
    today = china_date(now)
    return today - timedelta(days=today.weekday() + 7)


def week_of(day: date) -> date:
    """The Monday of the week `day` is in."""
    return day - timedelta(days=day.weekday())


def parse_week(text: str) -> date:
    """`2026-W44` (ISO week) → its Monday (a 422 for anything else)."""
    match = re.fullmatch(r"(\d{4})-W(\d{2})", text)
    try:
        if match is None:
            raise ValueError(text)
        year, week = int(match[1]), int(match[2])
        if not 2 <= year <= 9998:
            raise ValueError(year)  # the week before and the week's Sunday must be dates
        return date.fromisocalendar(year, week, 1)
    except ValueError as exc:
        raise ValidationFailed(errors={"week": ["周格式为 YYYY-Www / week is YYYY-Www"]}) from exc


def last_quarter(now: datetime) -> date:
    """The first day of last quarter in China."""
    today = china_date(now)
    return _quarter_shift(date(today.year, (today.month - 1) // 3 * 3 + 1, 1), -1)


def parse_quarter(text: str) -> date:
    """`2026-Q3` → 2026-07-01 (a 422 for anything else)."""
    match = re.fullmatch(r"(\d{4})-Q([1-4])", text)
    # The quarter before and the quarter's end must be dates too.
    if match is None or not 2 <= int(match[1]) <= 9998:
        raise ValidationFailed(errors={"quarter": ["季度格式为 YYYY-Qn / quarter is YYYY-Qn"]})
    return date(int(match[1]), (int(match[2]) - 1) * 3 + 1, 1)


def _quarter_shift(first: date, quarters: int) -> date:
    index = first.year * 12 + first.month - 1 + 3 * quarters
    return date(index // 12, index % 12 + 1, 1)


def _quarter_end(first: date) -> date:
    return _quarter_shift(first, 1) - timedelta(days=1)


def _quarter_label(first: date) -> str:
    return f"{first.year}年第{(first.month - 1) // 3 + 1}季度"


# --- 周统计 -------------------------------------------------------------------------------------


@dataclass
class WeeklySummary:
    region_name: str
    monday: date
    made_at: datetime
    this: Summary
    previous: Summary
    ranking: list[RankingRow]

    @property
    def sunday(self) -> date:
        return self.monday + timedelta(days=6)

    @property
    def title(self) -> str:
        return f"{self.region_name}隐患排查治理周统计"

    @property
    def period(self) -> str:
        year, week, _ = self.monday.isocalendar()
        return f"{year}年第{week}周，{self.monday:%Y-%m-%d}至{self.sunday:%Y-%m-%d}"

    @property
    def week(self) -> str:
        year, week, _ = self.monday.isocalendar()
        return f"{year}-W{week:02d}"


def weekly_summary(ctx: Context, actor: Actor, region_id: int | None, day: date) -> WeeklySummary:
    """The week containing `day` and the week before, scoped like the statistics."""
    monday = week_of(day)

    def query(start: date) -> StatsQuery:
        return StatsQuery(region_id=region_id, date_from=start, date_to=start + timedelta(days=6))

    this = statistics.summary(ctx, actor, query(monday))
    return WeeklySummary(
        region_name=this.scope.region_name,
        monday=monday,
        made_at=ctx.now(),
        this=this,
        previous=statistics.summary(ctx, actor, query(monday - timedelta(days=7))),
        ranking=statistics.ranking(ctx, actor, query(monday)).rows,
    )


def weekly_document(w: WeeklySummary) -> Document:
    """`周统计-武进区-2026-W44` with its two sections."""
    code = w.this.scope.region_code or "all"
    return Document(
        w.title,
        w.period,
        w.made_at,
        weekly_sections(w),
        f"周统计-{w.region_name}-{w.week}",
        f"weekly-summary-{code}-{w.week}",
    )


def weekly_sections(w: WeeklySummary) -> list[Section]:
    f, p = w.this.figures, w.previous.figures
    rate = rate_change(f.rectification_rate, p.rectification_rate)
    text = (
        f"本周（{w.monday:%m月%d日}至{w.sunday:%m月%d日}），{w.region_name}共排查上报隐患"
        f"{f.reported}条，较上周{count_change(f.reported, p.reported)}；已整改销号{f.closed}条，"
        f"整改率{pct(f.rectification_rate)}（较上周{rate}）；"
        f"截至统计时逾期未整改隐患{f.overdue}条。"
    )
    headline = [["指标", "本周", "上周", "环比"]]
    for label, attr in (
        ("上报隐患（条）", "reported"),
        ("有效隐患（条）", "valid"),
        ("已销号（条）", "closed"),
    ):
        now, before = getattr(f, attr), getattr(p, attr)
        headline.append([label, str(now), str(before), count_change(now, before)])
    for label, attr in (
        ("整改率", "rectification_rate"),
        ("按期整改率", "on_time_rate"),
        ("检查覆盖率", "coverage"),
    ):
        now, before = getattr(f, attr), getattr(p, attr)
        headline.append([label, pct(now), pct(before), rate_change(now, before)])
    headline.append(["当前逾期（条）", str(f.overdue), "—", "—"])
    ranked: list[Block] = ["本区域无下级地区。"]
    if w.ranking:
        ranked = [
            [["排名", "地区", "上报", "整改率", "逾期"]]
            + [
                [
                    str(r.rank),
                    r.unit_name,
                    str(r.figures.reported),
                    pct(r.figures.rectification_rate),
                    str(r.figures.overdue),
                ]
                for r in w.ranking
            ]
        ]
    return [("一、本周概况", [text, headline]), ("二、各地区排名", ranked)]


# --- 季度排名 -----------------------------------------------------------------------------------


@dataclass
class QuarterlyRanking:
    region_name: str
    region_code: str | None
    first: date
    made_at: datetime
    rows: list[RankingRow]
    previous_rank: dict[int, int]  # unit id → last quarter's rank

    @property
    def title(self) -> str:
        return f"{self.region_name}隐患排查治理季度排名"

    @property
    def period(self) -> str:
        return _quarter_label(self.first)

    @property
    def quarter(self) -> str:
        return f"{self.first.year}-Q{(self.first.month - 1) // 3 + 1}"

    def change(self, row: RankingRow) -> str:
        """↑2 / ↓1 / — against last quarter; 新 for a region without a rank then."""
        before = self.previous_rank.get(row.unit_id)
        if before is None:
            return "新"
        if before == row.rank:
            return "—"
        return f"↑{before - row.rank}" if before > row.rank else f"↓{row.rank - before}"


def _ranked(rows: list[RankingRow]) -> dict[int, int]:
    # A region without 有效隐患 has no 整改率 and so no place to gain or lose.
    return {r.unit_id: r.rank for r in rows if r.figures.rectification_rate is not None}


def quarterly_ranking(
    ctx: Context, actor: Actor, region_id: int | None, first: date
) -> QuarterlyRanking:
    """The quarter's ranking of child regions and their ranks the quarter before."""

    def query(start: date) -> StatsQuery:
        return StatsQuery(region_id=region_id, date_from=start, date_to=_quarter_end(start))

    ranking = statistics.ranking(ctx, actor, query(first))
    previous = statistics.ranking(ctx, actor, query(_quarter_shift(first, -1)))
    return QuarterlyRanking(
        region_name=ranking.scope.region_name,
        region_code=ranking.scope.region_code,
        first=first,
        made_at=ctx.now(),
        rows=ranking.rows,
        previous_rank=_ranked(previous.rows),
    )


def quarterly_document(q: QuarterlyRanking) -> Document:
    """`季度排名-武进区-2026-Q3` with its ranking table."""
    return Document(
        q.title,
        q.period,
        q.made_at,
        quarterly_sections(q),
        f"季度排名-{q.region_name}-{q.quarter}",
        f"quarterly-ranking-{q.region_code or 'all'}-{q.quarter}",
    )


def quarterly_sections(q: QuarterlyRanking) -> list[Section]:
    if not q.rows:
        return [("各地区排名", ["本区域无下级地区。"])]
    table = [["排名", "较上季度", "地区", "整改率", "按期整改率", "逾期", "检查覆盖率"]]
    for r in q.rows:
        f = r.figures
        table.append(
            [
                str(r.rank),
                q.change(r) if f.rectification_rate is not None else "—",
                r.unit_name,
                pct(f.rectification_rate),
                pct(f.on_time_rate),
                str(f.overdue),
                pct(f.coverage),
            ]
        )
    note = (
        f"按{q.period}整改率排名；“较上季度”为名次变化，↑ 上升、↓ 下降，"
        "“新”为上季度无有效隐患、未参与排名的地区。"
    )
    return [("各地区排名", [note, table])]


# --- the two formats --------------------------------------------------------------------------


def render_pdf(ctx: Context, doc: Document) -> bytes:
    """The document as an A4 PDF in the monthly bulletin's styles, the CJK font embedded."""
    title, period, made_at, sections = doc.title, doc.period, doc.made_at, doc.sections
    styles = Styles(font(ctx.settings.qr_font_path))
    width = A4[0] - 40 * mm
    story: list = [
        Paragraph(escape(title), styles.title),
        Paragraph(f"（{escape(period)}）", styles.centre),
        Paragraph(f"{escape(office(ctx))}　{to_china(made_at):%Y年%m月%d日}", styles.right),
    ]
    for heading, blocks in sections:
        story.append(Paragraph(escape(heading), styles.heading))
        for block in blocks:
            if isinstance(block, str):
                story.append(Paragraph(escape(block), styles.body))
                continue
            cells = [[Paragraph(escape(v), styles.cell) for v in row] for row in block]
            columns = len(block[0])
            t = Table(cells, colWidths=[width / columns] * columns, repeatRows=1)
            t.setStyle(
                TableStyle(
                    [
                        ("GRID", (0, 0), (-1, -1), 0.6, GRID),
                        ("BACKGROUND", (0, 0), (-1, 0), "#eeeeee"),
                    ]
                )
            )
            story += [Spacer(1, 2 * mm), t, Spacer(1, 2 * mm)]
    out = io.BytesIO()
    SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=18 * mm,
        bottomMargin=18 * mm,
        title=f"{title}（{period}）",
        author=office(ctx),
        creator="码上查",
        invariant=1,
    ).build(story)
    return out.getvalue()


def render_docx(ctx: Context, doc: Document) -> bytes:
    """The same document in Word, for an office to edit before sending."""
    title, period, made_at, sections = doc.title, doc.period, doc.made_at, doc.sections
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml.ns import qn
    from docx.shared import Cm, Pt

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
    document.add_paragraph(title, style="Title").alignment = WD_ALIGN_PARAGRAPH.CENTER
    document.add_paragraph(f"（{period}）").alignment = WD_ALIGN_PARAGRAPH.CENTER
    made = document.add_paragraph(f"{office(ctx)}　{to_china(made_at):%Y年%m月%d日}")
    made.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    for heading, blocks in sections:
        document.add_heading(heading, level=1)
        for block in blocks:
            if isinstance(block, str):
                document.add_paragraph(block)
                continue
            t = document.add_table(rows=len(block), cols=len(block[0]), style="Table Grid")
            for r, values in enumerate(block):
                for c, value in enumerate(values):
                    t.cell(r, c).text = value
                    if r == 0:
                        for run in t.cell(r, c).paragraphs[0].runs:
                            run.bold = True
    document.core_properties.title = f"{title}（{period}）"
    document.core_properties.author = office(ctx)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()
