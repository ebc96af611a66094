"""Supervisor statistics: summary, ranking, trend, 重大隐患 台账, exports."""

from __future__ import annotations

import io

from flask import Response
from flask.views import MethodView

from miniprogram_api.api import Blueprint
from miniprogram_api.auth import context, current_actor
from miniprogram_api.responses import download
from miniprogram_api.views.jobs import accepted, document_accepted
from service.documents import filing
from service.jobs import jobs, kinds
from service.statistics import exports, prevention, prevention_regions
from service.statistics import figures as statistics
from service.statistics.figures import StatsQuery
from uploads_schema.common import ErrorSchema
from uploads_schema.statistics import (
    PREVENTION,
    BulletinArgsSchema,
    ExportArgsSchema,
    MajorHazardListSchema,
    PreventionArgsSchema,
    PreventionEnterprisesSchema,
    PreventionRegionsSchema,
    PreventionSummarySchema,
    QuarterlyBulletinArgsSchema,
    RankingArgsSchema,
    RankingSchema,
    StatsArgsSchema,
    SummaryArgsSchema,
    SummarySchema,
    TrendArgsSchema,
    TrendSchema,
    WeeklyBulletinArgsSchema,
)
from uploads_schema.vocabulary import DocumentKind

blp = Blueprint("stats", __name__, url_prefix="/api/v1/stats", description="Statistics 统计")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _errors(view):  # type: ignore[no-untyped-def]
    for status in (401, 403, 404, 422):
        view = blp.alt_response(status, schema=ErrorSchema)(view)
    return view


def _with_prevention(args: dict) -> dict[str, bool]:
    return {"with_prevention": args.pop("include", None) == PREVENTION}


@blp.route("/summary")
class Summary(MethodView):
    @blp.arguments(SummaryArgsSchema, location="query")
    @blp.response(200, SummarySchema)
    @_errors
    def get(self, args):
        """Reported, closed, open, overdue, 待验收, 整改率, 按期整改率, 销号时长, 检查覆盖率."""
        more = _with_prevention(args)
        return statistics.summary(context(), current_actor(), StatsQuery(**args), **more)


@blp.route("/ranking")
class RankingView(MethodView):
    @blp.arguments(RankingArgsSchema, location="query")
    @blp.response(200, RankingSchema)
    @_errors
    def get(self, args):
        """The same figures for each child region (or grid of a community), ranked; with
        `include=prevention` each unit's 双重预防 figures too."""
        sort, more = args.pop("sort"), _with_prevention(args)
        return statistics.ranking(context(), current_actor(), StatsQuery(**args), sort, **more)


@blp.route("/trend")
class TrendView(MethodView):
    @blp.arguments(TrendArgsSchema, location="query")
    @blp.response(200, TrendSchema)
    @_errors
    def get(self, args):
        """Figures per week (from Monday) or per month, in China time; with
        `include=prevention` each bucket's tasks and hazards by origin too."""
        bucket, more = args.pop("bucket"), _with_prevention(args)
        return statistics.trend(context(), current_actor(), StatsQuery(**args), bucket, **more)


@blp.route("/major-hazards")
class MajorHazards(MethodView):
    @blp.arguments(StatsArgsSchema, location="query")
    @blp.response(200, MajorHazardListSchema)
    @_errors
    def get(self, args):
        """一单四制 台账: 重大隐患 of the period or still open, with plan, deadline, 挂牌督办."""
        return {"items": statistics.major_hazards(context(), current_actor(), StatsQuery(**args))}


@blp.route("/prevention")
class PreventionSummary(MethodView):
    @blp.arguments(PreventionArgsSchema, location="query")
    @blp.response(200, PreventionSummarySchema)
    @_errors
    def get(self, args):
        """双重预防: 任务完成率, overdue tasks, hazards by origin, 风险四色分布, 失控 points."""
        return prevention.summary(context(), current_actor(), StatsQuery(**args))


@blp.route("/prevention/enterprises")
class PreventionByEnterprise(MethodView):
    @blp.arguments(PreventionArgsSchema, location="query")
    @blp.response(200, PreventionEnterprisesSchema)
    @_errors
    def get(self, args):
        """Per enterprise of the scope: its 四色 point counts, 失控 points, task completion."""
        items = prevention.by_enterprise(context(), current_actor(), StatsQuery(**args))
        return {"items": items}


@blp.route("/prevention/regions")
class PreventionByRegion(MethodView):
    @blp.arguments(PreventionArgsSchema, location="query")
    @blp.response(200, PreventionRegionsSchema)
    @_errors
    def get(self, args):
        """Per child region (or grid) of the scope: 任务完成率, overdue tasks, 失控 points, 四色."""
        return prevention_regions.by_region(context(), current_actor(), StatsQuery(**args))


@blp.route("/major-hazards.xlsx")
class MajorHazardsXlsx(MethodView):
    @blp.arguments(StatsArgsSchema, location="query")
    @blp.response(200, content_type=XLSX, description="Sheet 重大隐患台账 (一单四制)")
    @_errors
    def get(self, args):
        """The 重大隐患 台账 (一单四制) as a filed Excel sheet: plan items, deadline, 挂牌督办."""
        out = io.BytesIO()
        named = exports.write_major_xlsx(context(), current_actor(), StatsQuery(**args), out)
        return _attachment(out.getvalue(), XLSX, named, "xlsx")


def _attachment(data: bytes, mimetype: str, named: exports.ExportName, ext: str) -> Response:
    return download(
        data,
        mimetype,
        f"{named.name}.{ext}",
        f"{named.ascii_name}.{ext}",
        headers={"Cache-Control": "private, no-store"},
    )


def _as_job(args: dict) -> bool:
    """Asked for as a job, or a period longer than EXPORT_SYNC_MAX_DAYS."""
    run_async = args.pop("run_async")
    first, last = args.get("date_from"), args.get("date_to")
    days = (last - first).days + 1 if first and last else 0
    return bool(run_async) or days > context().settings.export_sync_max_days


def _export_job(fmt: str, args: dict) -> Response:
    ctx, actor = context(), current_actor()
    query = StatsQuery(**args)
    statistics.summary(ctx, actor, query)  # scope and period checked now, not in the job
    job = jobs.submit(ctx, actor, kinds.EXPORT, kinds.export_params(fmt, query))
    return accepted(jobs.view(ctx, job))


@blp.route("/export.xlsx")
class ExportXlsx(MethodView):
    @blp.arguments(ExportArgsSchema, location="query")
    @blp.response(200, content_type=XLSX, description="Sheets 汇总, 排名, 隐患清单")
    @_errors
    @document_accepted
    def get(self, args):
        """Summary, ranking and hazard list of the scope and period as an Excel workbook;
        periods longer than EXPORT_SYNC_MAX_DAYS, or `async=1`, run as a job (202)."""
        if _as_job(args):
            return _export_job("xlsx", args)
        out = io.BytesIO()
        named = exports.write_xlsx(context(), current_actor(), StatsQuery(**args), out)
        return _attachment(out.getvalue(), XLSX, named, "xlsx")


@blp.route("/export.csv")
class ExportCsv(MethodView):
    @blp.arguments(ExportArgsSchema, location="query")
    @blp.response(200, content_type="text/csv", description="UTF-8 with BOM, three sections")
    @_errors
    @document_accepted
    def get(self, args):
        """Summary, ranking and hazard list as one CSV (UTF-8 with BOM, opens in Excel); long
        periods, or `async=1`, run as a job (202)."""
        if _as_job(args):
            return _export_job("csv", args)
        named, parts = exports.csv_export(context(), current_actor(), StatsQuery(**args))
        return _attachment("".join(parts).encode("utf-8"), "text/csv", named, "csv")


def _document(kind: DocumentKind, args: dict, period: str, ext: str) -> Response:
    """The file, or a job (202) when asked with `async=1` or when the region covers more
    than BULLETIN_SYNC_MAX_ENTERPRISES active enterprises; both render it alike."""
    ctx, actor = context(), current_actor()
    region_id = args.get("region_id")
    period = filing.check_period(kind, period)
    size = filing.enterprises_in_scope(ctx, actor, region_id)  # 403 / 404 now, not in the job
    if args.get("run_async") or size > ctx.settings.bulletin_sync_max_enterprises:
        params = kinds.document_params(kind, ext, region_id, period)
        return accepted(jobs.view(ctx, jobs.submit(ctx, actor, kinds.DOCUMENT, params)))
    rendered = filing.render(ctx, actor, kind, region_id, period, formats=[ext])
    return download(
        rendered.files[ext],
        filing.CONTENT_TYPES[ext],
        f"{rendered.name}.{ext}",
        f"{rendered.ascii_name}.{ext}",
        headers={"Cache-Control": "private, no-store"},
    )


def _bulletin(args: dict, ext: str) -> Response:
    kind = DocumentKind.MONTHLY
    period = args.get("month") or filing.last_period(kind, context().now())
    return _document(kind, args, period, ext)


@blp.route("/bulletins/monthly.pdf")
class MonthlyBulletinPdf(MethodView):
    @blp.arguments(BulletinArgsSchema, location="query")
    @blp.response(200, content_type="application/pdf", description="月度通报, A4")
    @_errors
    @document_accepted
    def get(self, args):
        """月度通报 of a region and month: figures against last month and a year ago, the
        ranking of child regions, charts, overdue 重大隐患, a short text."""
        return _bulletin(args, "pdf")


@blp.route("/bulletins/monthly.docx")
class MonthlyBulletinDocx(MethodView):
    @blp.arguments(BulletinArgsSchema, location="query")
    @blp.response(200, content_type=DOCX, description="月度通报, Word")
    @_errors
    @document_accepted
    def get(self, args):
        """The same 月度通报 as a Word document, to edit before sending."""
        return _bulletin(args, "docx")


def _weekly(args: dict, ext: str) -> Response:
    kind = DocumentKind.WEEKLY
    if args.get("week"):
        period = args["week"]
    elif args.get("date"):
        period = filing.period_label(kind, args["date"])
    else:
        period = filing.last_period(kind, context().now())
    return _document(kind, args, period, ext)


def _quarterly(args: dict, ext: str) -> Response:
    kind = DocumentKind.QUARTERLY
    period = args.get("quarter") or filing.last_period(kind, context().now())
    return _document(kind, args, period, ext)


@blp.route("/bulletins/weekly.pdf")
class WeeklyBulletinPdf(MethodView):
    @blp.arguments(WeeklyBulletinArgsSchema, location="query")
    @blp.response(200, content_type="application/pdf", description="周统计, A4")
    @_errors
    @document_accepted
    def get(self, args):
        """周统计 of a region's week (Monday–Sunday, China time): headline figures against the
        week before and the child regions' ranking, on one page."""
        return _weekly(args, "pdf")


@blp.route("/bulletins/weekly.docx")
class WeeklyBulletinDocx(MethodView):
    @blp.arguments(WeeklyBulletinArgsSchema, location="query")
    @blp.response(200, content_type=DOCX, description="周统计, Word")
    @_errors
    @document_accepted
    def get(self, args):
        """The same 周统计 as a Word document."""
        return _weekly(args, "docx")


@blp.route("/bulletins/quarterly.pdf")
class QuarterlyBulletinPdf(MethodView):
    @blp.arguments(QuarterlyBulletinArgsSchema, location="query")
    @blp.response(200, content_type="application/pdf", description="季度排名, A4")
    @_errors
    @document_accepted
    def get(self, args):
        """季度排名: the quarter's ranking of child regions (整改率, 按期整改率, overdue,
        覆盖率) with each region's change in rank against the quarter before."""
        return _quarterly(args, "pdf")


@blp.route("/bulletins/quarterly.docx")
class QuarterlyBulletinDocx(MethodView):
    @blp.arguments(QuarterlyBulletinArgsSchema, location="query")
    @blp.response(200, content_type=DOCX, description="季度排名, Word")
    @_errors
    @document_accepted
    def get(self, args):
        """The same 季度排名 as a Word document."""
        return _quarterly(args, "docx")
