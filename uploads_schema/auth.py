"""Schemas for login endpoints."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from uploads_schema.common import enum_field
from uploads_schema.directory import UserSchema
from uploads_schema.vocabulary import Role


class WeChatLoginSchema(ma.Schema):
    code = fields.String(
        required=True,
        validate=validate.Length(min=1, max=128),
        metadata={"description": "The code from wx.login()"},
    )


class PasswordLoginSchema(ma.Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=64))
    password = fields.String(required=True, load_only=True, validate=validate.Length(max=128))


class DevLoginSchema(ma.Schema):
    username = fields.String(validate=validate.Length(min=1, max=64))
    role = enum_field(Role)


class RefreshSchema(ma.Schema):
    refresh_token = fields.String(required=True, validate=validate.Length(min=1, max=2048))


class ChangePasswordSchema(ma.Schema):
    old_password = fields.String(
        required=True, load_only=True, validate=validate.Length(min=1, max=128)
    )
    new_password = fields.String(
        required=True,
        load_only=True,
        validate=validate.Length(min=1, max=128),
        metadata={
            "description": "at least 10 characters, two of letters/digits/symbols, "
            "not the username, not a common password"
        },
    )


class LoginResultSchema(ma.Schema):
    access_token = fields.String(required=True)
    token_type = fields.Constant("Bearer")
    expires_in = fields.Integer(required=True, metadata={"description": "seconds"})
    refresh_token = fields.String(
        required=True, metadata={"description": "POST /auth/refresh for a new pair"}
    )
    refresh_expires_in = fields.Integer(required=True, metadata={"description": "seconds"})
    user = fields.Nested(UserSchema, required=True)
    must_change_password = fields.Boolean(
        required=True,
        metadata={
            "description": "true after a one-time password: every call but "
            "POST /auth/change-password answers 403 password_change_required"
        },
    )
