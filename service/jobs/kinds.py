"""What each kind of job does: it calls the same use case the direct request calls, as the
job's creator, and returns the file to keep as the job's result.

Kinds: `posters` (a region's poster PDF, split in parts across consumers when big),
`export` (a statistics export, XLSX or CSV), `enterprise_import` and `staff_import` (the
row report; the staff one with the one-time passwords, so it is kept for less time),
`document` (a 月度通报 / 周统计 / 季度排名, PDF or DOCX).
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from marshmallow import Schema
from sqlalchemy.orm import Session

import qr
from service.access.scoping import Actor
from service.core.context import Context
from service.directory import enterprise_import, staff_import
from service.documents import filing
from service.qrcodes import codes as qrcodes
from service.statistics import exports
from service.statistics.figures import StatsQuery
from uploads_schema.directory import ImportReportSchema, StaffImportReportSchema
from uploads_schema.vocabulary import DocumentKind, HazardLevel, ImportMode, Industry

POSTERS = "posters"
EXPORT = "export"
ENTERPRISE_IMPORT = "enterprise_import"
STAFF_IMPORT = "staff_import"
DOCUMENT = "document"

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# Called with the number of units done since the last call (pages, rows); it raises
# `running.JobCancelled` when the job was cancelled meanwhile.
Progress = Callable[[int], None]


@dataclass
class Output:
    """A finished job's file and what to show beside it."""

    data: bytes
    content_type: str
    name: str  # what the file is saved as (may be Chinese)
    ascii_name: str  # the storage key's last part and the ASCII fallback
    summary: dict[str, Any] | None = None
    # How long the file is kept when shorter than JOB_RESULT_TTL_HOURS (secrets inside).
    keep: timedelta | None = None
    total: int | None = None  # the units done, when the runner did not count them as it went
    kept: bool = False  # already the job's result, kept by the runner (`Inputs.keep`)


@dataclass
class Split:
    """A job too big for one consumer: these parts run on any consumers, the last one to
    finish assembles the result."""

    total: int
    parts: list[Any]
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class Inputs:
    """What a runner gets: the job's parameters, its uploaded input (imports), the number
    of units it will do once known, and `keep`: make an output the job's result in the
    runner's own transaction (`running.keep_result`), committed with its writes."""

    params: dict[str, Any]
    data: bytes | None
    set_total: Callable[[int], None]
    keep: Callable[[Session, Output], None]


# --- posters ---------------------------------------------------------------------------


def run_posters(ctx: Context, actor: Actor, job: Inputs, progress: Progress) -> Output | Split:
    """The active codes of the region, rendered here when few, else split in parts."""
    batch = qrcodes.active_codes_in_region(ctx, actor, job.params.get("region_id"))
    job.set_total(len(batch.specs))
    meta = {
        "region_name": batch.region_name,
        "region_code": batch.region_code,
        "size": job.params.get("size", "A5"),
    }
    per_part = ctx.settings.poster_part_pages
    if len(batch.specs) > per_part:
        parts = [batch.specs[i : i + per_part] for i in range(0, len(batch.specs), per_part)]
        return Split(total=len(batch.specs), parts=parts, meta=meta)
    return posters_output(ctx, meta, render_poster_part(ctx, batch.specs, progress, meta["size"]))


def render_poster_part(
    ctx: Context, specs: list[qr.PosterSpec], progress: Progress, size: str = "A5"
) -> bytes:
    """One part's pages (A5 or A4) as a PDF of its own."""
    out = io.BytesIO()
    qrcodes.write_region_posters(ctx, specs, out, progress=_each(progress), size=size)
    return out.getvalue()


def _each(progress: Progress) -> Callable[[int], None]:
    # write_region_posters reports the pages done so far; jobs count what is new.
    seen = 0

    def report(done: int) -> None:
        nonlocal seen
        progress(done - seen)
        seen = done

    return report


def posters_output(ctx: Context, meta: dict[str, Any], pdf: bytes) -> Output:
    """The poster PDF as a job's result, named as the direct download is."""
    return Output(
        data=pdf,
        content_type="application/pdf",
        name=f"二维码海报-{meta['region_name']}.pdf",
        ascii_name=f"qr-posters-{meta['region_code'] or 'all'}.pdf",
    )


def merge_pdfs(parts: list[bytes]) -> bytes:
    """The parts' pages, in order, as one PDF."""
    from pypdf import PdfReader, PdfWriter  # only the consumer that assembles needs it

    writer = PdfWriter()
    for data in parts:
        writer.append(PdfReader(io.BytesIO(data)))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


# --- exports ---------------------------------------------------------------------------


def export_params(fmt: str, query: StatsQuery) -> dict[str, Any]:
    """A statistics query as JSON the job keeps."""
    values = {
        "region_id": query.region_id,
        "grid_id": query.grid_id,
        "enterprise_id": query.enterprise_id,
        "industry": query.industry.value if query.industry else None,
        "level": query.level.value if query.level else None,
        "date_from": query.date_from.isoformat() if query.date_from else None,
        "date_to": query.date_to.isoformat() if query.date_to else None,
    }
    return {"format": fmt, "query": {k: v for k, v in values.items() if v is not None}}


def _query(values: dict[str, Any]) -> StatsQuery:
    return StatsQuery(
        region_id=values.get("region_id"),
        grid_id=values.get("grid_id"),
        enterprise_id=values.get("enterprise_id"),
        industry=Industry(values["industry"]) if values.get("industry") else None,
        level=HazardLevel(values["level"]) if values.get("level") else None,
        date_from=date.fromisoformat(values["date_from"]) if values.get("date_from") else None,
        date_to=date.fromisoformat(values["date_to"]) if values.get("date_to") else None,
    )


def run_export(ctx: Context, actor: Actor, job: Inputs, progress: Progress) -> Output:
    """The same workbook or CSV the direct download answers."""
    query = _query(job.params["query"])
    if job.params["format"] == "xlsx":
        out = io.BytesIO()
        named = exports.write_xlsx(ctx, actor, query, out)
        data, content_type, ext = out.getvalue(), XLSX, "xlsx"
    else:
        named, parts = exports.csv_export(ctx, actor, query)
        text = []
        for part in parts:
            text.append(part)
            progress(0)  # a heartbeat between parts, and the chance to stop
        data, content_type, ext = "".join(text).encode("utf-8"), "text/csv", "csv"
    return Output(data, content_type, f"{named.name}.{ext}", f"{named.ascii_name}.{ext}")


# --- imports ---------------------------------------------------------------------------


def _run_import(
    ctx: Context, actor: Actor, job: Inputs, progress: Progress, use_case: Callable[..., Any],
    schema: Schema, counts: tuple[str, ...], name: str, ascii_name: str,
    keep: timedelta | None = None,
) -> Output:  # fmt: skip
    """Run an import of the uploaded file; its per-row report is the job's result (JSON),
    only `counts` in the summary the poll answers. An import that writes keeps the report
    in the transaction of its rows: a consumer dying before that commit leaves neither (the
    retry imports afresh), after it the job has succeeded (no retry imports again)."""
    assert job.data is not None

    def output(report: Any) -> Output:
        body = schema.dump(report)
        return Output(
            data=json.dumps(body, ensure_ascii=False).encode("utf-8"),
            content_type="application/json",
            name=name,
            ascii_name=ascii_name,
            summary={k: body[k] for k in counts},
            keep=keep,
            total=report.total,
        )

    kept: list[Output] = []

    def keep_report(session: Session, report: Any) -> None:
        kept.append(output(report))
        job.keep(session, kept[0])

    report = use_case(
        ctx, actor, filename=job.params["filename"], data=job.data,
        mode=ImportMode(job.params["mode"]), keep_report=keep_report,
    )  # fmt: skip
    if kept:
        return kept[0]
    progress(report.total)  # nothing written: kept as any result is, after this
    return output(report)


def run_enterprise_import(ctx: Context, actor: Actor, job: Inputs, progress: Progress) -> Output:
    """The import of the uploaded file; its per-row report is the result (JSON)."""
    counts = ("mode", "committed", "total", "created", "updated", "failed")
    return _run_import(
        ctx, actor, job, progress, enterprise_import.import_enterprises, ImportReportSchema(),
        counts, "企业导入报告.json", "enterprise-import-report.json",
    )  # fmt: skip


def run_staff_import(ctx: Context, actor: Actor, job: Inputs, progress: Progress) -> Output:
    """The staff import of the uploaded file; its per-row report, one-time passwords
    included, is the result (JSON), kept STAFF_IMPORT_RESULT_TTL_MINUTES."""
    # The counts only: the poll answer never carries a password.
    counts = ("mode", "committed", "total", "created", "failed")
    keep = timedelta(minutes=ctx.settings.staff_import_result_ttl_minutes)
    return _run_import(
        ctx, actor, job, progress, staff_import.import_staff, StaffImportReportSchema(),
        counts, "账号导入报告.json", "staff-import-report.json", keep,
    )  # fmt: skip


# --- documents -------------------------------------------------------------------------


def document_params(kind: DocumentKind, fmt: str, region_id: int | None, period: str) -> dict:
    """A 通报 request as JSON the job keeps (the period resolved, never "last month")."""
    return {"document": kind.value, "format": fmt, "region_id": region_id, "period": period}


def run_document(ctx: Context, actor: Actor, job: Inputs, progress: Progress) -> Output:
    """The same file the direct download answers."""
    p = job.params
    fmt = p["format"]
    job.set_total(1)
    rendered = filing.render(
        ctx, actor, DocumentKind(p["document"]), p["region_id"], p["period"], formats=[fmt]
    )
    progress(1)
    return Output(
        rendered.files[fmt],
        filing.CONTENT_TYPES[fmt],
        f"{rendered.name}.{fmt}",
        f"{rendered.ascii_name}.{fmt}",
    )


Runner = Callable[[Context, Actor, Inputs, Progress], "Output | Split"]

RUNNERS: dict[str, Runner] = {
    POSTERS: run_posters,
    EXPORT: run_export,
    ENTERPRISE_IMPORT: run_enterprise_import,
    STAFF_IMPORT: run_staff_import,
    DOCUMENT: run_document,
}
