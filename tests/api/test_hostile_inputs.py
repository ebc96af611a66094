"""Hostile bodies and paths, sent the way an outsider would: each is a 4xx in the one error
shape, never a 500, and writes nothing (issue 15, classes 5, 7 and 11).
"""

from __future__ import annotations

import pytest

from tests.api.hazard_helpers import report, scan_token
from tests.api.helpers import assert_error

# Other scripts' digits `int()` reads as ASCII ones: fullwidth, Arabic-Indic, Devanagari.
DIGITS = {"fullwidth": 0xFF10, "arabic_indic": 0x0660, "devanagari": 0x0966}


def _spelled(number: int, zero: int) -> str:
    return "".join(chr(zero + int(digit)) for digit in str(number))


# --- ids in paths ------------------------------------------------------------------------


@pytest.mark.parametrize("script", DIGITS)
def test_ids_in_paths_are_ascii_digits_only(client, world, auth_header, script):
    admin = auth_header(world.admin)
    token = scan_token(client, admin, world.enterprise_a.id)
    hazard = report(client, auth_header(world.reporter), token).get_json()["hazard"]["id"]
    zero = DIGITS[script]
    for path in (f"/api/v1/hazards/{hazard}", f"/api/v1/enterprises/{world.enterprise_a.id}"):
        assert client.get(path, headers=admin).status_code == 200
        base, number = path.rsplit("/", 1)
        other = client.get(f"{base}/{_spelled(int(number), zero)}", headers=admin)
        assert_error(other, 404, "not_found")
    query = f"/api/v1/hazards?enterprise_id={_spelled(world.enterprise_a.id, zero)}"
    assert "enterprise_id" in assert_error(client.get(query, headers=admin), 422)["errors"]


def test_an_overlong_url_answered_by_the_app_is_json(client, world, auth_header):
    admin = auth_header(world.admin)
    assert_error(client.get("/api/v1/hazards/" + "1" * 20_000, headers=admin), 404)
    assert_error(client.get("/api/v1/" + "a" * 100_000, headers=admin), 404)
    long_query = "/api/v1/hazards?enterprise_id=" + "1" * 20_000
    assert_error(client.get(long_query, headers=admin), 422, "validation_error")
    ignored = client.get("/api/v1/hazards?" + "&".join(["x=1"] * 10_000), headers=admin)
    assert ignored.status_code == 200 and ignored.is_json
