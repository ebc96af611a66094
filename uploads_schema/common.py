"""Shared marshmallow schemas: the error shape, pagination arguments, page envelopes."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any, ClassVar

import marshmallow as ma
from marshmallow import fields, validate


class ErrorSchema(ma.Schema):
    """The one error shape of SPEC §5."""

    status = fields.Integer(required=True, metadata={"description": "HTTP status"})
    code = fields.String(required=True, metadata={"description": "Stable machine code"})
    message = fields.String(required=True, metadata={"description": "Message (zh-CN)"})
    message_en = fields.String(required=True, metadata={"description": "Message (English)"})
    errors = fields.Dict(
        metadata={
            "description": 'Field errors: {field: ["中文 / English", …]}; plan_incomplete: '
            '{"missing": [fields]}'
        }
    )


# Row ids are PostgreSQL INTEGER keys: a larger number names no row and would overflow in SQL.
MAX_ID = 2**31 - 1


class Id(fields.Integer):
    """A row id in input: 1 … 2³¹−1, so an absurd number is a 422, never a database error;
    as text (a query string), ASCII digits only, like ids in paths (`int()` also reads
    `１`, `١`, ` 1` and `1_0`)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(validate=validate.Range(min=1, max=MAX_ID), **kwargs)

    def _validated(self, value: Any) -> int:
        if isinstance(value, str) and not (value.isascii() and value.isdigit()):
            raise self.make_error("invalid", input=value)
        return super()._validated(value)


# Years 1900–2999: wide enough for any filter or deadline, and far from the ends of Python's
# calendar (years 1 and 9999), where shifting a time zone or adding a period overflows (a 500).
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(3000, 1, 1, tzinfo=UTC)  # exclusive


class Day(fields.Date):
    """A calendar date in input, 1900-01-01 … 2999-12-31."""

    def __init__(self, **kwargs: Any) -> None:
        span = validate.Range(min=EARLIEST.date(), max=LATEST.date(), max_inclusive=False)
        super().__init__(validate=span, **kwargs)


class Moment(fields.AwareDateTime):
    """A timestamp with its time zone in input, from 1900 up to (not including) 3000."""

    def __init__(self, **kwargs: Any) -> None:
        span = validate.Range(min=EARLIEST, max=LATEST, max_inclusive=False)
        super().__init__(validate=span, **kwargs)


class DayOrMoment(fields.Field):
    """A date the way people write it, `YYYY-MM-DD` (a China day), or an ISO 8601 timestamp
    with its zone; loads as a `date` or an aware `datetime`. What a day means — its start, the
    end of a period, a deadline's last moment — is the use case's (service.core.clock)."""

    default_error_messages: ClassVar[dict[str, str]] = {
        "invalid": "Not a valid date (YYYY-MM-DD) or datetime with a UTC offset."
    }
    _DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
    # OpenAPI: either form, so generated clients and the docs show both.
    DOCUMENTED: ClassVar[dict[str, Any]] = {
        "anyOf": [{"type": "string", "format": "date"}, {"type": "string", "format": "date-time"}]
    }

    def __init__(self, **kwargs: Any) -> None:
        metadata = {**self.DOCUMENTED, **kwargs.pop("metadata", {})}
        super().__init__(metadata=metadata, **kwargs)
        self._day, self._moment = Day(), Moment()

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> date:
        if not isinstance(value, str):
            raise self.make_error("invalid")
        if self._DAY.fullmatch(value):
            return self._day.deserialize(value)  # type: ignore[no-any-return]
        try:
            return self._moment.deserialize(value)  # type: ignore[no-any-return]
        except ma.ValidationError as error:
            unreadable = self._moment.error_messages["invalid"].format(obj_type="datetime")
            if error.messages == [unreadable]:
                raise self.make_error("invalid") from None  # neither a date nor a timestamp
            raise  # a timestamp without its zone, or out of range: that message says it


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
