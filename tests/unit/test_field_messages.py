"""Every message marshmallow (and webargs) can give on input has its Chinese."""

import inspect

import marshmallow as ma
import pytest
from marshmallow import fields, validate
from webargs import fields as webargs_fields

from uploads_schema.common import DayOrMoment, Moment
from uploads_schema.messages import bilingual, bilingual_errors, chinese_of

# Messages marshmallow gives only when dumping (serializing), never on input.
_DUMP_ONLY = {"format"}


def _field_messages() -> list[tuple[str, str]]:
    found = []
    for module in (fields, webargs_fields):
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, fields.Field):
                for key, message in cls.default_error_messages.items():
                    # the temporal fields fill in "{obj_type}": see _temporal_messages
                    if key not in _DUMP_ONLY and "{obj_type}" not in message:
                        found.append((f"{name}.{key}", message))
    return found


def _temporal_messages() -> list[str]:
    """The temporal fields' "{obj_type}" templates, as their fields fill them in."""
    made = []
    for field in (fields.DateTime(), fields.AwareDateTime(), fields.NaiveDateTime(), fields.Time()):
        obj_type = field.OBJ_TYPE
        made.append(field.error_messages["invalid"].format(obj_type=obj_type))
        if getattr(field, "AWARENESS", None):
            made.append(
                field.error_messages["invalid_awareness"].format(
                    awareness=field.AWARENESS, obj_type=obj_type
                )
            )
    return made


@pytest.mark.parametrize(("where", "message"), _field_messages())
def test_every_field_message_has_chinese(where, message):
    sample = message.format(choices="a, b", values="a, b", other="x", input="x")
    assert chinese_of(sample), where


@pytest.mark.parametrize("message", _temporal_messages())
def test_temporal_messages_have_chinese(message):
    assert chinese_of(message), message


def test_every_validator_message_has_chinese():
    values = {"min": 1, "max": 9, "equal": 18, "choices": "a, b", "values": "a, b", "other": 1}
    samples = [
        template.format(**values)
        for template in (
            validate.Length.message_min,
            validate.Length.message_max,
            validate.Length.message_all,
            validate.Length.message_equal,
            validate.OneOf.default_message,
            validate.Regexp.default_message,
            validate.Equal.default_message,
            validate.Predicate.default_message,
            validate.NoneOf.default_message,
            validate.ContainsOnly.default_message,
            validate.ContainsNoneOf.default_message,
        )
    ]
    for samples_of in (
        validate.Range(min=1),
        validate.Range(max=9),
        validate.Range(min=1, max=9),
        validate.Range(min=1, max=9, min_inclusive=False, max_inclusive=False),
        validate.Range(min=1, max=9, min_inclusive=False),
        validate.Range(min=1, max=9, max_inclusive=False),
        validate.Range(min=1, min_inclusive=False),
        validate.Range(max=9, max_inclusive=False),
    ):
        for message in (samples_of.message_min, samples_of.message_max, samples_of.message_all):
            samples.append(message.format(min=1, max=9))
    for sample in samples:
        assert chinese_of(sample), sample


def test_schema_messages_have_chinese():
    for message in ma.Schema._default_error_messages.values():
        assert chinese_of(message), message


def test_our_date_field_messages_have_chinese():
    assert chinese_of(DayOrMoment.default_error_messages["invalid"])
    for key in ("required", "null"):
        assert chinese_of(Moment().error_messages[key])


def test_a_range_keeps_its_own_numbers_in_both_languages():
    message = "Must be greater than or equal to 1 and less than or equal to 100."
    assert bilingual(message) == f"须大于或等于 1 且小于或等于 100 / {message}"
    assert bilingual("Must be greater than 0.") == "须大于 0 / Must be greater than 0."


def test_messages_that_are_not_marshmallows_are_left_alone():
    ours = "整改期限须晚于当前时间 / must be in the future"
    assert bilingual(ours) == ours
    assert bilingual("current version is 2") == "current version is 2"
    assert bilingual("Must be greater than or equal to nothing at all") == (
        "Must be greater than or equal to nothing at all"
    )


def test_nested_errors_keep_their_shape():
    errors = {
        "media_ids": {1: ["Not a valid integer."]},
        "plan": {"funds": ["Missing data for required field."]},
    }
    assert bilingual_errors(errors) == {
        "media_ids": {1: ["应为整数 / Not a valid integer."]},
        "plan": {"funds": ["缺少必填字段 / Missing data for required field."]},
    }
