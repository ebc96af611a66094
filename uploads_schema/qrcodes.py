"""Schemas for QR codes, scans and check-ins."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from uploads_schema.common import DayOrMoment, Id, PageArgsSchema, enum_field, page_of
from uploads_schema.jobs import async_field
from uploads_schema.vocabulary import INDUSTRY_LABELS, CheckinFlag, Industry, QrStatus, RiskColor


class QrIssueSchema(ma.Schema):
    point_name = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=100),
        metadata={"description": "Optional point inside the enterprise (车间, 仓库 …)"},
    )


class PointSchema(ma.Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)


class QrCodeSchema(ma.Schema):
    """An issued code; `scene` is the mini-program scene, `url` what camera apps open."""

    id = fields.Integer(attribute="code.id", required=True)
    token = fields.String(attribute="code.token", required=True)
    scene = fields.String(required=True)
    url = fields.String(required=True)
    short_id = fields.String(required=True, metadata={"description": "Printed on the poster"})
    enterprise_id = fields.Integer(attribute="code.enterprise_id", required=True)
    enterprise_name = fields.String(attribute="code.enterprise.name", required=True)
    point = fields.Nested(PointSchema, attribute="code.point", allow_none=True)
    status = enum_field(QrStatus, attribute="code.status", required=True)
    created_at = fields.DateTime(attribute="code.created_at", required=True)
    revoked_at = fields.DateTime(attribute="code.revoked_at", allow_none=True)
    replaced_by_id = fields.Integer(attribute="code.replaced_by_id", allow_none=True)


class QrQuerySchema(PageArgsSchema):
    enterprise_id = Id()
    region_id = Id()
    status = enum_field(QrStatus)


class PosterBatchArgsSchema(ma.Schema):
    region_id = Id(
        metadata={
            "description": "A region subtree; default: the supervisor's own region (admins: "
            "every active code)"
        }
    )
    size = fields.String(
        load_default="A5",
        validate=validate.OneOf(["A4", "A5"]),
        metadata={"description": "Paper size of each poster page: A5 (default) or A4"},
    )
    run_async = async_field()


class PublicEnterpriseSchema(ma.Schema):
    """What anyone who scans may learn about the enterprise."""

    id = fields.Integer(required=True)
    name = fields.String(required=True)
    address = fields.String(required=True)
    industry = enum_field(Industry, required=True)
    industry_label = fields.Function(
        lambda e: INDUSTRY_LABELS[e.industry], required=True, metadata={"description": "行业"}
    )
    risk_color = enum_field(RiskColor, required=True)


class ScanQuerySchema(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE  # the scan never refused other parameters: old links keep working

    scan_ref = fields.String(
        load_default=None,
        metadata={
            "description": "扫码页（/q/<token>）记录扫码后给出的短期签名引用："
            "对本码有效且未过期时不再重复记录扫码；缺失、伪造、过期或属于其他二维码时"
            "照常记录，从不报错。"
            " The short-lived signed reference the /q/<token> page gave for the scan it "
            "logged: when valid for this code and fresh, this call logs no second scan; "
            "missing, forged, expired or another code's, the scan is logged as usual, never "
            "an error."
        },
    )


class ScanResultSchema(ma.Schema):
    qrcode_id = fields.Integer(attribute="code.id", required=True)
    enterprise = fields.Nested(PublicEnterpriseSchema, required=True)
    point = fields.Nested(PointSchema, attribute="code.point", allow_none=True)
    actions = fields.List(
        fields.String(),
        required=True,
        metadata={"description": "What the caller may do here: report, checkin"},
    )


class CheckinInputSchema(ma.Schema):
    lat = fields.Float(required=True, validate=validate.Range(min=-90, max=90))
    lng = fields.Float(required=True, validate=validate.Range(min=-180, max=180))
    accuracy = fields.Float(
        load_default=None,
        allow_none=True,
        validate=validate.Range(min=0, max=100_000),
        metadata={"description": "Horizontal accuracy reported by the phone, metres"},
    )


class CheckinSchema(ma.Schema):
    id = fields.Integer(required=True)
    qrcode_id = fields.Integer(required=True)
    enterprise_id = fields.Integer(required=True)
    grid_id = fields.Integer(required=True)
    inspector_id = fields.Integer(required=True)
    lat = fields.Float(required=True)
    lng = fields.Float(required=True)
    accuracy_m = fields.Float(allow_none=True)
    distance_m = fields.Float(
        allow_none=True, metadata={"description": "Metres to the enterprise's location"}
    )
    flagged = fields.Boolean(required=True)
    flag_reason = enum_field(CheckinFlag, allow_none=True)
    created_at = fields.DateTime(required=True)


class CheckinQuerySchema(PageArgsSchema):
    enterprise_id = Id()
    grid_id = Id()
    region_id = Id()
    inspector_id = Id()
    flagged = fields.Boolean()
    date_from = DayOrMoment(
        data_key="from",
        metadata={
            "description": "A date, YYYY-MM-DD (from its start, China time), or an ISO 8601 "
            "timestamp with its UTC offset"
        },
    )
    date_to = DayOrMoment(
        data_key="to",
        metadata={
            "description": "A date, YYYY-MM-DD (that whole day included, China time), or an "
            "ISO 8601 timestamp with its UTC offset (exclusive)"
        },
    )


QrCodePageSchema = page_of(QrCodeSchema, "QrCodePage")
CheckinPageSchema = page_of(CheckinSchema, "CheckinPage")
