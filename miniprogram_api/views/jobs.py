"""Jobs (任务): poll a long operation, download its result, cancel it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Response, current_app
from flask.views import MethodView
from werkzeug.datastructures import FileStorage

from miniprogram_api.api import Blueprint
from miniprogram_api.auth import context, current_actor
from service.access.scoping import Actor
from service.core.context import Context
from service.core.errors import ValidationFailed
from service.jobs import jobs
from service.jobs.models import Job
from uploads_schema.common import ErrorSchema
from uploads_schema.jobs import JobListSchema, JobSchema
from uploads_schema.vocabulary import ImportMode

blp = Blueprint("jobs", __name__, url_prefix="/api/v1/jobs", description="Jobs 任务")

_JOB = JobSchema()
# How long a client should wait before its next poll.
POLL_SECONDS = "2"

ACCEPTED_HEADERS = {
    "Location": {
        "description": "The job to poll: /api/v1/jobs/{id}",
        "schema": {"type": "string", "format": "uri-reference"},
    },
    "Retry-After": {"description": "Seconds before the next poll", "schema": {"type": "integer"}},
}


def document_accepted(view: Any) -> Any:
    """The 202 an operation answers when it runs as a job."""
    return blp.alt_response(
        202,
        schema=JobSchema,
        description="Runs as a job: poll Location until it succeeded or failed",
        headers=ACCEPTED_HEADERS,
    )(view)


def _dump(view: jobs.JobView) -> dict[str, Any]:
    return _JOB.dump(view)  # type: ignore[no-any-return]


def accepted(view: jobs.JobView) -> Response:
    """202 Accepted with the job and where to poll it."""
    response = current_app.json.response(_dump(view))
    response.status_code = 202
    response.headers["Location"] = f"/api/v1/jobs/{view.id}"
    response.headers["Retry-After"] = POLL_SECONDS
    response.headers["Cache-Control"] = "private, no-store"
    return response


def import_file(
    args: dict[str, Any],
    upload: FileStorage,
    submit: Callable[[Context, Actor, str, bytes, ImportMode], Job],
    run: Callable[..., Any],
) -> Any:
    """A CSV/XLSX import's answer (`ImportArgsSchema`, `ImportFileSchema`): an empty file is
    refused; with `async=1`, or above IMPORT_SYNC_MAX_BYTES, the file goes to a job by
    `submit` (202); else `run` imports it now and its report is the answer."""
    data = upload.read()
    if not data:
        raise ValidationFailed("文件为空", "The file is empty", errors={"file": ["empty"]})
    ctx, actor, filename, mode = context(), current_actor(), upload.filename or "", args["mode"]
    if args["run_async"] or len(data) > ctx.settings.import_sync_max_bytes:
        return accepted(jobs.view(ctx, submit(ctx, actor, filename, data, mode)))
    return run(ctx, actor, filename=filename, data=data, mode=mode)


@blp.route("")
class Jobs(MethodView):
    @blp.response(200, JobListSchema)
    @blp.alt_response(401, schema=ErrorSchema)
    def get(self):
        """The caller's latest jobs, newest first."""
        return {"items": jobs.list_jobs(context(), current_actor())}


@blp.route("/<int:job_id>")
class JobById(MethodView):
    @blp.response(200, JobSchema, headers=ACCEPTED_HEADERS)
    @blp.alt_response(404, schema=ErrorSchema)
    def get(self, job_id):
        """A job of the caller's: state, progress, timings, and its download link or error."""
        view = jobs.get_job(context(), current_actor(), job_id)
        response = current_app.json.response(_dump(view))
        # The download link inside expires soon: nobody may keep the answer.
        response.headers["Cache-Control"] = "private, no-store"
        if view.state.value in ("queued", "running"):
            response.headers["Retry-After"] = POLL_SECONDS
        return response


@blp.route("/<int:job_id>/cancel")
class JobCancel(MethodView):
    @blp.response(200, JobSchema)
    @blp.alt_response(404, schema=ErrorSchema)
    @blp.alt_response(409, schema=ErrorSchema, description="job_finished")
    def post(self, job_id):
        """Cancel a queued or running job (cancelling a cancelled job answers it again)."""
        return jobs.cancel_job(context(), current_actor(), job_id)
