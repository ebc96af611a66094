"""Schemas for hazards, their transitions, history and receipts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import marshmallow as ma
from marshmallow import fields, validate
from webargs.fields import DelimitedList

from uploads_schema.common import DayOrMoment, Id, PageArgsSchema, enum_field, page_of
from uploads_schema.vocabulary import (
    ACTION_LABELS,
    CATEGORY_LABELS,
    LEVEL_LABELS,
    STATUS_LABELS,
    HazardAction,
    HazardCategory,
    HazardLevel,
    HazardOrigin,
    HazardSource,
    HazardStatus,
)

_text = validate.Length(max=2000)
_photos = fields.List(Id(), validate=validate.Length(min=1, max=9), required=True)


def _deadline(**kwargs: Any) -> DayOrMoment:
    return DayOrMoment(
        metadata={
            "description": "整改期限: a date, YYYY-MM-DD, meaning the end of that day in China "
            "time (23:59:59.999 +08:00), or an ISO 8601 timestamp with its UTC offset"
        },
        **kwargs,
    )


_version = fields.Integer(
    load_default=None,
    allow_none=True,
    metadata={"description": "Expected version (or send If-Match); stale → 409"},
)


class _ReportSchema(ma.Schema):
    """What every hazard report says, however it comes in (an account's or a scan's)."""

    category = enum_field(HazardCategory, required=True)
    description = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    media_ids = _photos
    lat = fields.Float(load_default=None, validate=validate.Range(min=-90, max=90))
    lng = fields.Float(load_default=None, validate=validate.Range(min=-180, max=180))


class HazardReportSchema(_ReportSchema):
    """Report from a scanned code (`qr_token`) or, for staff, an enterprise in scope."""

    qr_token = fields.String(load_default=None, validate=validate.Length(max=64))
    enterprise_id = Id(load_default=None)
    point_id = Id(load_default=None)
    anonymous = fields.Boolean(load_default=False)


class ScanReportSchema(_ReportSchema):
    """Public report through a scanned code; anonymous unless `anonymous` is false."""

    anonymous = fields.Boolean(load_default=True)
    upload_token = fields.String(
        load_default=None,
        validate=validate.Regexp(r"^[A-Za-z0-9_-]{22,128}$"),
        metadata={
            "description": "The scan session's token from POST /scan/{token}/media, when the "
            "photos were sent from this code without an account"
        },
    )


class AssignSchema(ma.Schema):
    assignee_id = Id(required=True)
    deadline = _deadline(required=True)
    level = enum_field(HazardLevel, load_default=HazardLevel.GENERAL)
    note = fields.String(load_default="", validate=_text)
    version = _version


class PlanSchema(ma.Schema):
    """五落实: 责任人, 措施, 资金, 时限, 预案."""

    responsible_person = fields.String(validate=validate.Length(max=100))
    measures = fields.String(validate=_text)
    funds = fields.String(validate=validate.Length(max=100))
    deadline = _deadline()
    contingency_plan = fields.String(validate=_text)
    version = _version


class SubmitFixSchema(ma.Schema):
    note = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    media_ids = _photos
    version = _version


class VerifySchema(ma.Schema):
    passed = fields.Boolean(required=True)
    note = fields.String(load_default="", validate=_text)
    media_ids = fields.List(Id(), load_default=list, validate=validate.Length(max=9))
    version = _version


class RejectSchema(ma.Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    duplicate_of = fields.String(load_default=None, validate=validate.Length(max=40))
    version = _version


class ReopenSchema(ma.Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    deadline = _deadline(required=True)
    version = _version


class ExtendSchema(ma.Schema):
    """Ask with `deadline` + `reason` (assignee); decide with `approve` (inspector/supervisor)."""

    deadline = _deadline(load_default=None)
    reason = fields.String(load_default="", validate=_text)
    approve = fields.Boolean(load_default=None, allow_none=True)
    version = _version


class HazardQuerySchema(PageArgsSchema):
    status = DelimitedList(enum_field(HazardStatus))
    level = enum_field(HazardLevel)
    category = enum_field(HazardCategory)
    source = enum_field(HazardSource)
    enterprise_id = Id()
    region_id = Id()
    grid_id = Id()
    overdue = fields.Boolean()
    supervised = fields.Boolean()
    date_from = DayOrMoment(
        data_key="from",
        metadata={
            "description": "Reported from: a date, YYYY-MM-DD (from its start, China time), "
            "or an ISO 8601 timestamp with its UTC offset"
        },
    )
    date_to = DayOrMoment(
        data_key="to",
        metadata={
            "description": "Reported until: a date, YYYY-MM-DD (that whole day included, China "
            "time), or an ISO 8601 timestamp with its UTC offset (exclusive)"
        },
    )
    q = fields.String(
        validate=validate.Length(max=100),
        metadata={"description": "A hazard number, or text in the description or enterprise name"},
    )


class PhotoSchema(ma.Schema):
    id = fields.Integer(required=True)
    url = fields.String(required=True)
    thumbnail_url = fields.String(required=True)


class PhotoSetSchema(ma.Schema):
    before = fields.List(fields.Nested(PhotoSchema), required=True)
    after = fields.List(fields.Nested(PhotoSchema), required=True)
    verification = fields.List(fields.Nested(PhotoSchema), required=True)


class NamedSchema(ma.Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)


class ReporterSchema(ma.Schema):
    id = fields.Integer(required=True)
    display_name = fields.String(required=True)


class ExtensionSchema(ma.Schema):
    until = fields.DateTime(required=True)
    reason = fields.String(required=True)


class HazardSchema(ma.Schema):
    """A hazard as the caller may see it; `reporter` is null for enterprise roles."""

    id = fields.Integer(required=True)
    number = fields.String(required=True, metadata={"description": "e.g. YH320412-20261122-0007"})
    status = enum_field(HazardStatus, required=True)
    status_label = fields.String(required=True)
    level = enum_field(HazardLevel, required=True)
    source = enum_field(HazardSource, required=True)
    origin = enum_field(HazardOrigin, required=True)
    category = enum_field(HazardCategory, required=True)
    category_label = fields.String(required=True)
    description = fields.String(required=True)
    enterprise = fields.Nested(NamedSchema, required=True)
    point_id = fields.Integer(allow_none=True)
    grid_id = fields.Integer(required=True)
    lat = fields.Float(allow_none=True)
    lng = fields.Float(allow_none=True)
    anonymous = fields.Boolean(required=True)
    reporter = fields.Nested(ReporterSchema, allow_none=True)
    assignee_id = fields.Integer(allow_none=True)
    deadline = fields.DateTime(allow_none=True)
    original_deadline = fields.DateTime(allow_none=True)
    extension = fields.Nested(ExtensionSchema, allow_none=True)
    plan = fields.Dict(
        allow_none=True,
        metadata={
            "description": "五落实: responsible_person, measures, funds, deadline (an ISO 8601 "
            "UTC timestamp, like `deadline`), contingency_plan"
        },
    )
    plan_complete = fields.Boolean(required=True)
    supervised = fields.Boolean(required=True, metadata={"description": "挂牌督办"})
    reopen_count = fields.Integer(required=True)
    rejected_reason = fields.String(allow_none=True)
    rejected_by_id = fields.Integer(allow_none=True)
    fix_note = fields.String(allow_none=True)
    fix_submitted_at = fields.DateTime(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    closed_by_id = fields.Integer(allow_none=True)
    overdue = fields.Boolean(
        required=True,
        metadata={"description": "逾期: rectifying and past its current deadline, now"},
    )
    version = fields.Integer(required=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)
    photos = fields.Nested(PhotoSetSchema, required=True)
    actions = fields.List(
        fields.String(), required=True, metadata={"description": "What the caller may do now"}
    )


class ReportResultSchema(ma.Schema):
    hazard = fields.Nested(HazardSchema, required=True)
    receipt_key = fields.String(
        allow_none=True,
        metadata={"description": "Anonymous reports only: keep it to follow the report"},
    )


class EventSchema(ma.Schema):
    seq = fields.Integer(required=True)
    action = enum_field(HazardAction, required=True)
    from_status = enum_field(HazardStatus, allow_none=True)
    to_status = enum_field(HazardStatus, required=True)
    actor_id = fields.Integer(allow_none=True)
    actor_role = fields.String(allow_none=True)
    note = fields.String(required=True)
    data = fields.Dict(required=True)
    created_at = fields.DateTime(required=True)
    # null for callers who may not know the reporter (举报人信息保护): `chain_ok` is theirs
    prev_hash = fields.String(required=True, allow_none=True)
    hash = fields.String(required=True, allow_none=True)


class ChainBreakSchema(ma.Schema):
    seq = fields.Integer(required=True)
    reason = fields.String(required=True)


class EventLogSchema(ma.Schema):
    events = fields.List(fields.Nested(EventSchema), required=True)
    chain_ok = fields.Boolean(required=True)
    breaks = fields.List(fields.Nested(ChainBreakSchema), required=True)


class TimelineItemSchema(ma.Schema):
    action = enum_field(HazardAction, required=True)
    action_label = fields.Function(
        lambda item: ACTION_LABELS[item["action"]], required=True, metadata={"type": "string"}
    )
    status = enum_field(HazardStatus, required=True)
    status_label = fields.Function(
        lambda item: STATUS_LABELS[item["status"]], required=True, metadata={"type": "string"}
    )
    at = fields.DateTime(required=True)
    note = fields.String(required=True)


class ReceiptSchema(ma.Schema):
    number = fields.String(required=True)
    enterprise_name = fields.String(required=True)
    point_name = fields.String(required=True, allow_none=True)
    category = enum_field(HazardCategory, required=True)
    category_label = fields.Function(
        lambda r: CATEGORY_LABELS[r.category], required=True, metadata={"type": "string"}
    )
    status = enum_field(HazardStatus, required=True)
    status_label = fields.Function(
        lambda r: STATUS_LABELS[r.status], required=True, metadata={"type": "string"}
    )
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)
    timeline = fields.List(fields.Nested(TimelineItemSchema), required=True)


HazardPageSchema = page_of(HazardSchema, "HazardPage")


class TermSchema(ma.Schema):
    value = fields.String(required=True)
    label = fields.String(required=True, metadata={"description": "Chinese name"})


class VocabularySchema(ma.Schema):
    """The values a client shows and sends, each with its Chinese name, in display order."""

    categories = fields.List(fields.Nested(TermSchema), required=True)
    levels = fields.List(fields.Nested(TermSchema), required=True)
    statuses = fields.List(fields.Nested(TermSchema), required=True)
    actions = fields.List(fields.Nested(TermSchema), required=True)


def vocabulary_json() -> dict[str, list[dict[str, str]]]:
    """The vocabulary `VocabularySchema` documents."""

    def terms(labels: dict[Any, str]) -> list[dict[str, str]]:
        return [{"value": str(value), "label": label} for value, label in labels.items()]

    return {
        "categories": terms(CATEGORY_LABELS),
        "levels": terms(LEVEL_LABELS),
        "statuses": terms(STATUS_LABELS),
        "actions": terms(ACTION_LABELS),
    }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def hazard_page_json(page: Any) -> dict[str, Any]:
    """The list page `HazardPageSchema` documents, for a `Page` of `HazardDoc`s."""
    return {
        "items": [hazard_json(doc) for doc in page.items],
        "page": page.page,
        "page_size": page.page_size,
        "total": page.total,
    }


def hazard_json(doc: Any) -> dict[str, Any]:
    """The hazard `HazardSchema` documents, built directly: reads and writes skip
    marshmallow, which costs more than the database work. `doc` is a
    `service.hazards.reads.HazardDoc`; tests hold the output to an ORM oracle dumped through
    the schema for every status and role, and its keys to the schema's fields."""
    h = doc.hazard
    reporter = doc.reporter
    return {
        "id": h.id,
        "number": h.number,
        "status": h.status.value,
        "status_label": STATUS_LABELS[h.status],
        "level": h.level.value,
        "source": h.source.value,
        "origin": h.origin.value,
        "category": h.category.value,
        "category_label": CATEGORY_LABELS[h.category],
        "description": h.description,
        "enterprise": {"id": h.enterprise_id, "name": doc.enterprise_name},
        "point_id": h.point_id,
        "grid_id": h.grid_id,
        "lat": None if h.lat is None else float(h.lat),
        "lng": None if h.lng is None else float(h.lng),
        "anonymous": h.anonymous,
        "reporter": {"id": reporter[0], "display_name": reporter[1]} if reporter else None,
        "assignee_id": h.assignee_id,
        "deadline": _iso(h.deadline),
        "original_deadline": _iso(h.original_deadline),
        "extension": (
            {"until": _iso(h.extension_until), "reason": h.extension_reason or ""}
            if h.extension_until
            else None
        ),
        "plan": h.plan,
        "plan_complete": doc.plan_complete,
        "supervised": h.supervised,
        "reopen_count": h.reopen_count,
        "rejected_reason": h.rejected_reason,
        "rejected_by_id": h.rejected_by_id,
        "fix_note": h.fix_note,
        "fix_submitted_at": _iso(h.fix_submitted_at),
        "closed_at": _iso(h.closed_at),
        "closed_by_id": h.closed_by_id,
        "overdue": doc.overdue,
        "version": h.version,
        "created_at": _iso(h.created_at),
        "updated_at": _iso(h.updated_at),
        "photos": {
            role: [{"id": p.id, "url": p.url, "thumbnail_url": p.thumbnail_url} for p in photos]
            for role, photos in doc.photos.items()
        },
        "actions": doc.actions,
    }
