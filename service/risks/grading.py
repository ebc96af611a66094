"""Grading a risk (风险分级): LEC, LS or a direct determination, as pure functions.

LEC (作业条件危险性分析): D = L × E × C with L, E, C taken from the method's standard tables
only; D > 320 红 (重大), 160 < D ≤ 320 橙 (较大), 70 < D ≤ 160 黄 (一般), D ≤ 70 蓝 (低).
LS (风险矩阵): R = L × S, both on 1–5; R 20–25 红, 15–16 橙, 8–12 黄, ≤ 6 蓝 (every product
of two 1–5 values falls in one of these). Direct (直接判定, e.g. a 重大危险源 is 红): the level
as determined, with its reason. Values outside the tables are refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from service.core.errors import ValidationFailed
from uploads_schema.vocabulary import AssessmentMethod, RiskColor

# The standard LEC tables (事故发生的可能性 L, 暴露于危险环境的频繁程度 E, 后果 C).
LEC_L = (0.1, 0.2, 0.5, 1, 3, 6, 10)
LEC_E = (0.5, 1, 2, 3, 6, 10)
LEC_C = (1, 3, 7, 15, 40, 100)
LS_SCALE = (1, 2, 3, 4, 5)


class AssessmentInvalid(ValidationFailed):
    code = "assessment_invalid"
    message = "评价数据不符合所选方法的取值表"
    message_en = "The inputs are not values of the chosen method's tables"


@dataclass(frozen=True)
class Grade:
    """The outcome of an assessment: the score (D or R; None for direct), the level, and
    the inputs as kept."""

    method: AssessmentMethod
    level: RiskColor
    score: float | None
    inputs: dict[str, float] = field(default_factory=dict)


def lec_level(d: float) -> RiskColor:
    """The level of an LEC score D."""
    if d > 320:
        return RiskColor.RED
    if d > 160:
        return RiskColor.ORANGE
    if d > 70:
        return RiskColor.YELLOW
    return RiskColor.BLUE


def ls_level(r: int) -> RiskColor:
    """The level of an LS score R = L × S (1–25)."""
    if r >= 20:
        return RiskColor.RED
    if r >= 15:
        return RiskColor.ORANGE
    if r >= 8:
        return RiskColor.YELLOW
    return RiskColor.BLUE


def _value(inputs: dict[str, Any], name: str, table: tuple[float, ...], label: str) -> float:
    raw = inputs.get(name)
    allowed = "、".join(f"{v:g}" for v in table)
    if isinstance(raw, bool) or not isinstance(raw, int | float) or raw not in table:
        raise AssessmentInvalid(
            f"{label}取值须为：{allowed}",
            f"{name.upper()} must be one of {allowed.replace('、', ', ')}",
            errors={name: [f"须为 {allowed} 之一 / one of {allowed.replace('、', ', ')}"]},
        )
    return float(raw)


def grade(
    method: AssessmentMethod,
    inputs: dict[str, Any] | None = None,
    *,
    level: RiskColor | None = None,
    reason: str = "",
) -> Grade:
    """Grade by `method`; 422 (`assessment_invalid`) for values outside its tables, or a
    direct determination without its level or reason."""
    inputs = inputs or {}
    if method is AssessmentMethod.LEC:
        l_ = _value(inputs, "l", LEC_L, "可能性 L")
        e = _value(inputs, "e", LEC_E, "暴露频率 E")
        c = _value(inputs, "c", LEC_C, "后果 C")
        d = round(l_ * e * c, 4)  # 0.1 × 3 × 7 is 2.1, not 2.1000000000000005
        return Grade(method, lec_level(d), d, {"l": l_, "e": e, "c": c})
    if method is AssessmentMethod.LS:
        l_ = _value(inputs, "l", LS_SCALE, "可能性 L")
        s = _value(inputs, "s", LS_SCALE, "严重性 S")
        r = int(l_ * s)
        return Grade(method, ls_level(r), float(r), {"l": l_, "s": s})
    errors: dict[str, list[str]] = {}
    if level is None:
        errors["level"] = ["直接判定须给出风险等级 / a direct determination needs its level"]
    if not reason.strip():
        errors["reason"] = ["直接判定须说明依据 / a direct determination needs its reason"]
    if errors:
        raise AssessmentInvalid(
            "直接判定须给出风险等级和判定依据",
            "A direct determination needs its level and reason",
            errors=errors,
        )
    assert level is not None
    return Grade(method, level, None, {})
