"""Schemas for regions, grids, enterprises, users and the enterprise import."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from uploads_schema.common import Id, PageArgsSchema, enum_field, page_of
from uploads_schema.jobs import async_field
from uploads_schema.vocabulary import ImportMode, Industry, RegionLevel, RiskColor, Role

_name = validate.Length(min=1, max=100)


class RegionSchema(ma.Schema):
    id = fields.Integer(dump_only=True)
    code = fields.String(required=True, validate=validate.Regexp(r"^\d{12}$"))
    name = fields.String(required=True, validate=_name)
    level = enum_field(RegionLevel, required=True)
    parent_id = Id(allow_none=True, load_default=None)
    path = fields.String(dump_only=True)


class RegionPatchSchema(ma.Schema):
    name = fields.String(required=True, validate=_name)


class RegionQuerySchema(PageArgsSchema):
    parent_id = Id()
    level = enum_field(RegionLevel)
    q = fields.String(validate=validate.Length(max=100))
    page_size = fields.Integer(load_default=50, validate=validate.Range(min=1, max=100))


class GridSchema(ma.Schema):
    id = fields.Integer(dump_only=True)
    code = fields.String(required=True, validate=validate.Length(min=1, max=32))
    name = fields.String(required=True, validate=_name)
    region_id = Id(required=True)
    inspector_ids = fields.Method("_inspector_ids", deserialize="_load_ids")

    def _inspector_ids(self, grid: object) -> list[int]:
        return [u.id for u in grid.inspectors]  # type: ignore[attr-defined]

    def _load_ids(self, value: object) -> list[int]:
        return fields.List(Id()).deserialize(value)


class GridPatchSchema(ma.Schema):
    name = fields.String(validate=_name)
    inspector_ids = fields.List(Id())


class GridQuerySchema(PageArgsSchema):
    region_id = Id()
    page_size = fields.Integer(load_default=50, validate=validate.Range(min=1, max=100))


class EnterpriseSchema(ma.Schema):
    id = fields.Integer(dump_only=True)
    credit_code = fields.String(
        required=True,
        validate=validate.Length(min=1, max=40),
        metadata={"description": "统一社会信用代码 (GB 32100-2015)"},
    )
    credit_code_valid = fields.Boolean(
        dump_only=True, metadata={"description": "False when the checksum does not match"}
    )
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    address = fields.String(load_default="", validate=validate.Length(max=300))
    lat = fields.Float(allow_none=True, validate=validate.Range(min=-90, max=90))
    lng = fields.Float(allow_none=True, validate=validate.Range(min=-180, max=180))
    industry = enum_field(Industry, required=True)
    risk_color = enum_field(RiskColor, required=True)
    grid_id = Id(required=True)
    active = fields.Boolean(load_default=True)


class EnterprisePatchSchema(EnterpriseSchema):
    """Any subset of the enterprise's fields."""

    def __init__(self, **kwargs: object) -> None:
        kwargs.setdefault("partial", True)
        super().__init__(**kwargs)  # type: ignore[arg-type]


class EnterpriseResultSchema(ma.Schema):
    """An enterprise as saved, with warnings such as `credit_code_checksum`."""

    enterprise = fields.Nested(EnterpriseSchema, required=True)
    warnings = fields.List(fields.String(), required=True)


class EnterpriseQuerySchema(PageArgsSchema):
    region_id = Id()
    grid_id = Id()
    industry = enum_field(Industry)
    risk_color = enum_field(RiskColor)
    active = fields.Boolean()
    q = fields.String(validate=validate.Length(max=100))


class ImportArgsSchema(ma.Schema):
    mode = enum_field(
        ImportMode,
        load_default=ImportMode.ATOMIC,
        metadata={"description": "atomic: all rows or none; partial: good rows only"},
    )
    run_async = async_field()


class ImportFileSchema(ma.Schema):
    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary"})


class RowReportSchema(ma.Schema):
    row = fields.Integer(required=True)
    status = fields.String(required=True)
    credit_code = fields.String(allow_none=True)
    action = fields.String(allow_none=True)
    enterprise_id = fields.Integer(allow_none=True)
    warnings = fields.List(fields.String())
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))


class ImportReportSchema(ma.Schema):
    mode = enum_field(ImportMode, required=True)
    committed = fields.Boolean(required=True)
    total = fields.Integer(required=True)
    created = fields.Integer(required=True)
    updated = fields.Integer(required=True)
    failed = fields.Integer(required=True)
    rows = fields.List(fields.Nested(RowReportSchema), required=True)


class UserSchema(ma.Schema):
    id = fields.Integer(dump_only=True)
    username = fields.String(allow_none=True, validate=validate.Length(min=3, max=64))
    password = fields.String(
        load_only=True,
        validate=validate.Length(min=1, max=128),
        metadata={"description": "at least 10 characters, two of letters/digits/symbols"},
    )
    openid = fields.String(load_only=True, allow_none=True, validate=validate.Length(max=64))
    display_name = fields.String(load_default="", validate=validate.Length(max=100))
    phone = fields.String(load_default="", validate=validate.Length(max=32))
    role = enum_field(Role, required=True)
    enterprise_id = Id(allow_none=True)
    region_id = Id(allow_none=True)
    grid_ids = fields.Method("_grid_ids", deserialize="_load_ids")
    active = fields.Boolean(dump_only=True)
    must_change_password = fields.Boolean(
        dump_only=True, metadata={"description": "holds a one-time password not yet changed"}
    )
    locked_until = fields.DateTime(
        dump_only=True,
        allow_none=True,
        metadata={
            "description": "password logins refused until then (too many failed); null when "
            "not locked. POST /users/{id}/unlock lifts it"
        },
    )

    def _grid_ids(self, user: object) -> list[int]:
        return [g.id for g in user.grids]  # type: ignore[attr-defined]

    def _load_ids(self, value: object) -> list[int]:
        return fields.List(Id()).deserialize(value)


class UserPatchSchema(ma.Schema):
    username = fields.String(allow_none=True, validate=validate.Length(min=3, max=64))
    password = fields.String(
        load_only=True,
        validate=validate.Length(min=1, max=128),
        metadata={"description": "at least 10 characters, two of letters/digits/symbols"},
    )
    display_name = fields.String(validate=validate.Length(max=100))
    phone = fields.String(validate=validate.Length(max=32))
    role = enum_field(Role)
    enterprise_id = Id(allow_none=True)
    region_id = Id(allow_none=True)
    grid_ids = fields.List(Id())
    active = fields.Boolean()


class PasswordResetSchema(ma.Schema):
    user = fields.Nested(UserSchema, required=True)
    one_time_password = fields.String(
        required=True,
        metadata={"description": "shown once, never stored in clear; changed at first login"},
    )


class UnlockSchema(ma.Schema):
    user = fields.Nested(UserSchema, required=True)
    failed_logins_forgotten = fields.Integer(
        required=True, metadata={"description": "failed logins counted in the window, now gone"}
    )


class StaffRowReportSchema(ma.Schema):
    row = fields.Integer(required=True, metadata={"description": "spreadsheet row (1 = header)"})
    status = fields.String(required=True, metadata={"description": "ok or error"})
    username = fields.String(allow_none=True)
    display_name = fields.String(allow_none=True)
    action = fields.String(allow_none=True, metadata={"description": "created"})
    user_id = fields.Integer(allow_none=True)
    one_time_password = fields.String(
        allow_none=True,
        metadata={
            "description": "only when the import was written: shown once, never stored in "
            "clear; the account must change it at first login"
        },
    )
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))


class StaffImportReportSchema(ma.Schema):
    mode = enum_field(ImportMode, required=True)
    committed = fields.Boolean(required=True)
    total = fields.Integer(required=True)
    created = fields.Integer(required=True)
    failed = fields.Integer(required=True)
    rows = fields.List(fields.Nested(StaffRowReportSchema), required=True)


class UserQuerySchema(PageArgsSchema):
    role = enum_field(Role)
    q = fields.String(validate=validate.Length(max=100))


RegionPageSchema = page_of(RegionSchema, "RegionPage")
GridPageSchema = page_of(GridSchema, "GridPage")
EnterprisePageSchema = page_of(EnterpriseSchema, "EnterprisePage")
UserPageSchema = page_of(UserSchema, "UserPage")
