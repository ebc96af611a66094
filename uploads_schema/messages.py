"""marshmallow's field errors in Chinese, with the English kept beside it.

Every field error a client sees reads "中文 / English", like the field errors our own code
raises ("须晚于现期限 / must be later"). The English side is marshmallow's own message (a
required field, null, a wrong type, a length, a range, a choice, a date, an unknown field …);
the Chinese side is looked up here by the template marshmallow formatted it from, so no
schema spells its messages out. The templates are read from marshmallow's classes, and a test
checks that every message marshmallow can give on input has its Chinese here.
"""

from __future__ import annotations

import re
from typing import Any

import marshmallow as ma
from marshmallow import fields, validate
from webargs import fields as webargs_fields

from uploads_schema.common import DayOrMoment

_RANGE = validate.Range
# The bounds of a Range as marshmallow words them, in Chinese
_LOW = {_RANGE.message_gte: "大于或等于", _RANGE.message_gt: "大于"}
_HIGH = {_RANGE.message_lte: "小于或等于", _RANGE.message_lt: "小于"}


def _range_templates() -> dict[str, str]:
    """Range's messages for every kind of bound, worded as its `__init__` words them."""
    found = {}
    for low_en, low_zh in _LOW.items():
        found[_RANGE.message_min.format(min_op=low_en)] = f"须{low_zh} {{min}}"
        for high_en, high_zh in _HIGH.items():
            both = _RANGE.message_all.format(min_op=low_en, max_op=high_en)
            found[both] = f"须{low_zh} {{min}} 且{high_zh} {{max}}"
    for high_en, high_zh in _HIGH.items():
        found[_RANGE.message_max.format(max_op=high_en)] = f"须{high_zh} {{max}}"
    return found


_errors = fields.Field.default_error_messages
# English template (as marshmallow formats it) → Chinese template with the same placeholders.
CHINESE: dict[str, str] = {
    _errors["required"]: "缺少必填字段",
    _errors["null"]: "不能为空（null）",
    _errors["validator_failed"]: "取值无效",
    ma.Schema._default_error_messages["unknown"]: "不支持的字段",
    ma.Schema._default_error_messages["type"]: "数据类型有误，应为对象",
    fields.Nested.default_error_messages["type"]: "数据类型有误，应为对象",
    fields.String.default_error_messages["invalid"]: "应为字符串",
    fields.String.default_error_messages["invalid_utf8"]: "不是有效的 UTF-8 字符串",
    fields.Integer.default_error_messages["invalid"]: "应为整数",
    fields.Number.default_error_messages["invalid"]: "应为数字",
    fields.Number.default_error_messages["too_large"]: "数值过大",
    fields.Float.default_error_messages["special"]: "不能为 NaN 或无穷大",
    fields.Boolean.default_error_messages["invalid"]: "应为布尔值（true 或 false）",
    fields.List.default_error_messages["invalid"]: "应为列表",
    fields.Tuple.default_error_messages["invalid"]: "应为列表",
    fields.Dict.default_error_messages["invalid"]: "应为对象（键值对）",
    fields.Email.default_error_messages["invalid"]: "不是有效的电子邮箱地址",
    fields.URL.default_error_messages["invalid"]: "不是有效的网址",
    fields.UUID.default_error_messages["invalid_uuid"]: "不是有效的 UUID",
    fields.IP.default_error_messages["invalid_ip"]: "不是有效的 IP 地址",
    fields.IPv4.default_error_messages["invalid_ip"]: "不是有效的 IPv4 地址",
    fields.IPv6.default_error_messages["invalid_ip"]: "不是有效的 IPv6 地址",
    fields.IPInterface.default_error_messages["invalid_ip_interface"]: "不是有效的 IP 网段",
    fields.IPv4Interface.default_error_messages["invalid_ip_interface"]: "不是有效的 IPv4 网段",
    fields.IPv6Interface.default_error_messages["invalid_ip_interface"]: "不是有效的 IPv6 网段",
    fields.TimeDelta.default_error_messages["invalid"]: "不是有效的时长",
    fields.Date.default_error_messages["invalid"]: "不是有效的日期（应为 YYYY-MM-DD）",
    # "Not a valid {obj_type}." and "Not a valid {awareness} {obj_type}." of the temporal fields
    "Not a valid datetime.": "不是有效的日期时间（应为 ISO 8601，如 2026-12-10T18:00:00+08:00）",
    "Not a valid time.": "不是有效的时间",
    "Not a valid aware datetime.": "日期时间须带时区（如 2026-12-10T18:00:00+08:00）",
    "Not a valid naive datetime.": "日期时间不能带时区",
    "Not a valid aware time.": "时间须带时区",
    "Not a valid naive time.": "时间不能带时区",
    DayOrMoment.default_error_messages["invalid"]: (
        "应为日期（YYYY-MM-DD）或带时区的日期时间（如 2026-12-10T18:00:00+08:00）"
    ),
    fields.Enum.default_error_messages["unknown"]: "须为以下之一：{choices}",
    validate.OneOf.default_message: "须为以下之一：{choices}",
    validate.ContainsOnly.default_message: "只能从以下选项中选择：{choices}",
    validate.ContainsNoneOf.default_message: "不能包含以下选项：{values}",
    validate.Equal.default_message: "须等于 {other}",
    validate.Predicate.default_message: "输入无效",
    validate.Regexp.default_message: "格式不正确",
    validate.Length.message_min: "长度不能少于 {min}",
    validate.Length.message_max: "长度不能超过 {max}",
    validate.Length.message_all: "长度须在 {min} 到 {max} 之间",
    validate.Length.message_equal: "长度须为 {equal}",
    webargs_fields.DelimitedList.default_error_messages["invalid"]: "应为以逗号分隔的列表",
    webargs_fields.DelimitedTuple.default_error_messages["invalid"]: "应为以逗号分隔的列表",
    **_range_templates(),
}

_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _pattern(template: str) -> re.Pattern[str]:
    """A template as a regular expression capturing its placeholders."""
    parts, last = [], 0
    for found in _PLACEHOLDER.finditer(template):
        parts += [re.escape(template[last : found.start()]), f"(?P<{found[1]}>.*?)"]
        last = found.end()
    parts.append(re.escape(template[last:]))
    return re.compile("".join(parts), re.DOTALL)


# Exact messages first (a dictionary lookup), then the templates with values in them, the
# most literal text first: "Must be ≥ {min}." would also match "Must be ≥ 1 and ≤ 9.".
_EXACT = {en: zh for en, zh in CHINESE.items() if not _PLACEHOLDER.search(en)}
_TEMPLATES = [
    (_pattern(en), zh)
    for en, zh in sorted(CHINESE.items(), key=lambda item: -len(_PLACEHOLDER.sub("", item[0])))
    if _PLACEHOLDER.search(en)
]


def chinese_of(message: str) -> str | None:
    """The Chinese of one of marshmallow's messages, or None for any other text."""
    zh = _EXACT.get(message)
    if zh is not None:
        return zh
    for pattern, template in _TEMPLATES:
        found = pattern.fullmatch(message)
        if found:
            return template.format(**found.groupdict())
    return None


def bilingual(message: str) -> str:
    """A marshmallow message as "中文 / English"; other messages (our own, already
    bilingual) unchanged."""
    zh = chinese_of(message)
    return f"{zh} / {message}" if zh is not None else message


def bilingual_errors(errors: Any) -> Any:
    """marshmallow's error messages ({field: [messages]}, nested for lists and nested
    objects) with every message in Chinese and English."""
    if isinstance(errors, str):
        return bilingual(errors)
    if isinstance(errors, dict):
        return {key: bilingual_errors(value) for key, value in errors.items()}
    if isinstance(errors, list | tuple):
        return [bilingual_errors(item) for item in errors]
    return errors
