"""双重预防 risk points (风险点): register, describe, assess, attach checklists."""

from __future__ import annotations

from flask.views import MethodView

from miniprogram_api.api import Blueprint
from miniprogram_api.auth import context, current_actor
from service.inspections import checklists
from service.risks import points
from uploads_schema.common import ErrorSchema
from uploads_schema.prevention import (
    AssessmentInputSchema,
    AssessmentSchema,
    AttachmentInputSchema,
    AttachmentSchema,
    RiskPointPageSchema,
    RiskPointPatchSchema,
    RiskPointQuerySchema,
    RiskPointSchema,
)

blp = Blueprint("points", __name__, url_prefix="/api/v1/points", description="Risk points 风险点")


@blp.route("")
class Points(MethodView):
    @blp.arguments(RiskPointQuerySchema, location="query")
    @blp.response(200, RiskPointPageSchema)
    @blp.alt_response(404, schema=ErrorSchema)
    def get(self, args):
        """Risk points in the caller's scope with their level and state (the 四色 table)."""
        return points.list_points(context(), current_actor(), **args)

    @blp.arguments(RiskPointSchema)
    @blp.response(201, RiskPointSchema)
    @blp.alt_response(403, schema=ErrorSchema)
    @blp.alt_response(404, schema=ErrorSchema)
    @blp.alt_response(409, schema=ErrorSchema)
    def post(self, args):
        """Register a risk point at an enterprise (its officer, or an admin)."""
        return points.create_point(context(), current_actor(), **args)


@blp.route("/<int:point_id>")
class PointById(MethodView):
    @blp.response(200, RiskPointSchema)
    @blp.alt_response(404, schema=ErrorSchema)
    def get(self, point_id):
        """One risk point."""
        return points.get_point(context(), current_actor(), point_id)

    @blp.arguments(RiskPointPatchSchema)
    @blp.response(200, RiskPointSchema)
    @blp.alt_response(403, schema=ErrorSchema)
    @blp.alt_response(404, schema=ErrorSchema)
    @blp.alt_response(409, schema=ErrorSchema)
    def patch(self, args, point_id):
        """Change a point's description, measures or 管控层级 (its officer, or an admin)."""
        return points.update_point(context(), current_actor(), point_id, **args)


@blp.route("/<int:point_id>/assessments")
class PointAssessments(MethodView):
    @blp.response(200, AssessmentSchema(many=True))
    @blp.alt_response(404, schema=ErrorSchema)
    def get(self, point_id):
        """The point's assessments, latest first (its grading history)."""
        return points.list_assessments(context(), current_actor(), point_id)

    @blp.arguments(AssessmentInputSchema)
    @blp.response(201, AssessmentSchema)
    @blp.alt_response(403, schema=ErrorSchema)
    @blp.alt_response(404, schema=ErrorSchema)
    @blp.alt_response(422, schema=ErrorSchema)
    def post(self, args, point_id):
        """Assess the point by LEC, LS or directly; the result becomes its level."""
        return points.assess(context(), current_actor(), point_id, **args)


@blp.route("/<int:point_id>/checklists")
class PointChecklists(MethodView):
    @blp.response(200, AttachmentSchema(many=True))
    @blp.alt_response(404, schema=ErrorSchema)
    def get(self, point_id):
        """The checklists attached to the point, with frequency and assignee."""
        return checklists.list_attachments(context(), current_actor(), point_id)

    @blp.arguments(AttachmentInputSchema)
    @blp.response(201, AttachmentSchema)
    @blp.alt_response(403, schema=ErrorSchema)
    @blp.alt_response(404, schema=ErrorSchema)
    @blp.alt_response(409, schema=ErrorSchema)
    @blp.alt_response(422, schema=ErrorSchema)
    def post(self, args, point_id):
        """Attach a checklist: 每班 … 每年, by a role at the enterprise or a named person."""
        return checklists.attach(context(), current_actor(), point_id, **args)


@blp.route("/<int:point_id>/checklists/<int:attachment_id>")
class PointChecklistById(MethodView):
    @blp.response(200, AttachmentSchema)
    @blp.alt_response(403, schema=ErrorSchema)
    @blp.alt_response(404, schema=ErrorSchema)
    def delete(self, point_id, attachment_id):
        """Detach a checklist: no new tasks (those generated stay)."""
        return checklists.detach(context(), current_actor(), point_id, attachment_id)
