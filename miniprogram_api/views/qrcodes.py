"""QR codes: issue, list, render (PNG, SVG, poster, batch PDF), revoke, rotate."""

from __future__ import annotations

import io

from flask import Response
from flask.views import MethodView

import qr
from miniprogram_api.api import Blueprint
from miniprogram_api.auth import context, current_actor
from miniprogram_api.responses import download
from miniprogram_api.views.jobs import accepted, document_accepted
from service.jobs import jobs, kinds
from service.qrcodes import codes as qrcodes
from uploads_schema.common import ErrorSchema
from uploads_schema.qrcodes import (
    PosterBatchArgsSchema,
    QrCodePageSchema,
    QrCodeSchema,
    QrIssueSchema,
    QrQuerySchema,
)

blp = Blueprint("qrcodes", __name__, url_prefix="/api/v1", description="QR codes 二维码")

_PRIVATE_CACHE = {"Cache-Control": "private, max-age=300"}


@blp.route("/enterprises/<int:enterprise_id>/qrcodes")
class EnterpriseQrCodes(MethodView):
    @blp.arguments(QrIssueSchema)
    @blp.response(201, QrCodeSchema)
    @blp.alt_response(403, schema=ErrorSchema)
    @blp.alt_response(404, schema=ErrorSchema)
    def post(self, args, enterprise_id):
        """Issue a QR code for an enterprise or one of its points (admin)."""
        return qrcodes.issue_qrcode(context(), current_actor(), enterprise_id, **args)


@blp.route("/qrcodes")
class QrCodes(MethodView):
    @blp.arguments(QrQuerySchema, location="query")
    @blp.response(200, QrCodePageSchema)
    @blp.alt_response(401, schema=ErrorSchema)
    @blp.alt_response(404, schema=ErrorSchema)
    def get(self, args):
        """QR codes of the enterprises in the caller's scope."""
        return qrcodes.list_qrcodes(context(), current_actor(), **args)


@blp.route("/qrcodes/posters.pdf")
class PosterBatch(MethodView):
    @blp.arguments(PosterBatchArgsSchema, location="query")
    @blp.response(
        200, content_type="application/pdf", description="One vector poster per code, A5 or A4"
    )
    @blp.alt_response(403, schema=ErrorSchema)
    @blp.alt_response(404, schema=ErrorSchema)
    @document_accepted
    def get(self, args):
        """A vector PDF with a poster for every active code in a region's subtree (by default
        the supervisor's own region), by short id, A5 or A4; more than POSTERS_SYNC_MAX codes,
        or `async=1`, run as a job (202)."""
        ctx = context()
        actor = current_actor()
        batch = qrcodes.active_codes_in_region(ctx, actor, args.get("region_id"))
        if args["run_async"] or len(batch.specs) > ctx.settings.posters_sync_max:
            if not batch.specs:  # nothing to print: say so now, not in a failed job
                qrcodes.write_region_posters(ctx, batch.specs, io.BytesIO())
            params = {"region_id": args.get("region_id"), "size": args["size"]}
            job = jobs.submit(ctx, actor, kinds.POSTERS, params, total=len(batch.specs))
            return accepted(jobs.view(ctx, job))
        # Built whole before sending (~2 KB a page): a failure never leaves a half-sent PDF.
        out = io.BytesIO()
        qrcodes.write_region_posters(ctx, batch.specs, out, size=args["size"])
        return download(
            out.getvalue(),
            "application/pdf",
            f"二维码海报-{batch.region_name}.pdf",
            f"qr-posters-{batch.region_code or 'all'}.pdf",
            headers=_PRIVATE_CACHE,
        )


@blp.route("/qrcodes/<int:code_id>")
class QrCodeById(MethodView):
    @blp.response(200, QrCodeSchema)
    @blp.alt_response(404, schema=ErrorSchema)
    def get(self, code_id):
        """One QR code."""
        return qrcodes.get_qrcode(context(), current_actor(), code_id)


def _image(code_id: int, fmt: str, mimetype: str, name: str, ascii_name: str) -> Response:
    data = qrcodes.render_qrcode(context(), current_actor(), code_id, fmt)
    # Inline: a browser shows it, and saving it keeps the name.
    return download(data, mimetype, name, ascii_name, inline=True, headers=_PRIVATE_CACHE)


@blp.route("/qrcodes/<int:code_id>.png")
class QrCodePng(MethodView):
    @blp.response(200, content_type="image/png")
    @blp.alt_response(404, schema=ErrorSchema)
    def get(self, code_id):
        """The code as a PNG image."""
        short_id = qr.format_short_id(code_id)
        return _image(code_id, "png", "image/png", f"{short_id}.png", f"{short_id}.png")


@blp.route("/qrcodes/<int:code_id>.svg")
class QrCodeSvg(MethodView):
    @blp.response(200, content_type="image/svg+xml")
    @blp.alt_response(404, schema=ErrorSchema)
    def get(self, code_id):
        """The code as an SVG image."""
        short_id = qr.format_short_id(code_id)
        return _image(code_id, "svg", "image/svg+xml", f"{short_id}.svg", f"{short_id}.svg")


@blp.route("/qrcodes/<int:code_id>/poster.png")
class QrCodePoster(MethodView):
    @blp.response(200, content_type="image/png")
    @blp.alt_response(404, schema=ErrorSchema)
    @blp.alt_response(500, schema=ErrorSchema)
    def get(self, code_id):
        """A printable A5 poster: enterprise name, instructions, the code, its short id."""
        short_id = qr.format_short_id(code_id)
        return _image(
            code_id, "poster", "image/png", f"二维码海报-{short_id}.png", f"poster-{short_id}.png"
        )


@blp.route("/qrcodes/<int:code_id>/revoke")
class QrCodeRevoke(MethodView):
    @blp.response(200, QrCodeSchema)
    @blp.alt_response(403, schema=ErrorSchema)
    @blp.alt_response(404, schema=ErrorSchema)
    @blp.alt_response(409, schema=ErrorSchema)
    def post(self, code_id):
        """Revoke a code; scans then answer 410 (admin)."""
        return qrcodes.revoke_qrcode(context(), current_actor(), code_id)


@blp.route("/qrcodes/<int:code_id>/rotate")
class QrCodeRotate(MethodView):
    @blp.response(201, QrCodeSchema)
    @blp.alt_response(403, schema=ErrorSchema)
    @blp.alt_response(404, schema=ErrorSchema)
    @blp.alt_response(409, schema=ErrorSchema)
    def post(self, code_id):
        """Revoke a code and issue its replacement (admin)."""
        return qrcodes.rotate_qrcode(context(), current_actor(), code_id)
