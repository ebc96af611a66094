"""双重预防 checklists (排查清单) and an enterprise's shifts."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from miniprogram_api.api import Blueprint
from miniprogram_api.auth import context, current_actor
from service.inspections import checklists
from service.inspections.checklists import ItemInput
from uploads_schema.common import ErrorSchema
from uploads_schema.prevention import (
    ChecklistPageSchema,
    ChecklistPatchSchema,
    ChecklistQuerySchema,
    ChecklistSchema,
    ShiftsSchema,
)

blp = Blueprint(
    "checklists", __name__, url_prefix="/api/v1", description="Checklists 排查清单 and shifts"
)


def _items(args: dict[str, Any]) -> dict[str, Any]:
    if "items" in args:
        args["items"] = [ItemInput(**item) for item in args["items"]]
    return args


@blp.route("/checklists")
class Checklists(MethodView):
    @blp.arguments(ChecklistQuerySchema, location="query")
    @blp.response(200, ChecklistPageSchema)
    @blp.alt_response(404, schema=ErrorSchema)
    def get(self, args):
        """Checklists the caller may see (an enterprise's own, and the shared ones)."""
        return checklists.list_checklists(context(), current_actor(), **args)

    @blp.arguments(ChecklistSchema)
    @blp.response(201, ChecklistSchema)
    @blp.alt_response(403, schema=ErrorSchema)
    @blp.alt_response(404, schema=ErrorSchema)
    def post(self, args):
        """Create a checklist: an enterprise's own (its officer), or shared by a region."""
        return checklists.create_checklist(context(), current_actor(), **_items(args))


@blp.route("/checklists/<int:checklist_id>")
class ChecklistById(MethodView):
    @blp.response(200, ChecklistSchema)
    @blp.alt_response(404, schema=ErrorSchema)
    def get(self, checklist_id):
        """One checklist with its items."""
        return checklists.get_checklist(context(), current_actor(), checklist_id)

    @blp.arguments(ChecklistPatchSchema)
    @blp.response(200, ChecklistSchema)
    @blp.alt_response(403, schema=ErrorSchema)
    @blp.alt_response(404, schema=ErrorSchema)
    def patch(self, args, checklist_id):
        """Rename, edit the items of (answered items are kept for their tasks) or retire."""
        return checklists.update_checklist(context(), current_actor(), checklist_id, **_items(args))


@blp.route("/enterprises/<int:enterprise_id>/shifts")
class EnterpriseShifts(MethodView):
    @blp.response(200, ShiftsSchema)
    @blp.alt_response(404, schema=ErrorSchema)
    def get(self, enterprise_id):
        """The enterprise's shift start times for checks done 每班."""
        return {"starts": checklists.shifts_of(context(), current_actor(), enterprise_id)}

    @blp.arguments(ShiftsSchema)
    @blp.response(200, ShiftsSchema)
    @blp.alt_response(403, schema=ErrorSchema)
    @blp.alt_response(404, schema=ErrorSchema)
    def put(self, args, enterprise_id):
        """Set the enterprise's shift start times (its officer, or an admin)."""
        starts = checklists.set_shifts(context(), current_actor(), enterprise_id, args["starts"])
        return {"starts": starts}
