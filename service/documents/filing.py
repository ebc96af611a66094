"""Filed documents (文书): each region's 月度通报, 周统计 and 季度排名, built on schedule (or by
`flask documents build`), kept in object storage, found by the console, announced to the
region's supervisors through the outbox.

One function renders a document for either path: the direct download, a job, and filing
all call `render`, so the same request gets the same file whichever way it was asked.
A filed document is built as its region's supervisors see it (their subtree, nothing
more) and is kept one per region, kind and period: a rebuild replaces the files.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.exc import IntegrityError

from service.access.scoping import Actor, enterprise_scope, subtree
from service.core.context import Context
from service.core.downloads import content_disposition
from service.core.errors import NotFound, PermissionDenied
from service.core.pagination import Page, paginate
from service.directory.models import Enterprise, Region, User
from service.directory.regions import scope_region
from service.documents import bulletins, periodic
from service.documents.models import FiledDocument
from service.notifications import outbox
from uploads_schema.vocabulary import DocumentKind, NotificationKind, Role

log = logging.getLogger(__name__)

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
CONTENT_TYPES = {"pdf": PDF, "docx": DOCX}
FORMATS = ("pdf", "docx")


class DocumentNotFound(NotFound):
    code = "document_not_found"
    message, message_en = "文书不存在", "Document not found"


# --- periods ----------------------------------------------------------------------------------


def parse_period(kind: DocumentKind, text: str) -> date:
    """The first day of a period as the kind names it: `2026-11`, `2026-W48`, `2026-Q4`
    (a 422 naming the field the direct endpoints take: month, week or quarter)."""
    if kind is DocumentKind.MONTHLY:
        return bulletins.parse_month(text)
    if kind is DocumentKind.WEEKLY:
        return periodic.parse_week(text)
    return periodic.parse_quarter(text)


def period_label(kind: DocumentKind, first: date) -> str:
    """A period's name: `2026-11`, `2026-W48` (ISO week of its Monday), `2026-Q4`."""
    if kind is DocumentKind.MONTHLY:
        return f"{first:%Y-%m}"
    if kind is DocumentKind.WEEKLY:
        year, week, _ = periodic.week_of(first).isocalendar()
        return f"{year}-W{week:02d}"
    return f"{first.year}-Q{(first.month - 1) // 3 + 1}"


def last_period(kind: DocumentKind, now: datetime) -> str:
    """The latest finished period in China time: last month, last week, last quarter."""
    if kind is DocumentKind.MONTHLY:
        return period_label(kind, bulletins.last_month(now))
    if kind is DocumentKind.WEEKLY:
        return period_label(kind, periodic.last_week(now))
    return period_label(kind, periodic.last_quarter(now))


def check_period(kind: DocumentKind, text: str) -> str:
    """The period as `period_label` names it (a 422 for a malformed one)."""
    return period_label(kind, parse_period(kind, text))


# --- rendering --------------------------------------------------------------------------------


@dataclass
class Rendered:
    """A document of one region and period in the formats asked for."""

    title: str  # with the period: 测试区安全生产隐患排查治理月度通报（2026年11月）
    name: str  # the Chinese file name without extension: 月度通报-测试区-2026-11
    ascii_name: str  # its ASCII fallback: monthly-bulletin-320412000000-2026-11
    files: dict[str, bytes]  # format → bytes


def render(
    ctx: Context,
    actor: Actor,
    kind: DocumentKind,
    region_id: int | None,
    period: str,
    formats: Iterable[str] = FORMATS,
) -> Rendered:
    """Build a document's figures once (scoped like the statistics: 403 for reporters, 404
    for a region outside the caller's scope) and render it in each format."""
    first = parse_period(kind, period)
    formats = list(formats)
    files: dict[str, bytes] = {}
    if kind is DocumentKind.MONTHLY:
        b = bulletins.monthly_bulletin(ctx, actor, region_id, first)
        for fmt in formats:
            files[fmt] = (bulletins.bulletin_pdf if fmt == "pdf" else bulletins.bulletin_docx)(
                ctx, b
            )
        name, ascii_name = bulletins.bulletin_name(b, b.this.scope.region_code, "pdf")
        title = f"{b.title}（{b.period}）"
        return Rendered(title, name.removesuffix(".pdf"), ascii_name.removesuffix(".pdf"), files)
    if kind is DocumentKind.WEEKLY:
        doc = periodic.weekly_document(periodic.weekly_summary(ctx, actor, region_id, first))
    else:
        doc = periodic.quarterly_document(periodic.quarterly_ranking(ctx, actor, region_id, first))
    for fmt in formats:
        files[fmt] = (periodic.render_pdf if fmt == "pdf" else periodic.render_docx)(ctx, doc)
    return Rendered(f"{doc.title}（{doc.period}）", doc.name, doc.ascii_name, files)


def enterprises_in_scope(ctx: Context, actor: Actor, region_id: int | None) -> int:
    """How many active enterprises a document of this region would cover (the size that
    makes a request a job); 403 for reporters and 404 outside the caller's scope, at once."""
    if actor.role is Role.REPORTER:
        raise PermissionDenied("统计数据仅对工作人员开放", "Statistics are for staff")
    with ctx.read() as uow:
        region = scope_region(uow.session, actor, region_id)
        query = select(func.count(Enterprise.id)).where(
            Enterprise.active.is_(True), enterprise_scope(actor)
        )
        if region is not None:
            query = query.where(subtree(Enterprise.region_path, region.path))
        return uow.session.scalar(query) or 0


# --- filing -----------------------------------------------------------------------------------


def region_actor(region: Region) -> Actor:
    """Whom a filed document is built as: a supervisor of the region, seeing its subtree."""
    return Actor(user_id=0, role=Role.SUPERVISOR, region_id=region.id, region_path=region.path)


def supervised_regions(ctx: Context) -> list[Region]:
    """Regions with at least one active supervisor: those that get documents filed."""
    with ctx.read() as uow:
        return list(
            uow.session.scalars(
                select(Region)
                .where(
                    Region.id.in_(
                        select(User.region_id).where(
                            User.role == Role.SUPERVISOR, User.active.is_(True)
                        )
                    )
                )
                .order_by(Region.code)
            )
        )


def _key(data: bytes, ascii_name: str, ext: str) -> str:
    # Content-addressed folder, readable last part (what a browser saves the link as).
    return f"documents/{hashlib.sha256(data).hexdigest()[:32]}/{ascii_name}.{ext}"


@dataclass
class Filed:
    document_id: int
    created: bool  # False: an earlier file of the same region, kind and period was replaced
    notified: int  # supervisors told (each once per document, however often it is rebuilt)


def file_document(ctx: Context, region_id: int, kind: DocumentKind, period: str) -> Filed:
    """Build a region's document of a period, keep both files and record them (replacing an
    earlier build's), and tell the region's supervisors once."""
    with ctx.read() as uow:
        region = uow.session.get(Region, region_id)
        if region is None:
            raise NotFound("区域不存在", "Region not found")
        uow.session.expunge(region)
    period = check_period(kind, period)
    rendered = render(ctx, region_actor(region), kind, region.id, period)
    assert ctx.storage is not None
    keys = {fmt: _key(data, rendered.ascii_name, fmt) for fmt, data in rendered.files.items()}
    # The objects first, then the row pointing at them (storage is not transactional).
    for fmt, data in rendered.files.items():
        ctx.storage.put(keys[fmt], data, CONTENT_TYPES[fmt])
    try:
        try:
            filed, old_keys = _record(ctx, region, kind, period, rendered, keys)
        except IntegrityError:
            # Built at the same time elsewhere (the CLI beside the scheduler): theirs goes.
            filed, old_keys = _record(ctx, region, kind, period, rendered, keys)
    except Exception:
        _forget_unfiled(ctx, set(keys.values()))  # no row points at them: nothing half-filed
        raise
    _forget_unfiled(ctx, old_keys - set(keys.values()))  # the earlier build's files
    return filed


def _forget_unfiled(ctx: Context, keys: set[str]) -> None:
    """Delete those of `keys` no filed document points at (the same content built twice
    shares its key)."""
    if not keys:
        return
    with ctx.read() as uow:
        kept = set(
            uow.session.scalars(
                select(FiledDocument.pdf_key).where(FiledDocument.pdf_key.in_(keys))
            )
        ) | set(
            uow.session.scalars(
                select(FiledDocument.docx_key).where(FiledDocument.docx_key.in_(keys))
            )
        )
    assert ctx.storage is not None
    for key in keys - kept:
        ctx.storage.delete(key)  # a missing object is no error


def _record(
    ctx: Context,
    region: Region,
    kind: DocumentKind,
    period: str,
    rendered: Rendered,
    keys: dict[str, str],
) -> tuple[Filed, set[str]]:
    now = ctx.now()
    values = {
        "region_path": region.path,
        "title": rendered.title,
        "name": rendered.name,
        "pdf_key": keys["pdf"],
        "pdf_size": len(rendered.files["pdf"]),
        "docx_key": keys["docx"],
        "docx_size": len(rendered.files["docx"]),
        "made_at": now,
    }
    with ctx.uow() as uow:
        s = uow.session
        document = s.scalar(
            select(FiledDocument)
            .where(
                FiledDocument.region_id == region.id,
                FiledDocument.kind == kind,
                FiledDocument.period == period,
            )
            .with_for_update()
        )
        old_keys: set[str] = set()
        created = document is None
        if document is None:
            document = FiledDocument(region_id=region.id, kind=kind, period=period, **values)
            s.add(document)
        else:
            old_keys = {document.pdf_key, document.docx_key}
            for name, value in values.items():
                setattr(document, name, value)
        s.flush()
        supervisors = s.scalars(
            select(User.id).where(
                User.region_id == region.id, User.role == Role.SUPERVISOR, User.active.is_(True)
            )
        ).all()
        payload = {
            "document_id": document.id,
            "document_kind": kind.value,
            "period": period,
            "region": region.name,
            "title": rendered.title,
        }
        notified = sum(
            outbox.enqueue_about(
                s,
                kind=NotificationKind.DOCUMENT_FILED,
                recipient_id=user_id,
                dedup_key=f"document:{document.id}:{user_id}",
                payload=payload,
                at=now,
            )
            for user_id in supervisors
        )
        uow.commit()
        return Filed(document.id, created, notified), old_keys


@dataclass
class BuildReport:
    filed: int = 0
    failed: int = 0
    already: int = 0  # filed before (by an earlier run or the command line)

    def __str__(self) -> str:
        return f"{self.filed} documents filed, {self.already} already filed, {self.failed} failed"


def build_due(ctx: Context, progress: Callable[[int], None] | None = None) -> BuildReport:
    """File the latest finished month's, week's and quarter's documents of every region
    with supervisors that lacks them (the daily periodic task). Missing ones are caught up
    the next day, so a failed run (storage down on the 1st) loses nothing."""
    report = BuildReport()
    regions = supervised_regions(ctx)
    now = ctx.now()
    for kind in DocumentKind:
        period = last_period(kind, now)
        with ctx.read() as uow:
            done = set(
                uow.session.scalars(
                    select(FiledDocument.region_id).where(
                        FiledDocument.kind == kind, FiledDocument.period == period
                    )
                )
            )
        for region in regions:
            if region.id in done:
                report.already += 1
                continue
            try:
                file_document(ctx, region.id, kind, period)
                report.filed += 1
            except Exception:
                # One region's failure must not stop the others; tomorrow's run retries it.
                log.exception("filing %s %s of region %s failed", kind.value, period, region.code)
                report.failed += 1
            if progress is not None:
                progress(1)
    return report


# --- finding them -----------------------------------------------------------------------------


@dataclass(frozen=True)
class DocumentView:
    """A filed document as the console lists it, with short-lived links to both files."""

    id: int
    kind: DocumentKind
    region: dict[str, object]
    period: str
    title: str
    made_at: datetime
    files: dict[str, str]


def _may_read(actor: Actor) -> None:
    if actor.role not in (Role.ADMIN, Role.SUPERVISOR):
        raise PermissionDenied("文书仅对监管人员开放", "Documents are for supervisors")


def _scope(actor: Actor) -> list[ColumnElement[bool]]:
    if actor.role is Role.ADMIN:
        return []
    return [subtree(FiledDocument.region_path, actor.region_path)]


def _link(ctx: Context, document: FiledDocument, fmt: str) -> str:
    """A short-lived link to one of the document's files, saved under its Chinese name (as
    the direct download is), not the storage key's."""
    assert ctx.storage is not None
    key = document.pdf_key if fmt == "pdf" else document.docx_key
    disposition = content_disposition(f"{document.name}.{fmt}", key.rpartition("/")[2])
    ttl = timedelta(seconds=ctx.settings.media_url_ttl_seconds)
    return ctx.storage.presigned_get(key, ttl, disposition=disposition)


def _view(ctx: Context, document: FiledDocument, region: Region) -> DocumentView:
    return DocumentView(
        id=document.id,
        kind=document.kind,
        region={"id": region.id, "name": region.name},
        period=document.period,
        title=document.title,
        made_at=document.made_at,
        files={"pdf": _link(ctx, document, "pdf"), "docx": _link(ctx, document, "docx")},
    )


def list_documents(
    ctx: Context,
    actor: Actor,
    *,
    kind: DocumentKind | None = None,
    region_id: int | None = None,
    period: str | None = None,
    page: int = 1,
    page_size: int = 20,
) -> Page[DocumentView]:
    """Filed documents of the caller's subtree (supervisors; admins: all), newest first;
    `region_id` narrows to one region's (404 outside the caller's scope)."""
    _may_read(actor)
    query = select(FiledDocument).where(*_scope(actor))
    with ctx.read() as uow:
        if region_id is not None:
            region = scope_region(uow.session, actor, region_id)
            query = query.where(FiledDocument.region_id == region.id)  # type: ignore[union-attr]
        if kind is not None:
            query = query.where(FiledDocument.kind == kind)
        if period is not None:
            query = query.where(FiledDocument.period == period)
        query = query.order_by(FiledDocument.made_at.desc(), FiledDocument.id.desc())
        found = paginate(uow.session, query, page, page_size)
        regions = {
            r.id: r
            for r in uow.session.scalars(
                select(Region).where(Region.id.in_({d.region_id for d in found.items}))
            )
        }
        items = [_view(ctx, d, regions[d.region_id]) for d in found.items]
    return Page(items=items, page=found.page, page_size=found.page_size, total=found.total)


def file_link(ctx: Context, actor: Actor, document_id: int, fmt: str) -> str:
    """A short-lived link to one of a filed document's files (404 outside the caller's
    subtree, as for any object they may not see)."""
    _may_read(actor)
    with ctx.read() as uow:
        document = uow.session.scalar(
            select(FiledDocument).where(FiledDocument.id == document_id, *_scope(actor))
        )
    if document is None:
        raise DocumentNotFound()
    return _link(ctx, document, fmt)
