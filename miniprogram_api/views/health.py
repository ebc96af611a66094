"""Liveness and readiness probes."""

from __future__ import annotations

import logging

import marshmallow as ma
from flask.views import MethodView
from sqlalchemy import text

from miniprogram_api.api import Blueprint
from miniprogram_api.auth import context
from service.core.errors import ServiceUnavailable
from service.core.storage import StorageError
from uploads_schema.common import ErrorSchema

blp = Blueprint("health", __name__, url_prefix="/api/v1", description="Health probes")
log = logging.getLogger(__name__)


class HealthSchema(ma.Schema):
    status = ma.fields.String(required=True)
    checks = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String())


@blp.route("/healthz")
class Healthz(MethodView):
    @blp.doc(security=[])
    @blp.response(200, HealthSchema)
    def get(self):
        """The process is up."""
        return {"status": "ok", "checks": {}}


@blp.route("/readyz")
class Readyz(MethodView):
    @blp.doc(security=[])
    @blp.response(200, HealthSchema)
    @blp.alt_response(503, schema=ErrorSchema)
    def get(self):
        """The database (and object storage, once configured) are reachable."""
        # The probe is public: it names what is down, never a host, port or error text (those
        # go to the server log).
        ctx = context()
        checks: dict[str, str] = {}
        try:
            with ctx.read() as uow:
                uow.session.execute(text("SELECT 1"))
            checks["database"] = "ok"
        except Exception as exc:
            log.warning("readiness: database unavailable: %s", exc)
            raise ServiceUnavailable(
                "数据库不可用", "Database unreachable", errors={"database": ["unavailable"]}
            ) from exc
        if ctx.storage is not None:
            try:
                ctx.storage.check()
            except StorageError as exc:
                log.warning("readiness: object storage unavailable: %s", exc)
                raise ServiceUnavailable(
                    "文件存储不可用",
                    "Object storage unreachable",
                    errors={"storage": ["unavailable"]},
                ) from exc
            checks["storage"] = "ok"
        if ctx.replica_factory is not None:
            # Named, not fatal: without the replica only statistics and exports fail (503),
            # while reports and fixes still work, so the box stays in the balancer.
            try:
                with ctx.read(replica=True) as uow:
                    uow.session.execute(text("SELECT 1"))
                checks["read_replica"] = "ok"
            except Exception as exc:
                log.warning("readiness: read replica unavailable: %s", exc)
                checks["read_replica"] = "unavailable"
        return {"status": "ok", "checks": checks}
