"""Photos: upload (the wx.uploadFile shape), redirects to short-lived URLs, signed local files."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

from flask import Request, Response, redirect, send_file
from flask.views import MethodView
from werkzeug.datastructures import CombinedMultiDict

from miniprogram_api.api import Blueprint, BodyParser
from miniprogram_api.auth import context, current_actor
from miniprogram_api.inputs import takes_files
from miniprogram_api.limits import caller_key, limiter, upload_limit
from service.core.downloads import content_disposition
from service.media import photos as media
from uploads_schema.common import ErrorSchema
from uploads_schema.media import MediaSchema, SignedLinkSchema, UploadSchema

blp = Blueprint("media", __name__, url_prefix="/api/v1/media", description="Photos 照片")
files_blp = Blueprint(
    "media_files",
    __name__,
    url_prefix="/media-files",
    description="Photo bytes behind signed, expiring links (local storage only)",
)


class MultipartParser(BodyParser):
    """Reads a multipart form's file and text parts as one body, as wx.uploadFile sends
    them, so a single schema validates both and OpenAPI documents both."""

    def load_files(self, req: Request, schema: Any) -> Any:
        return self._makeproxy(CombinedMultiDict([req.files, req.form]), schema)


blp.ARGUMENTS_PARSER = MultipartParser()

_REDIRECT_HEADERS = {
    "Location": {
        "description": "A URL of the photo valid for MEDIA_URL_TTL_SECONDS",
        "schema": {"type": "string", "format": "uri"},
    }
}


def _redirect(url: str) -> Response:
    response = redirect(url, 302)
    # The target carries a credential and expires soon: nobody may store the redirect.
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@blp.route("")
@takes_files
class MediaUpload(MethodView):
    decorators = (limiter.limit(upload_limit, key_func=caller_key),)

    @blp.arguments(UploadSchema, location="files")
    @blp.response(201, MediaSchema)
    @blp.alt_response(401, schema=ErrorSchema)
    @blp.alt_response(413, schema=ErrorSchema, description="file_too_large / image_too_large")
    @blp.alt_response(415, schema=ErrorSchema, description="unsupported_media_type")
    @blp.alt_response(422, schema=ErrorSchema, description="image_corrupt / validation_error")
    @blp.alt_response(429, schema=ErrorSchema, description="rate_limited")
    @blp.alt_response(503, schema=ErrorSchema, description="storage_unavailable")
    def post(self, args):
        """Upload one photo (multipart field `file`); retries answer the same row."""
        return media.upload_photo(
            context(),
            current_actor(),
            args["file"].stream,
            share_location=args["share_location"],
        )


@blp.route("/<int:media_id>")
class MediaPhoto(MethodView):
    @blp.response(302, description="Redirect to the photo", headers=_REDIRECT_HEADERS)
    @blp.alt_response(401, schema=ErrorSchema)
    @blp.alt_response(404, schema=ErrorSchema)
    @blp.alt_response(503, schema=ErrorSchema)
    def get(self, media_id):
        """Fetch a photo: 302 to a short-lived URL (the uploader or an admin)."""
        return _redirect(media.photo_url(context(), current_actor(), media_id))


@blp.route("/<int:media_id>/thumbnail")
class MediaThumbnail(MethodView):
    @blp.response(302, description="Redirect to the thumbnail", headers=_REDIRECT_HEADERS)
    @blp.alt_response(401, schema=ErrorSchema)
    @blp.alt_response(404, schema=ErrorSchema)
    @blp.alt_response(503, schema=ErrorSchema)
    def get(self, media_id):
        """Fetch a photo's thumbnail (long side 480 px): 302 to a short-lived URL."""
        return _redirect(media.photo_url(context(), current_actor(), media_id, thumbnail=True))


@files_blp.route("/<path:key>")
class SignedMediaFile(MethodView):
    @files_blp.doc(security=[])
    @files_blp.arguments(SignedLinkSchema, location="query")
    @files_blp.response(
        200,
        {"type": "string", "format": "binary"},
        description="The photo",
        content_type="image/jpeg",
    )
    @files_blp.alt_response(403, schema=ErrorSchema, description="media_link_invalid")
    @files_blp.alt_response(404, schema=ErrorSchema)
    def get(self, args, key):
        """Download a photo through a signed link from GET /api/v1/media/{id} (public)."""
        found = media.signed_file(
            context(), key, args["expires"], args["sig"], args["disposition"]
        )
        response = send_file(found.path, mimetype=found.content_type, conditional=True)
        # The link is per user and short-lived: only the user's own client may cache it,
        # and only while the link is valid.
        response.headers["Cache-Control"] = f"private, max-age={found.max_age}"
        response.headers["X-Content-Type-Options"] = "nosniff"
        # Defence in depth should the store ever hold something a browser would run.
        response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
        if found.disposition:  # a job's file: saved under the name the link was signed with
            response.headers["Content-Disposition"] = found.disposition
        else:  # a photo: shown in place, saved under its content-addressed name
            name = PurePosixPath(key).name
            response.headers["Content-Disposition"] = content_disposition(name, name, inline=True)
        return response
