"""Filed documents (文书): the list the console shows and its filters."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from uploads_schema.common import Id, Moment, PageArgsSchema, enum_field, page_of
from uploads_schema.vocabulary import DocumentKind


class DocumentQuerySchema(PageArgsSchema):
    kind = enum_field(DocumentKind, metadata={"description": "monthly | weekly | quarterly"})
    region_id = Id(metadata={"description": "One region's documents (404 outside your scope)"})
    period = fields.String(
        validate=validate.Regexp(
            r"^\d{4}-((0[1-9]|1[0-2])|W(0[1-9]|[1-4][0-9]|5[0-3])|Q[1-4])$",
            error="期间格式为 YYYY-MM、YYYY-Www 或 YYYY-Qn",
        ),
        metadata={"description": "2026-11 (month), 2026-W48 (ISO week), 2026-Q4 (quarter)"},
    )


class DocumentRegionSchema(ma.Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)


class DocumentFilesSchema(ma.Schema):
    pdf = fields.Url(required=True, metadata={"description": "Valid MEDIA_URL_TTL_SECONDS"})
    docx = fields.Url(required=True, metadata={"description": "Valid MEDIA_URL_TTL_SECONDS"})


class DocumentSchema(ma.Schema):
    id = fields.Integer(required=True)
    kind = enum_field(
        DocumentKind, required=True, metadata={"description": "月度通报 / 周统计 / 季度排名"}
    )
    region = fields.Nested(DocumentRegionSchema, required=True)
    period = fields.String(required=True, metadata={"example": "2026-11"})
    title = fields.String(required=True)
    made_at = Moment(required=True)
    files = fields.Nested(
        DocumentFilesSchema,
        required=True,
        metadata={"description": "Short-lived download links (list again for fresh ones)"},
    )


DocumentPageSchema = page_of(DocumentSchema, "DocumentPage")
