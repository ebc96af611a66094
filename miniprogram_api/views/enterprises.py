"""Enterprises and their bulk import."""

from __future__ import annotations

from flask.views import MethodView

from miniprogram_api.api import Blueprint
from miniprogram_api.auth import context, current_actor
from miniprogram_api.inputs import takes_files
from miniprogram_api.views.jobs import document_accepted, import_file
from service.directory import enterprise_import, enterprises
from service.jobs import imports as enterprise_jobs
from uploads_schema.common import ErrorSchema
from uploads_schema.directory import (
    EnterprisePageSchema,
    EnterprisePatchSchema,
    EnterpriseQuerySchema,
    EnterpriseResultSchema,
    EnterpriseSchema,
    ImportArgsSchema,
    ImportFileSchema,
    ImportReportSchema,
)

blp = Blueprint(
    "enterprises", __name__, url_prefix="/api/v1/enterprises", description="Enterprises 企业"
)


@blp.route("")
class Enterprises(MethodView):
    @blp.arguments(EnterpriseQuerySchema, location="query")
    @blp.response(200, EnterprisePageSchema)
    @blp.alt_response(401, schema=ErrorSchema)
    @blp.alt_response(404, schema=ErrorSchema)
    def get(self, args):
        """Enterprises in the caller's scope."""
        return enterprises.list_enterprises(context(), current_actor(), **args)

    @blp.arguments(EnterpriseSchema)
    @blp.response(201, EnterpriseResultSchema)
    @blp.alt_response(403, schema=ErrorSchema)
    @blp.alt_response(409, schema=ErrorSchema)
    def post(self, args):
        """Register an enterprise (admin); a checksum mismatch is saved with a warning."""
        return enterprises.create_enterprise(context(), current_actor(), **args)


@blp.route("/import")
@takes_files
class EnterpriseImport(MethodView):
    @blp.arguments(ImportArgsSchema, location="query")
    @blp.arguments(ImportFileSchema, location="files")
    @blp.response(200, ImportReportSchema)
    @blp.alt_response(403, schema=ErrorSchema)
    @blp.alt_response(415, schema=ErrorSchema)
    @document_accepted
    def post(self, args, files):
        """Import a CSV or XLSX file (admin); answers a report for every row. Files above
        IMPORT_SYNC_MAX_BYTES, or `async=1`, run as a job whose result is the report (202)."""
        return import_file(
            args, files["file"], enterprise_jobs.submit_import, enterprise_import.import_enterprises
        )


@blp.route("/<int:enterprise_id>")
class EnterpriseById(MethodView):
    @blp.response(200, EnterpriseSchema)
    @blp.alt_response(404, schema=ErrorSchema)
    def get(self, enterprise_id):
        """One enterprise."""
        return enterprises.get_enterprise(context(), current_actor(), enterprise_id)

    @blp.arguments(EnterprisePatchSchema)
    @blp.response(200, EnterpriseResultSchema)
    @blp.alt_response(403, schema=ErrorSchema)
    @blp.alt_response(404, schema=ErrorSchema)
    @blp.alt_response(409, schema=ErrorSchema)
    def patch(self, args, enterprise_id):
        """Change an enterprise (admin)."""
        return enterprises.update_enterprise(context(), current_actor(), enterprise_id, **args)
