"""Shared marshmallow schemas: the error shape, pagination arguments, page envelopes."""

from __future__ import annotations

from enum import Enum
from typing import Any

import marshmallow as ma
from marshmallow import fields, validate


class ErrorSchema(ma.Schema):
    """The one error shape of SPEC §5."""

    status = fields.Integer(required=True, metadata={"description": "HTTP status"})
    code = fields.String(required=True, metadata={"description": "Stable machine code"})
    message = fields.String(required=True, metadata={"description": "Message (zh-CN)"})
    message_en = fields.String(required=True, metadata={"description": "Message (English)"})
    errors = fields.Dict(metadata={"description": "Field errors: {field: [messages]}"})


class PageArgsSchema(ma.Schema):
    """`?page=&page_size=`; pages are numbered from 1."""

    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    page_size = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


def page_of(item_schema: type[ma.Schema], name: str) -> type[ma.Schema]:
    """An envelope schema `{items, page, page_size, total}` for a list endpoint."""
    return ma.Schema.from_dict(
        {
            "items": fields.List(fields.Nested(item_schema), required=True),
            "page": fields.Integer(required=True),
            "page_size": fields.Integer(required=True),
            "total": fields.Integer(required=True),
        },
        name=name,
    )


def enum_field(enum: type[Enum], **kwargs: Any) -> fields.Enum:
    """An enum (de)serialized by value, documented as a string enum."""
    return fields.Enum(enum, by_value=fields.String, **kwargs)
