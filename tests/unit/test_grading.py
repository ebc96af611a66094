"""Risk grading: every edge of the LEC and LS levels, and values outside the tables."""

import itertools

import pytest

from service.risks.grading import LEC_C, LEC_E, LEC_L, AssessmentInvalid, grade, lec_level
from uploads_schema.vocabulary import AssessmentMethod, RiskColor

LEC, LS, DIRECT = AssessmentMethod.LEC, AssessmentMethod.LS, AssessmentMethod.DIRECT
RED, ORANGE, YELLOW, BLUE = RiskColor.RED, RiskColor.ORANGE, RiskColor.YELLOW, RiskColor.BLUE


@pytest.mark.parametrize(
    ("lv", "e", "c", "d", "level"),
    [
        (10, 6, 7, 420, RED),
        (6, 6, 15, 540, RED),
        (1, 6, 100, 600, RED),
        (3, 6, 15, 270, ORANGE),
        (10, 2, 15, 300, ORANGE),
        (1, 10, 40, 400, RED),
        (10, 10, 3, 300, ORANGE),
        (3, 3, 15, 135, YELLOW),
        (1, 2, 40, 80, YELLOW),
        (10, 1, 7, 70, BLUE),  # exactly 70: 蓝 (≤ 70)
        (1, 10, 7, 70, BLUE),
        (0.5, 1, 1, 0.5, BLUE),
        (0.1, 3, 7, 2.1, BLUE),
    ],
)
def test_lec_scores_and_levels(lv, e, c, d, level):
    result = grade(LEC, {"l": lv, "e": e, "c": c})
    assert result.score == pytest.approx(d)
    assert result.level is level
    assert result.inputs == {"l": lv, "e": e, "c": c}


@pytest.mark.parametrize(
    ("d", "level"),
    [
        (320.0001, RED),
        (320, ORANGE),
        (160.0001, ORANGE),
        (160, YELLOW),
        (70.0001, YELLOW),
        (70, BLUE),
        (0.05, BLUE),
    ],
)
def test_lec_level_edges(d, level):
    assert lec_level(d) is level


def test_every_lec_combination_is_graded_by_its_product():
    for lv, e, c in itertools.product(LEC_L, LEC_E, LEC_C):
        d = lv * e * c
        want = RED if d > 320 else ORANGE if d > 160 else YELLOW if d > 70 else BLUE
        assert grade(LEC, {"l": lv, "e": e, "c": c}).level is want, (lv, e, c)


def test_lec_values_near_the_edges():
    assert grade(LEC, {"l": 1, "e": 2, "c": 40}).score == 80
    assert grade(LEC, {"l": 0.5, "e": 0.5, "c": 40}).level is BLUE
    assert grade(LEC, {"l": 6, "e": 3, "c": 15}).level is ORANGE  # 270
    assert grade(LEC, {"l": 1, "e": 0.5, "c": 40}).level is BLUE  # 20


@pytest.mark.parametrize(
    ("r", "level"),
    [
        (25, RED),
        (20, RED),
        (16, ORANGE),
        (15, ORANGE),
        (12, YELLOW),
        (8, YELLOW),
        (6, BLUE),
        (1, BLUE),
    ],
)
def test_ls_level_edges(r, level):
    pairs = [(lv, s) for lv in range(1, 6) for s in range(1, 6) if lv * s == r]
    assert pairs
    for lv, s in pairs:
        result = grade(LS, {"l": lv, "s": s})
        assert (result.score, result.level) == (r, level)


def test_every_ls_product_has_a_level():
    levels = {grade(LS, {"l": lv, "s": s}).level for lv in range(1, 6) for s in range(1, 6)}
    assert levels == {RED, ORANGE, YELLOW, BLUE}


@pytest.mark.parametrize(
    ("inputs", "field"),
    [
        ({"l": 2, "e": 6, "c": 7}, "l"),  # 2 is not an L value
        ({"l": 3, "e": 4, "c": 7}, "e"),
        ({"l": 3, "e": 6, "c": 10}, "c"),
        ({"l": 3, "e": 6}, "c"),
        ({"l": "3", "e": 6, "c": 7}, "l"),
        ({"l": True, "e": 6, "c": 7}, "l"),
        ({"l": 0, "e": 6, "c": 7}, "l"),
    ],
)
def test_lec_values_outside_the_tables_are_refused(inputs, field):
    with pytest.raises(AssessmentInvalid) as error:
        grade(LEC, inputs)
    assert error.value.status == 422
    assert field in error.value.errors
    assert "取值须为" in error.value.message


@pytest.mark.parametrize(
    "inputs",
    [{"l": 0, "s": 3}, {"l": 6, "s": 3}, {"l": 2.5, "s": 3}, {"l": 3}, {"l": 3, "s": -1}],
)
def test_ls_values_outside_one_to_five_are_refused(inputs):
    with pytest.raises(AssessmentInvalid):
        grade(LS, inputs)


def test_direct_determination_keeps_its_level_and_needs_a_reason():
    result = grade(DIRECT, level=RED, reason="构成重大危险源")
    assert (result.level, result.score) == (RED, None)
    with pytest.raises(AssessmentInvalid) as error:
        grade(DIRECT, level=RED, reason="  ")
    assert "reason" in error.value.errors
    with pytest.raises(AssessmentInvalid) as error:
        grade(DIRECT, reason="构成重大危险源")
    assert "level" in error.value.errors
