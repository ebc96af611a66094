"""Schemas for supervisor statistics."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import fields, post_dump, pre_dump, validate

from uploads_schema.common import Day, Id, enum_field
from uploads_schema.jobs import async_field
from uploads_schema.vocabulary import (
    CATEGORY_LABELS,
    STATUS_LABELS,
    Bucket,
    Figure,
    HazardCategory,
    HazardLevel,
    HazardStatus,
    Industry,
)


class StatsArgsSchema(ma.Schema):
    """Scope (a region subtree, grid, enterprise, industry, level) and period (local dates)."""

    region_id = Id(metadata={"description": "Default: the supervisor's own region"})
    grid_id = Id()
    enterprise_id = Id()
    industry = enum_field(Industry)
    level = enum_field(HazardLevel)
    date_from = Day(data_key="from", metadata={"description": "Default: 1st of month"})
    date_to = Day(data_key="to", metadata={"description": "Inclusive; default month end"})


class ExportArgsSchema(StatsArgsSchema):
    run_async = async_field()


class BulletinArgsSchema(ma.Schema):
    """A region (default: the supervisor's own) and a month (default: last month)."""

    region_id = Id(metadata={"description": "Default: the supervisor's own region"})
    month = fields.String(
        validate=validate.Regexp(r"^\d{4}-(0[1-9]|1[0-2])$", error="月份格式为 YYYY-MM"),
        metadata={"description": "YYYY-MM, China time; default: last month", "example": "2026-11"},
    )
    run_async = async_field()


class WeeklyBulletinArgsSchema(ma.Schema):
    """A region (default: the supervisor's own) and a week (default: last week)."""

    region_id = Id(metadata={"description": "Default: the supervisor's own region"})
    week = fields.String(
        validate=validate.Regexp(
            r"^\d{4}-W(0[1-9]|[1-4][0-9]|5[0-3])$", error="周格式为 YYYY-Www（ISO 周）"
        ),
        metadata={"description": "ISO week; default: last week", "example": "2026-W44"},
    )
    date = Day(metadata={"description": "Any day of the week (China time), instead of `week`"})
    run_async = async_field()


class QuarterlyBulletinArgsSchema(ma.Schema):
    """A region (default: the supervisor's own) and a quarter (default: last quarter)."""

    region_id = Id(metadata={"description": "Default: the supervisor's own region"})
    quarter = fields.String(
        validate=validate.Regexp(r"^\d{4}-Q[1-4]$", error="季度格式为 YYYY-Qn"),
        metadata={"description": "Default: last quarter, China time", "example": "2026-Q3"},
    )
    run_async = async_field()


PREVENTION = "prevention"


class SummaryArgsSchema(StatsArgsSchema):
    include = fields.String(
        validate=validate.OneOf([PREVENTION]),
        metadata={
            "description": "`prevention`: also the 双重预防 figures (任务完成率, overdue tasks, "
            "hazards by origin, 风险四色分布, 失控 points)"
        },
    )


class RankingArgsSchema(SummaryArgsSchema):
    sort = enum_field(Figure, load_default=Figure.RECTIFICATION_RATE)


class TrendArgsSchema(SummaryArgsSchema):
    bucket = enum_field(Bucket, load_default=Bucket.WEEK)


def _prevention_field(schema: str, description: str) -> fields.Nested:
    # Named, as the 双重预防 schemas come further down; the key is left out unless asked for.
    return fields.Nested(schema, metadata={"description": f"{description} (include=prevention)"})


class _WithPrevention(ma.Schema):
    @post_dump
    def _drop_unasked(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        if data.get("prevention") is None:
            data.pop("prevention", None)
        return data


class FiguresSchema(ma.Schema):
    reported = fields.Integer(required=True, metadata={"description": "上报数"})
    rejected = fields.Integer(required=True, metadata={"description": "不属实"})
    valid = fields.Integer(required=True, metadata={"description": "有效 = 上报 − 不属实"})
    closed = fields.Integer(required=True, metadata={"description": "已销号"})
    open = fields.Integer(required=True, metadata={"description": "未销号"})
    overdue = fields.Integer(
        required=True,
        metadata={"description": "逾期（当前）: rectifying past the current deadline, now"},
    )
    awaiting_verification = fields.Integer(
        required=True, metadata={"description": "待验收（当前）: verifying, now"}
    )
    verification_late = fields.Integer(
        required=True,
        metadata={
            "description": "验收超时（当前）: verifying, the fix submitted more than "
            "VERIFY_WITHIN_HOURS ago"
        },
    )
    closed_on_time = fields.Integer(
        required=True,
        metadata={
            "description": "按期销号: closed, the accepted fix submitted by the original deadline"
        },
    )
    rectification_rate = fields.Float(allow_none=True, metadata={"description": "整改率"})
    on_time_rate = fields.Float(allow_none=True, metadata={"description": "按期整改率"})
    mean_hours_to_close = fields.Float(
        allow_none=True, metadata={"description": "平均销号时长（小时）"}
    )
    p90_hours_to_close = fields.Float(
        allow_none=True,
        metadata={
            "description": "90% 的已销号隐患在此时长内销号（小时，取所在分档上限）/ hours "
            "within which 90 % were closed, rounded up to a bucket edge (README)"
        },
    )
    reopen_count = fields.Integer(required=True)
    enterprises_checked = fields.Integer(required=True)
    enterprises_active = fields.Integer(required=True)
    coverage = fields.Float(allow_none=True, metadata={"description": "检查覆盖率"})


class ScopeSchema(ma.Schema):
    region_id = fields.Integer(allow_none=True)
    region_code = fields.String(allow_none=True)
    region_name = fields.String(required=True)
    date_from = fields.Date(data_key="from", attribute="period.first_day", required=True)
    date_to = fields.Date(data_key="to", attribute="period.last_day", required=True)


class SummarySchema(_WithPrevention):
    scope = fields.Nested(ScopeSchema, required=True)
    figures = fields.Nested(FiguresSchema, required=True)
    generated_at = fields.DateTime(required=True)
    prevention = _prevention_field("PreventionFiguresSchema", "双重预防 of the scope")


class RankingRowSchema(_WithPrevention):
    rank = fields.Integer(required=True)
    unit_id = fields.Integer(required=True)
    unit_code = fields.String(required=True)
    unit_name = fields.String(required=True)
    unit_kind = fields.String(required=True, metadata={"description": "region or grid"})
    figures = fields.Nested(FiguresSchema, required=True)
    prevention = _prevention_field("PreventionFiguresSchema", "双重预防 of the unit")


class RankingSchema(ma.Schema):
    scope = fields.Nested(ScopeSchema, required=True)
    sort = enum_field(Figure, required=True)
    rows = fields.List(fields.Nested(RankingRowSchema), required=True)


class TrendPointSchema(_WithPrevention):
    bucket = fields.String(required=True, metadata={"description": "YYYY-MM, or the Monday"})
    figures = fields.Nested(FiguresSchema, required=True)
    prevention = _prevention_field(
        "PreventionPeriodFiguresSchema",
        "tasks whose window ended in the bucket, hazards reported in it",
    )


class TrendSchema(ma.Schema):
    scope = fields.Nested(ScopeSchema, required=True)
    bucket = enum_field(Bucket, required=True)
    points = fields.List(fields.Nested(TrendPointSchema), required=True)


class MajorHazardSchema(ma.Schema):
    """One line of the 一单四制 台账."""

    id = fields.Integer(required=True)
    number = fields.String(required=True)
    enterprise_name = fields.String(required=True)
    category = enum_field(HazardCategory, required=True)
    category_label = fields.String(required=True)
    description = fields.String(required=True)
    status = enum_field(HazardStatus, required=True)
    status_label = fields.String(required=True)
    supervised = fields.Boolean(required=True, metadata={"description": "挂牌督办"})
    overdue = fields.Boolean(required=True)
    deadline = fields.DateTime(allow_none=True)
    original_deadline = fields.DateTime(allow_none=True)
    created_at = fields.DateTime(required=True)
    closed_at = fields.DateTime(allow_none=True)
    plan = fields.Dict(allow_none=True, metadata={"description": "五落实"})

    @pre_dump
    def _flatten(self, row: Any, **kwargs: Any) -> dict[str, Any]:
        h = row.hazard
        return {
            "id": h.id,
            "number": h.number,
            "enterprise_name": row.enterprise_name,
            "category": h.category,
            "category_label": CATEGORY_LABELS[h.category],
            "description": h.description,
            "status": h.status,
            "status_label": STATUS_LABELS[h.status],
            "supervised": h.supervised,
            "overdue": row.overdue,
            "deadline": h.deadline,
            "original_deadline": h.original_deadline,
            "created_at": h.created_at,
            "closed_at": h.closed_at,
            "plan": h.plan,
        }


class MajorHazardListSchema(ma.Schema):
    items = fields.List(fields.Nested(MajorHazardSchema), required=True)


# --- 双重预防 -----------------------------------------------------------------------------


class PreventionArgsSchema(ma.Schema):
    """Scope (a region subtree, grid, enterprise, industry) and period (local dates)."""

    region_id = Id(metadata={"description": "Default: the supervisor's own region"})
    grid_id = Id()
    enterprise_id = Id()
    industry = enum_field(Industry)
    date_from = Day(data_key="from", metadata={"description": "Default: 1st of month"})
    date_to = Day(data_key="to", metadata={"description": "Inclusive; default month end"})


class PointsByLevelSchema(ma.Schema):
    red = fields.Integer(required=True, metadata={"description": "红 重大风险"})
    orange = fields.Integer(required=True, metadata={"description": "橙 较大风险"})
    yellow = fields.Integer(required=True, metadata={"description": "黄 一般风险"})
    blue = fields.Integer(required=True, metadata={"description": "蓝 低风险"})
    unassessed = fields.Integer(required=True, metadata={"description": "未评价"})


class PreventionPeriodFiguresSchema(ma.Schema):
    """The figures of a period: its tasks and its hazards by origin."""

    tasks_due = fields.Integer(
        required=True,
        metadata={"description": "应完成: tasks whose window ended in the period, by now"},
    )
    tasks_done_in_window = fields.Integer(
        required=True, metadata={"description": "按时完成: done before the window ended"}
    )
    tasks_done_late = fields.Integer(required=True, metadata={"description": "逾期后完成"})
    tasks_overdue = fields.Integer(
        required=True, metadata={"description": "逾期未完成: due and still not done, now"}
    )
    completion_rate = fields.Float(
        allow_none=True, metadata={"description": "任务完成率 = done in window / due"}
    )
    hazards_by_checklist = fields.Integer(
        required=True, metadata={"description": "排查发现: hazards of the period from task items"}
    )
    hazards_by_tips = fields.Integer(
        required=True, metadata={"description": "群众举报: hazards of the period from tips"}
    )
    hazards_other = fields.Integer(required=True, metadata={"description": "其他途径"})


class PreventionFiguresSchema(PreventionPeriodFiguresSchema):
    """… and the points now."""

    points = fields.Integer(required=True, metadata={"description": "风险点 (active, now)"})
    points_by_level = fields.Nested(
        PointsByLevelSchema, required=True, metadata={"description": "风险四色分布 (now)"}
    )
    points_out_of_control = fields.Integer(required=True, metadata={"description": "失控 (now)"})


class PreventionSummarySchema(ma.Schema):
    scope = fields.Nested(ScopeSchema, required=True)
    figures = fields.Nested(PreventionFiguresSchema, required=True)
    generated_at = fields.DateTime(required=True)


class PreventionEnterpriseSchema(ma.Schema):
    enterprise_id = fields.Integer(required=True)
    enterprise_name = fields.String(required=True)
    figures = fields.Nested(PreventionFiguresSchema, required=True)


class PreventionEnterprisesSchema(ma.Schema):
    items = fields.List(fields.Nested(PreventionEnterpriseSchema), required=True)


class PreventionUnitSchema(ma.Schema):
    unit_id = fields.Integer(required=True)
    unit_code = fields.String(required=True)
    unit_name = fields.String(required=True)
    unit_kind = fields.String(required=True, metadata={"description": "region or grid"})
    figures = fields.Nested(PreventionFiguresSchema, required=True)


class PreventionRegionsSchema(ma.Schema):
    scope = fields.Nested(ScopeSchema, required=True)
    unit_kind = fields.String(
        allow_none=True, metadata={"description": "region or grid; null without units"}
    )
    rows = fields.List(fields.Nested(PreventionUnitSchema), required=True)
