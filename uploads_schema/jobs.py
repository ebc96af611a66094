"""Jobs (任务): what a poll answers, and the `async` switch of the operations that may run
as one."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields

from uploads_schema.common import ErrorSchema, Moment

JOB_STATES = ("queued", "running", "succeeded", "failed", "cancelled")


def async_field() -> fields.Boolean:
    """`?async=1`: run as a job (202 + Location) whatever the size."""
    return fields.Boolean(
        data_key="async",
        load_default=False,
        metadata={
            "description": "1: answer 202 with a job to poll (GET /api/v1/jobs/{id}) instead "
            "of the file; big requests become jobs anyway"
        },
    )


class ProgressSchema(ma.Schema):
    done = fields.Integer(required=True, metadata={"description": "Units done (pages, rows)"})
    total = fields.Integer(allow_none=True, metadata={"description": "Units in all, once known"})
    message = fields.String(required=True, metadata={"description": "What it is doing (zh-CN)"})


class JobResultSchema(ma.Schema):
    name = fields.String(required=True, metadata={"description": "File name to save as"})
    content_type = fields.String(required=True)
    size = fields.Integer(required=True, metadata={"description": "Bytes"})
    expires_at = Moment(required=True, metadata={"description": "When the file is deleted"})
    url = fields.Url(
        required=True,
        metadata={"description": "Download link, valid for MEDIA_URL_TTL_SECONDS: poll again"},
    )


class JobSchema(ma.Schema):
    id = fields.Integer(required=True)
    kind = fields.String(
        required=True,
        metadata={"description": "posters | export | enterprise_import | staff_import | document"},
    )
    state = fields.String(required=True, metadata={"enum": list(JOB_STATES)})
    progress = fields.Nested(ProgressSchema, required=True)
    attempts = fields.Integer(required=True, metadata={"description": "Runs started"})
    created_at = Moment(required=True)
    started_at = Moment(allow_none=True)
    finished_at = Moment(allow_none=True)
    result = fields.Nested(
        JobResultSchema, allow_none=True, metadata={"description": "When succeeded"}
    )
    result_expired = fields.Boolean(
        required=True, metadata={"description": "Succeeded, but the file was already deleted"}
    )
    summary = fields.Dict(
        allow_none=True, metadata={"description": "Counts of an import's row report"}
    )
    error = fields.Nested(ErrorSchema, allow_none=True, metadata={"description": "When failed"})


class JobListSchema(ma.Schema):
    items = fields.List(fields.Nested(JobSchema), required=True)
