"""Scanning: the public scan, inspector check-ins, anonymous reports and receipts."""

from __future__ import annotations

from flask import g, jsonify, request
from flask.views import MethodView

from miniprogram_api.api import Blueprint
from miniprogram_api.auth import context, current_actor, optional_actor
from miniprogram_api.inputs import takes_files
from miniprogram_api.limits import (
    code_key,
    limiter,
    scan_limit,
    scan_upload_code_limit,
    scan_upload_limit,
)
from miniprogram_api.views.hazards import WRITE_HEADERS
from miniprogram_api.views.media import MultipartParser
from miniprogram_api.writes import idempotency_key
from service.hazards import queries, reads, reporting
from service.hazards.reporting import HazardReport
from service.inspections import checkins, tasks
from service.media import photos
from service.qrcodes import codes as qrcodes
from uploads_schema.common import ErrorSchema
from uploads_schema.hazards import (
    ReceiptSchema,
    ReportResultSchema,
    ScanReportSchema,
    hazard_json,
)
from uploads_schema.media import ScanMediaSchema, ScanUploadSchema
from uploads_schema.prevention import TaskSchema
from uploads_schema.qrcodes import (
    CheckinInputSchema,
    CheckinPageSchema,
    CheckinQuerySchema,
    CheckinSchema,
    ScanQuerySchema,
    ScanResultSchema,
)

blp = Blueprint("scan", __name__, url_prefix="/api/v1", description="Scanning 扫码 and check-ins")
blp.ARGUMENTS_PARSER = MultipartParser()  # JSON bodies as before; files for the photo upload


def _client() -> dict[str, str]:
    return {"ip": request.remote_addr or "", "user_agent": request.user_agent.string}


@blp.route("/scan/<token>")
class Scan(MethodView):
    decorators = (limiter.limit(scan_limit),)

    @blp.doc(security=[{}, {"bearerAuth": []}])
    @blp.arguments(ScanQuerySchema, location="query")
    @blp.response(200, ScanResultSchema)
    @blp.alt_response(404, schema=ErrorSchema)
    @blp.alt_response(410, schema=ErrorSchema)
    @blp.alt_response(429, schema=ErrorSchema)
    def get(self, args, token):
        """Public: what this code is (enterprise, point) and what the caller may do here."""
        return qrcodes.scan(context(), optional_actor(), token, ref=args["scan_ref"], **_client())


@blp.route("/scan/<token>/checkins")
class ScanCheckin(MethodView):
    decorators = (limiter.limit(scan_limit),)

    @blp.arguments(CheckinInputSchema)
    @blp.response(201, CheckinSchema)
    @blp.alt_response(403, schema=ErrorSchema)
    @blp.alt_response(404, schema=ErrorSchema)
    @blp.alt_response(410, schema=ErrorSchema)
    @blp.alt_response(429, schema=ErrorSchema)
    def post(self, args, token):
        """Check in on site (扫码打卡) with the phone's GPS (inspectors of the grid)."""
        return checkins.check_in(context(), current_actor(), token, **args)


@blp.route("/scan/<token>/tasks")
class ScanTasks(MethodView):
    decorators = (limiter.limit(scan_limit),)

    @blp.response(200, TaskSchema(many=True))
    @blp.alt_response(404, schema=ErrorSchema)
    @blp.alt_response(410, schema=ErrorSchema)
    @blp.alt_response(429, schema=ErrorSchema)
    def get(self, token):
        """The caller's inspection tasks due at this risk point (open or overdue), with items."""
        return tasks.due_at_point(context(), current_actor(), token)


@blp.route("/scan/<token>/hazards")
class ScanReport(MethodView):
    decorators = (limiter.limit(scan_limit),)

    @blp.doc(security=[{}, {"bearerAuth": []}], **WRITE_HEADERS)
    @blp.arguments(ScanReportSchema)
    @blp.response(201, ReportResultSchema)
    @blp.alt_response(403, schema=ErrorSchema, description="Administrators do not report")
    @blp.alt_response(404, schema=ErrorSchema)
    @blp.alt_response(410, schema=ErrorSchema)
    @blp.alt_response(422, schema=ErrorSchema)
    @blp.alt_response(429, schema=ErrorSchema)
    def post(self, args, token):
        """Public: report a hazard here; anonymous reports get a receipt key to follow it."""
        ctx, actor = context(), optional_actor()
        result = reporting.report_hazard(
            ctx,
            actor,
            HazardReport(qr_token=token, **args),
            idem=idempotency_key(actor, anonymous=args["anonymous"]),
        )
        if args["anonymous"]:
            g.pop("actor", None)  # nor does the access line name the account (举报人信息保护)
        doc = reads.public_hazard(ctx, result.hazard.id)
        return jsonify({"hazard": hazard_json(doc), "receipt_key": result.receipt_key}), 201


@blp.route("/scan/<token>/media")
@takes_files
class ScanMedia(MethodView):
    decorators = (
        limiter.limit(scan_upload_limit),
        limiter.limit(scan_upload_code_limit, key_func=code_key),
    )

    @blp.doc(security=[])
    @blp.arguments(ScanUploadSchema, location="files")
    @blp.response(201, ScanMediaSchema)
    @blp.alt_response(404, schema=ErrorSchema)
    @blp.alt_response(410, schema=ErrorSchema)
    @blp.alt_response(413, schema=ErrorSchema, description="file_too_large / image_too_large")
    @blp.alt_response(415, schema=ErrorSchema, description="unsupported_media_type")
    @blp.alt_response(422, schema=ErrorSchema, description="image_corrupt / validation_error")
    @blp.alt_response(429, schema=ErrorSchema, description="rate_limited")
    @blp.alt_response(503, schema=ErrorSchema, description="storage_unavailable")
    def post(self, args, token):
        """Public: one photo for an anonymous report from this code; retries answer the same row."""
        return photos.upload_scan_photo(
            context(), token, args["file"].stream, upload_token=args["upload_token"]
        )


@blp.route("/receipts/<key>")
class ReceiptByKey(MethodView):
    decorators = (limiter.limit(scan_limit),)

    @blp.doc(security=[])
    @blp.response(200, ReceiptSchema)
    @blp.alt_response(404, schema=ErrorSchema)
    @blp.alt_response(429, schema=ErrorSchema)
    def get(self, key):
        """Public: follow an anonymous report by its receipt key (status and public notes)."""
        return queries.receipt(context(), key)


@blp.route("/checkins")
class Checkins(MethodView):
    @blp.arguments(CheckinQuerySchema, location="query")
    @blp.response(200, CheckinPageSchema)
    @blp.alt_response(401, schema=ErrorSchema)
    @blp.alt_response(404, schema=ErrorSchema)
    def get(self, args):
        """Check-ins in the caller's scope, newest first."""
        return checkins.list_checkins(context(), current_actor(), **args)
