"""Filed documents (文书): each region's 月度通报, 周统计 and 季度排名, kept for the console."""

from __future__ import annotations

from flask import Response, redirect
from flask.views import MethodView

from miniprogram_api.api import Blueprint
from miniprogram_api.auth import context, current_actor
from service.documents import filing
from uploads_schema.common import ErrorSchema
from uploads_schema.documents import DocumentPageSchema, DocumentQuerySchema

blp = Blueprint("documents", __name__, url_prefix="/api/v1/documents", description="Documents 文书")

_REDIRECT_HEADERS = {
    "Location": {
        "description": "A URL of the file valid for MEDIA_URL_TTL_SECONDS",
        "schema": {"type": "string", "format": "uri"},
    }
}


@blp.route("")
class Documents(MethodView):
    @blp.arguments(DocumentQuerySchema, location="query")
    @blp.response(200, DocumentPageSchema)
    @blp.alt_response(401, schema=ErrorSchema)
    @blp.alt_response(403, schema=ErrorSchema)
    @blp.alt_response(404, schema=ErrorSchema)
    def get(self, args):
        """Filed documents of the caller's subtree (supervisors; admins: all), newest first."""
        return filing.list_documents(context(), current_actor(), **args)


def _file(document_id: int, fmt: str) -> Response:
    response = redirect(filing.file_link(context(), current_actor(), document_id, fmt), 302)
    # The target carries a credential and expires soon: nobody may store the redirect.
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@blp.route("/<int:document_id>/file.pdf")
class DocumentPdf(MethodView):
    @blp.response(302, description="Redirect to the PDF", headers=_REDIRECT_HEADERS)
    @blp.alt_response(403, schema=ErrorSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="document_not_found")
    def get(self, document_id):
        """A filed document's PDF: 302 to a short-lived link."""
        return _file(document_id, "pdf")


@blp.route("/<int:document_id>/file.docx")
class DocumentDocx(MethodView):
    @blp.response(302, description="Redirect to the Word file", headers=_REDIRECT_HEADERS)
    @blp.alt_response(403, schema=ErrorSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="document_not_found")
    def get(self, document_id):
        """A filed document's Word file (DOCX): 302 to a short-lived link."""
        return _file(document_id, "docx")
