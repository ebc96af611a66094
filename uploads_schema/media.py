"""Schemas for photo uploads (照片上传) and their short-lived links."""

from __future__ import annotations

from typing import Any, ClassVar

import marshmallow as ma
from marshmallow import fields, validate

from uploads_schema.common import enum_field
from uploads_schema.vocabulary import MediaStatus


class FileField(fields.Field):
    """A multipart file part; a plain text field of the same name is refused."""

    default_error_messages: ClassVar[dict[str, str]] = {
        "not_a_file": "请以文件方式上传 / must be sent as a file part"
    }

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        # Duck-typed so this layer needs no Werkzeug: any object with a readable stream.
        if not hasattr(value, "stream") or not hasattr(value.stream, "read"):
            raise self.make_error("not_a_file")
        return value


class UploadSchema(ma.Schema):
    """The `wx.uploadFile` body: the photo in `file`, options as other form fields."""

    class Meta:
        unknown = ma.EXCLUDE  # wx.uploadFile callers may send formData we do not use

    file = FileField(
        required=True,
        metadata={
            "type": "string",
            "format": "binary",
            "description": "One photo: JPEG, PNG or WebP, up to MEDIA_MAX_BYTES (20 MB)",
        },
    )
    share_location = fields.Boolean(
        load_default=False,
        metadata={
            "description": "1/true keeps the photo's capture time and GPS on the server "
            "(never in the stored file); otherwise they are discarded"
        },
    )


class MediaSchema(ma.Schema):
    """An uploaded photo with links valid for MEDIA_URL_TTL_SECONDS."""

    id = fields.Integer(attribute="media.id", required=True)
    sha256 = fields.String(
        attribute="media.sha256",
        required=True,
        metadata={"description": "SHA-256 of the stored (re-encoded) JPEG"},
    )
    width = fields.Integer(attribute="media.width", required=True)
    height = fields.Integer(attribute="media.height", required=True)
    status = enum_field(MediaStatus, attribute="media.status", required=True)
    created_at = fields.DateTime(attribute="media.created_at", required=True)
    url = fields.String(required=True, metadata={"description": "Short-lived photo URL"})
    thumbnail_url = fields.String(
        required=True, metadata={"description": "Short-lived thumbnail URL (long side 480 px)"}
    )


class ScanUploadSchema(ma.Schema):
    """An anonymous photo from a scanned code: the file, and the scan session's token."""

    class Meta:
        unknown = ma.EXCLUDE

    file = FileField(
        required=True,
        metadata={
            "type": "string",
            "format": "binary",
            "description": "One photo: JPEG, PNG or WebP, up to MEDIA_MAX_BYTES (20 MB)",
        },
    )
    upload_token = fields.String(
        load_default=None,
        validate=validate.Regexp(r"^[A-Za-z0-9_-]{22,128}$"),
        metadata={
            "description": "The scan session's token (22–128 URL-safe characters): the one "
            "an earlier answer gave, or the client's own; absent, a new one is made"
        },
    )


class ScanMediaSchema(MediaSchema):
    """An anonymous photo, and the token an anonymous report from this code presents."""

    upload_token = fields.String(
        required=True,
        metadata={"description": "Send it with the next photos and with the report"},
    )


class SignedLinkSchema(ma.Schema):
    """The query of a signed local-storage link; anything malformed is simply not genuine."""

    expires = fields.String(load_default="", metadata={"description": "Unix time"})
    sig = fields.String(load_default="", metadata={"description": "HMAC-SHA256 signature"})
    disposition = fields.String(
        data_key="response-content-disposition",
        load_default="",
        metadata={"description": "The Content-Disposition to answer (job results), signed"},
    )
