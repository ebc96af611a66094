"""双重预防 inspection tasks (排查任务): list, read, do."""

from __future__ import annotations

from flask.views import MethodView

from miniprogram_api.api import Blueprint
from miniprogram_api.auth import context, current_actor
from miniprogram_api.views.hazards import WRITE_HEADERS
from miniprogram_api.writes import idempotency_key
from service.inspections import tasks
from service.inspections.tasks import Answer
from uploads_schema.common import ErrorSchema
from uploads_schema.prevention import TaskPageSchema, TaskQuerySchema, TaskSchema, TaskSubmitSchema

blp = Blueprint(
    "tasks", __name__, url_prefix="/api/v1/tasks", description="Inspection tasks 排查任务"
)


@blp.route("")
class Tasks(MethodView):
    @blp.arguments(TaskQuerySchema, location="query")
    @blp.response(200, TaskPageSchema)
    def get(self, args):
        """Tasks at enterprises in the caller's scope (and their own), latest window first."""
        return tasks.list_tasks(context(), current_actor(), **args)


@blp.route("/<int:task_id>")
class TaskById(MethodView):
    @blp.response(200, TaskSchema)
    @blp.alt_response(404, schema=ErrorSchema)
    def get(self, task_id):
        """One task with its checklist items and, once done, the answers."""
        return tasks.get_task(context(), current_actor(), task_id)


@blp.route("/<int:task_id>/submit")
class TaskSubmit(MethodView):
    @blp.doc(**WRITE_HEADERS)
    @blp.arguments(TaskSubmitSchema)
    @blp.response(200, TaskSchema)
    @blp.alt_response(403, schema=ErrorSchema)
    @blp.alt_response(404, schema=ErrorSchema)
    @blp.alt_response(409, schema=ErrorSchema)
    @blp.alt_response(422, schema=ErrorSchema)
    def post(self, args, task_id):
        """Do the task: every item 合格/不合格/不涉及; each 不合格 item becomes a hazard."""
        ctx, actor = context(), current_actor()
        answers = [Answer(**a) for a in args.pop("answers")]
        task = tasks.submit_task(
            ctx, actor, task_id, answers=answers, **args, idem=idempotency_key(actor)
        )
        return tasks.get_task(ctx, actor, task.id)
