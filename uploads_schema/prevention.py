"""Schemas for 双重预防: risk points, assessments, checklists, attachments, tasks."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from uploads_schema.common import DayOrMoment, Id, PageArgsSchema, enum_field, page_of
from uploads_schema.vocabulary import (
    AssessmentMethod,
    CheckinFlag,
    ControlLevel,
    Frequency,
    HazardCategory,
    Industry,
    ItemOutcome,
    MeasureType,
    PointKind,
    RiskColor,
    Role,
    TaskState,
    TaskStatus,
)

_lat = validate.Range(min=-90, max=90)
_lng = validate.Range(min=-180, max=180)


class ControlMeasureSchema(ma.Schema):
    """A control measure (管控措施) and its type."""

    # Kept as JSON on the point: the value, not the enum member.
    type = fields.String(
        required=True,
        validate=validate.OneOf([m.value for m in MeasureType]),
        metadata={"enum": [m.value for m in MeasureType]},
    )
    content = fields.String(required=True, validate=validate.Length(min=1, max=500))


class RiskPointSchema(ma.Schema):
    """A risk point (风险点); `risk_level` comes from its latest assessment, `out_of_control`
    (失控) from its tasks and open 重大 hazards."""

    id = fields.Integer(dump_only=True)
    enterprise_id = Id(required=True)
    enterprise_name = fields.String(dump_only=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    kind = enum_field(PointKind, load_default=PointKind.AREA)
    location = fields.String(load_default="", validate=validate.Length(max=200))
    lat = fields.Float(allow_none=True, load_default=None, validate=_lat)
    lng = fields.Float(allow_none=True, load_default=None, validate=_lng)
    department = fields.String(load_default="", validate=validate.Length(max=100))
    responsible_person = fields.String(load_default="", validate=validate.Length(max=100))
    control_level = enum_field(ControlLevel, allow_none=True, load_default=None)
    measures = fields.List(
        fields.Nested(ControlMeasureSchema), load_default=list, validate=validate.Length(max=50)
    )
    risk_level = enum_field(RiskColor, dump_only=True, allow_none=True)
    out_of_control = fields.Boolean(dump_only=True)
    active = fields.Boolean(dump_only=True)


class RiskPointPatchSchema(ma.Schema):
    """Any subset of a point's own fields (its level changes by assessment only)."""

    name = fields.String(validate=validate.Length(min=1, max=100))
    kind = enum_field(PointKind)
    location = fields.String(validate=validate.Length(max=200))
    lat = fields.Float(allow_none=True, validate=_lat)
    lng = fields.Float(allow_none=True, validate=_lng)
    department = fields.String(validate=validate.Length(max=100))
    responsible_person = fields.String(validate=validate.Length(max=100))
    control_level = enum_field(ControlLevel, allow_none=True)
    measures = fields.List(fields.Nested(ControlMeasureSchema), validate=validate.Length(max=50))
    active = fields.Boolean()


class RiskPointQuerySchema(PageArgsSchema):
    enterprise_id = Id()
    region_id = Id()
    risk_level = enum_field(RiskColor)
    kind = enum_field(PointKind)
    control_level = enum_field(ControlLevel)
    out_of_control = fields.Boolean()


class AssessmentInputSchema(ma.Schema):
    """LEC: inputs {l, e, c} from the standard tables; LS: {l, s} on 1–5; direct: level and
    reason."""

    method = enum_field(AssessmentMethod, required=True)
    inputs = fields.Dict(
        keys=fields.String(validate=validate.OneOf(["l", "e", "c", "s"])),
        values=fields.Float(),
        load_default=dict,
    )
    level = enum_field(RiskColor, load_default=None, allow_none=True)
    reason = fields.String(load_default="", validate=validate.Length(max=1000))
    assessor_name = fields.String(load_default="", validate=validate.Length(max=100))


class AssessmentSchema(ma.Schema):
    id = fields.Integer()
    point_id = fields.Integer()
    seq = fields.Integer(metadata={"description": "1 for the first assessment, then 2, …"})
    method = enum_field(AssessmentMethod)
    inputs = fields.Dict(keys=fields.String(), values=fields.Float())
    score = fields.Float(allow_none=True, metadata={"description": "D (LEC) or R (LS)"})
    level = enum_field(RiskColor)
    reason = fields.String()
    assessor_name = fields.String()
    assessed_by_id = fields.Integer(allow_none=True)
    created_at = fields.AwareDateTime()


class ChecklistItemSchema(ma.Schema):
    """A checklist item; give `id` to keep an existing one when editing the list."""

    id = Id(load_default=None, allow_none=True)
    content = fields.String(required=True, validate=validate.Length(min=1, max=500))
    basis = fields.String(load_default="", validate=validate.Length(max=1000))
    method = fields.String(load_default="", validate=validate.Length(max=500))


_items = fields.List(fields.Nested(ChecklistItemSchema), validate=validate.Length(min=1, max=200))


class ChecklistSchema(ma.Schema):
    """排查清单: an enterprise's own (`enterprise_id`), or shared by a region (`region_id`,
    maybe for one `industry`)."""

    id = fields.Integer(dump_only=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    enterprise_id = Id(load_default=None, allow_none=True)
    region_id = Id(load_default=None, allow_none=True)
    industry = enum_field(Industry, load_default=None, allow_none=True)
    items = fields.List(
        fields.Nested(ChecklistItemSchema), required=True, validate=validate.Length(min=1, max=200)
    )
    active = fields.Boolean(dump_only=True)


class ChecklistPatchSchema(ma.Schema):
    name = fields.String(validate=validate.Length(min=1, max=100))
    items = _items
    active = fields.Boolean()


class ChecklistQuerySchema(PageArgsSchema):
    enterprise_id = Id(metadata={"description": "Only the lists this enterprise may use"})
    shared = fields.Boolean()


class AttachmentInputSchema(ma.Schema):
    """Attach a checklist: how often, and by whom (a role at the enterprise or a person)."""

    checklist_id = Id(required=True)
    frequency = enum_field(Frequency, required=True)
    assignee_role = enum_field(Role, load_default=None, allow_none=True)
    assignee_user_id = Id(load_default=None, allow_none=True)


class AttachmentSchema(ma.Schema):
    id = fields.Integer()
    point_id = fields.Integer()
    checklist_id = fields.Integer()
    frequency = enum_field(Frequency)
    assignee_role = enum_field(Role, allow_none=True)
    assignee_user_id = fields.Integer(allow_none=True)
    active = fields.Boolean()


class ShiftsSchema(ma.Schema):
    """Shift start times, China time ("24:00" is midnight)."""

    starts = fields.List(
        fields.String(validate=validate.Regexp(r"^([01][0-9]|2[0-4]):[0-5][0-9]$")),
        required=True,
        validate=validate.Length(min=1, max=6),
    )


class TaskResultSchema(ma.Schema):
    item_id = fields.Integer()
    outcome = enum_field(ItemOutcome)
    note = fields.String()
    media_ids = fields.List(fields.Integer())
    hazard_id = fields.Integer(allow_none=True)


class TaskSchema(ma.Schema):
    """排查任务; `state` is upcoming, due, overdue (window ended, not done) or done."""

    id = fields.Integer()
    point_id = fields.Integer()
    point_name = fields.String()
    checklist_id = fields.Integer()
    checklist_name = fields.String()
    enterprise_id = fields.Integer()
    frequency = enum_field(Frequency)
    window_start = fields.AwareDateTime()
    window_end = fields.AwareDateTime(metadata={"description": "Exclusive"})
    assignee_role = enum_field(Role, allow_none=True)
    assignee_user_id = fields.Integer(allow_none=True)
    status = enum_field(TaskStatus)
    state = enum_field(TaskState)
    done_at = fields.AwareDateTime(allow_none=True)
    done_by_id = fields.Integer(allow_none=True)
    distance_m = fields.Float(allow_none=True)
    flagged = fields.Boolean()
    flag_reason = enum_field(CheckinFlag, allow_none=True)
    can_do = fields.Boolean(metadata={"description": "The caller may submit it now"})
    items = fields.List(fields.Nested(ChecklistItemSchema))
    results = fields.List(fields.Nested(TaskResultSchema))


class TaskQuerySchema(PageArgsSchema):
    enterprise_id = Id()
    point_id = Id()
    state = enum_field(TaskState)
    mine = fields.Boolean(load_default=False, metadata={"description": "Only the caller's"})
    date_from = DayOrMoment(data_key="from", metadata={"description": "Windows ending after"})
    date_to = DayOrMoment(
        data_key="to", metadata={"description": "Windows ending by (a date: that day)"}
    )


class TaskAnswerSchema(ma.Schema):
    """One item's answer; 不合格 (fail) needs a note and 1–9 of the caller's photos."""

    item_id = Id(required=True)
    outcome = enum_field(ItemOutcome, required=True)
    note = fields.String(load_default="", validate=validate.Length(max=1000))
    media_ids = fields.List(Id(), load_default=list, validate=validate.Length(max=9))
    category = enum_field(
        HazardCategory,
        load_default=HazardCategory.OTHER,
        metadata={"description": "The hazard's category, for a failed item"},
    )


class TaskSubmitSchema(ma.Schema):
    answers = fields.List(
        fields.Nested(TaskAnswerSchema), required=True, validate=validate.Length(min=1, max=200)
    )
    lat = fields.Float(required=True, validate=_lat)
    lng = fields.Float(required=True, validate=_lng)
    accuracy = fields.Float(
        load_default=None, allow_none=True, validate=validate.Range(min=0, max=100_000)
    )


RiskPointPageSchema = page_of(RiskPointSchema, "RiskPointPage")
ChecklistPageSchema = page_of(ChecklistSchema, "ChecklistPage")
TaskPageSchema = page_of(TaskSchema, "TaskPage")
