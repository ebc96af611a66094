"""The console's live preview of D (or R) grades as the server does: its copy of the methods'
tables and thresholds (web/src/console/grading.ts) gives the server's level for every
combination of the tables' values (the preview only; the saved grade is the API's)."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest

from service.risks import grading

GRADING_TS = Path(__file__).resolve().parents[2] / "web/src/console/grading.ts"
SOURCE = GRADING_TS.read_text(encoding="utf-8")


def table(name: str) -> list[float]:
    found = re.search(rf"export const {name}: Choice\[\] = \[(.*?)\n\]", SOURCE, re.S)
    assert found, name
    return [float(v) for v in re.findall(r"value: ([0-9.]+)", found.group(1))]


def thresholds(function: str) -> list[tuple[str, float, str]]:
    """The `if (x > 320) return 'red'` lines of a level function, in order."""
    body = re.search(rf"export function {function}\(.*?\n}}", SOURCE, re.S)
    assert body, function
    rules = re.findall(r"if \(\w+ (>=|>) ([0-9.]+)\) return '(\w+)'", body.group(0))
    return [(op, float(limit), level) for op, limit, level in rules]


def preview(function: str, score: float) -> str:
    for op, limit, level in thresholds(function):
        if (score > limit) if op == ">" else (score >= limit):
            return level
    return "blue"


@pytest.mark.parametrize(
    ("name", "server"),
    [
        ("LEC_L", grading.LEC_L),
        ("LEC_E", grading.LEC_E),
        ("LEC_C", grading.LEC_C),
        ("LS_L", grading.LS_SCALE),
        ("LS_S", grading.LS_SCALE),
    ],
)
def test_the_console_offers_exactly_the_tables_values(name, server):
    assert sorted(table(name)) == sorted(float(v) for v in server)


def test_the_lec_preview_has_the_servers_level_for_every_combination():
    for l_, e, c in itertools.product(grading.LEC_L, grading.LEC_E, grading.LEC_C):
        d = grading.grade(grading.AssessmentMethod.LEC, {"l": l_, "e": e, "c": c}).score
        assert preview("lecLevel", d) == grading.lec_level(d).value, (l_, e, c)


def test_the_ls_preview_has_the_servers_level_for_every_combination():
    for l_, s in itertools.product(grading.LS_SCALE, grading.LS_SCALE):
        assert preview("lsLevel", l_ * s) == grading.ls_level(l_ * s).value, (l_, s)
