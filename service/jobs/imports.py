"""Imports of big files as jobs: the file goes to object storage (every consumer of every
box can read it there), the job runs the same import the direct request runs."""

from __future__ import annotations

import hashlib
import secrets

from service.access.scoping import Actor
from service.core.context import Context
from service.directory.regions import require_admin
from service.jobs import jobs, kinds
from service.jobs.models import Job
from uploads_schema.vocabulary import ImportMode


def submit_import(
    ctx: Context, actor: Actor, filename: str, data: bytes, mode: ImportMode
) -> Job:
    """Keep the file and queue its import (admin); the row report is the job's result."""
    return _submit(ctx, actor, kinds.ENTERPRISE_IMPORT, filename, data, mode)


def submit_staff_import(
    ctx: Context, actor: Actor, filename: str, data: bytes, mode: ImportMode
) -> Job:
    """Keep the file and queue the staff import (admin); the row report with the one-time
    passwords is the job's result, for its creator only and for a short time."""
    return _submit(ctx, actor, kinds.STAFF_IMPORT, filename, data, mode)


def _submit(
    ctx: Context, actor: Actor, kind: str, filename: str, data: bytes, mode: ImportMode
) -> Job:
    require_admin(actor)  # refused now, not as a failed job
    assert ctx.storage is not None
    key = f"jobs/inputs/{secrets.token_hex(16)}"
    ctx.storage.put(key, data, "application/octet-stream")
    params = {
        "filename": filename,
        "mode": mode.value,
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    job = jobs.submit(ctx, actor, kind, params, input_key=key)
    if job.input_key != key:  # the same file is already being imported: that job answers
        ctx.storage.delete(key)
    return job
