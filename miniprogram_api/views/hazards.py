"""Hazards: report, list, read, and the rectify → verify → close transitions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Response, g, jsonify
from flask.views import MethodView

from miniprogram_api.api import Blueprint
from miniprogram_api.auth import bearer_claims, context, current_actor
from miniprogram_api.responses import download, json_response
from miniprogram_api.writes import expected_version, idempotency_key
from service.documents import notices
from service.hazards import queries, reads, reporting, transitions
from service.hazards.models import Hazard
from service.hazards.queries import HazardFilters
from service.hazards.reporting import HazardReport
from uploads_schema.common import ErrorSchema
from uploads_schema.hazards import (
    AssignSchema,
    EventLogSchema,
    ExtendSchema,
    HazardPageSchema,
    HazardQuerySchema,
    HazardReportSchema,
    HazardSchema,
    PlanSchema,
    RejectSchema,
    ReopenSchema,
    ReportResultSchema,
    SubmitFixSchema,
    VerifySchema,
    hazard_json,
    hazard_page_json,
)

blp = Blueprint("hazards", __name__, url_prefix="/api/v1/hazards", description="Hazards 隐患")

WRITE_HEADERS = {
    "parameters": [
        {
            "in": "header",
            "name": "Idempotency-Key",
            "schema": {"type": "string", "maxLength": 128},
            "description": "A retry with the same key and body returns the first answer",
        },
    ]
}
TRANSITION_HEADERS = {
    "parameters": [
        *WRITE_HEADERS["parameters"],
        {
            "in": "header",
            "name": "If-Match",
            "schema": {"type": "string"},
            "description": "The version last seen (the ETag); a stale one answers 409",
        },
    ]
}


@blp.route("")
class Hazards(MethodView):
    @blp.arguments(HazardQuerySchema(), location="query")  # one instance, not one per call
    @blp.response(200, HazardPageSchema)
    @blp.alt_response(401, schema=ErrorSchema)
    @blp.alt_response(404, schema=ErrorSchema)
    def get(self, args):
        """Hazards in the caller's scope, newest first, with filters."""
        page, page_size = args.pop("page"), args.pop("page_size")
        found = reads.list_page(
            context(), current_actor(), HazardFilters(**args), page=page, page_size=page_size
        )
        return json_response(hazard_page_json(found))

    @blp.doc(**WRITE_HEADERS)
    @blp.arguments(HazardReportSchema)
    @blp.response(201, ReportResultSchema)
    @blp.alt_response(403, schema=ErrorSchema)
    @blp.alt_response(404, schema=ErrorSchema)
    @blp.alt_response(410, schema=ErrorSchema)
    def post(self, args):
        """Report a hazard with 1–9 photos (uploaded first)."""
        ctx, actor = context(), current_actor()
        idem = idempotency_key(actor, anonymous=args["anonymous"])
        result = reporting.report_hazard(ctx, actor, HazardReport(**args), idem=idem)
        doc = reads.after_write(ctx, actor, result.hazard)
        return jsonify({"hazard": hazard_json(doc), "receipt_key": result.receipt_key}), 201


@blp.route("/<int:hazard_id>")
class HazardById(MethodView):
    @blp.response(200, HazardSchema)
    @blp.alt_response(404, schema=ErrorSchema)
    def get(self, hazard_id):
        """One hazard: photos, plan, deadlines, history summary and the caller's next actions."""
        actor, doc = reads.read_hazard(context(), bearer_claims(), hazard_id)
        g.actor = actor  # for the access log, as `current_actor` would have set it
        return json_response(hazard_json(doc), _etag(doc))


def _etag(doc: reads.HazardDoc) -> dict[str, str]:
    return {"ETag": f'"{doc.hazard.version}"'}


def _transitioned(
    use_case: Callable[..., Hazard], hazard_id: int, args: dict[str, Any]
) -> tuple[Response, int, dict[str, str]]:
    """Run one transition use case; answer the caller's document of the hazard after it."""
    ctx, actor = context(), current_actor()
    version = expected_version(args)
    hazard = use_case(
        ctx, actor, hazard_id, **args, expected_version=version, idem=idempotency_key(actor)
    )
    doc = reads.after_write(ctx, actor, hazard)
    # Flask's JSON, as every other write's answer (orjson is for the hot reads).
    return jsonify(hazard_json(doc)), 200, _etag(doc)


@blp.route("/<int:hazard_id>/assign")
class HazardAssign(MethodView):
    @blp.doc(**TRANSITION_HEADERS)
    @blp.arguments(AssignSchema)
    @blp.response(200, HazardSchema)
    @blp.alt_response(403, schema=ErrorSchema)
    @blp.alt_response(404, schema=ErrorSchema)
    @blp.alt_response(409, schema=ErrorSchema)
    @blp.alt_response(422, schema=ErrorSchema)
    def post(self, args, hazard_id):
        """Assign the fix (交办): assignee, level, deadline."""
        return _transitioned(transitions.assign, hazard_id, args)


@blp.route("/<int:hazard_id>/plan")
class HazardPlan(MethodView):
    @blp.doc(**TRANSITION_HEADERS)
    @blp.arguments(PlanSchema)
    @blp.response(200, HazardSchema)
    @blp.alt_response(403, schema=ErrorSchema)
    @blp.alt_response(404, schema=ErrorSchema)
    @blp.alt_response(409, schema=ErrorSchema)
    @blp.alt_response(422, schema=ErrorSchema)
    def post(self, args, hazard_id):
        """File the 五落实 plan of a hazard."""
        return _transitioned(transitions.file_plan, hazard_id, args)


@blp.route("/<int:hazard_id>/submit-fix")
class HazardSubmitFix(MethodView):
    @blp.doc(**TRANSITION_HEADERS)
    @blp.arguments(SubmitFixSchema)
    @blp.response(200, HazardSchema)
    @blp.alt_response(403, schema=ErrorSchema)
    @blp.alt_response(404, schema=ErrorSchema)
    @blp.alt_response(409, schema=ErrorSchema)
    @blp.alt_response(422, schema=ErrorSchema)
    def post(self, args, hazard_id):
        """Submit the fix with after-photos."""
        return _transitioned(transitions.submit_fix, hazard_id, args)


@blp.route("/<int:hazard_id>/verify")
class HazardVerify(MethodView):
    @blp.doc(**TRANSITION_HEADERS)
    @blp.arguments(VerifySchema)
    @blp.response(200, HazardSchema)
    @blp.alt_response(403, schema=ErrorSchema)
    @blp.alt_response(404, schema=ErrorSchema)
    @blp.alt_response(409, schema=ErrorSchema)
    @blp.alt_response(422, schema=ErrorSchema)
    def post(self, args, hazard_id):
        """Verify a submitted fix (验收): pass or fail."""
        return _transitioned(transitions.verify, hazard_id, args)


@blp.route("/<int:hazard_id>/reject")
class HazardReject(MethodView):
    @blp.doc(**TRANSITION_HEADERS)
    @blp.arguments(RejectSchema)
    @blp.response(200, HazardSchema)
    @blp.alt_response(403, schema=ErrorSchema)
    @blp.alt_response(404, schema=ErrorSchema)
    @blp.alt_response(409, schema=ErrorSchema)
    @blp.alt_response(422, schema=ErrorSchema)
    def post(self, args, hazard_id):
        """Reject a report as not a hazard or duplicate."""
        return _transitioned(transitions.reject, hazard_id, args)


@blp.route("/<int:hazard_id>/reopen")
class HazardReopen(MethodView):
    @blp.doc(**TRANSITION_HEADERS)
    @blp.arguments(ReopenSchema)
    @blp.response(200, HazardSchema)
    @blp.alt_response(403, schema=ErrorSchema)
    @blp.alt_response(404, schema=ErrorSchema)
    @blp.alt_response(409, schema=ErrorSchema)
    @blp.alt_response(422, schema=ErrorSchema)
    def post(self, args, hazard_id):
        """Reopen a closed hazard (supervisor)."""
        return _transitioned(transitions.reopen, hazard_id, args)


@blp.route("/<int:hazard_id>/extend")
class HazardExtend(MethodView):
    @blp.doc(**TRANSITION_HEADERS)
    @blp.arguments(ExtendSchema)
    @blp.response(200, HazardSchema)
    @blp.alt_response(403, schema=ErrorSchema)
    @blp.alt_response(404, schema=ErrorSchema)
    @blp.alt_response(409, schema=ErrorSchema)
    @blp.alt_response(422, schema=ErrorSchema)
    def post(self, args, hazard_id):
        """Ask for, approve or decline a later deadline."""
        return _transitioned(transitions.extend, hazard_id, args)


@blp.route("/<int:hazard_id>/events")
class HazardEvents(MethodView):
    @blp.response(200, EventLogSchema)
    @blp.alt_response(404, schema=ErrorSchema)
    def get(self, hazard_id):
        """The append-only history with its hash chain and whether it verifies."""
        return queries.list_events(context(), current_actor(), hazard_id)


def _document(hazard_id: int, kind: str) -> Response:
    document = notices.hazard_document(context(), current_actor(), hazard_id, kind)
    return download(
        document.data,
        "application/pdf",
        document.name,
        document.ascii_name,
        headers={"Cache-Control": "private, no-store"},
    )


@blp.route("/<int:hazard_id>/documents/notice.pdf")
class HazardNotice(MethodView):
    @blp.response(200, content_type="application/pdf", description="隐患整改通知书, A4")
    @blp.alt_response(404, schema=ErrorSchema)
    @blp.alt_response(409, schema=ErrorSchema)
    def get(self, hazard_id):
        """隐患整改通知书 of an assigned hazard: the hazard, photos, requirement, deadline."""
        return _document(hazard_id, notices.NOTICE)


@blp.route("/<int:hazard_id>/documents/review.pdf")
class HazardReview(MethodView):
    @blp.response(200, content_type="application/pdf", description="复查意见书, A4")
    @blp.alt_response(404, schema=ErrorSchema)
    @blp.alt_response(409, schema=ErrorSchema)
    def get(self, hazard_id):
        """复查意见书 of a verified hazard (passed or failed): the fix and the result."""
        return _document(hazard_id, notices.REVIEW)
