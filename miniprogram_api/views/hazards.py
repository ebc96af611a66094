"""Hazards: report, list, read, and the rectify → verify → close transitions."""

from __future__ import annotations

from flask import g, jsonify
from flask.views import MethodView
from flask_smorest import Blueprint

from miniprogram_api.auth import bearer_claims, context, current_actor
from miniprogram_api.responses import json_response
from miniprogram_api.writes import expected_version, idempotency_key
from service.hazards import queries, reads, reporting, transitions
from service.hazards.queries import HazardFilters
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
        result = reporting.report_hazard(ctx, actor, **args, idem=idem)
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


def _transition(use_case, hazard_id: int, args: dict):  # type: ignore[no-untyped-def]
    ctx, actor = context(), current_actor()
    version = expected_version(args)
    hazard = use_case(
        ctx, actor, hazard_id, **args, expected_version=version, idem=idempotency_key(actor)
    )
    doc = reads.after_write(ctx, actor, hazard)
    return jsonify(hazard_json(doc)), 200, _etag(doc)


def _route(path: str, schema, use_case, doc: str):  # type: ignore[no-untyped-def]
    """Register one transition endpoint: POST /hazards/<id>/<path>."""

    def post(self, args, hazard_id):  # type: ignore[no-untyped-def]
        return _transition(use_case, hazard_id, args)

    post.__doc__ = doc
    post = blp.doc(**TRANSITION_HEADERS)(post)
    post = blp.alt_response(422, schema=ErrorSchema)(post)
    post = blp.alt_response(409, schema=ErrorSchema)(post)
    post = blp.alt_response(404, schema=ErrorSchema)(post)
    post = blp.alt_response(403, schema=ErrorSchema)(post)
    post = blp.response(200, HazardSchema)(post)
    post = blp.arguments(schema)(post)
    view = type(f"Hazard_{path.replace('-', '_')}", (MethodView,), {"post": post})
    blp.route(f"/<int:hazard_id>/{path}")(view)


_route(
    "assign", AssignSchema, transitions.assign, "Assign the fix (交办): assignee, level, deadline."
)
_route("plan", PlanSchema, transitions.file_plan, "File the 五落实 plan of a hazard.")
_route("submit-fix", SubmitFixSchema, transitions.submit_fix, "Submit the fix with after-photos.")
_route("verify", VerifySchema, transitions.verify, "Verify a submitted fix (验收): pass or fail.")
_route("reject", RejectSchema, transitions.reject, "Reject a report as not a hazard or duplicate.")
_route("reopen", ReopenSchema, transitions.reopen, "Reopen a closed hazard (supervisor).")
_route("extend", ExtendSchema, transitions.extend, "Ask for, approve or decline a later deadline.")


@blp.route("/<int:hazard_id>/events")
class HazardEvents(MethodView):
    @blp.response(200, EventLogSchema)
    @blp.alt_response(404, schema=ErrorSchema)
    def get(self, hazard_id):
        """The append-only history with its hash chain and whether it verifies."""
        return queries.list_events(context(), current_actor(), hazard_id)
