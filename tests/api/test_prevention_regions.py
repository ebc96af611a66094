"""双重预防 figures per child region: each street's (or grid's) figures are the plain counts of
its own enterprises, scoped like the summary (another street is 404)."""

from __future__ import annotations

from tests.api.helpers import assert_error
from tests.api.test_prevention_figures import FROM, TO, arranged, expected

__all__ = ["arranged"]  # the fixture, shared with the summary's tests


def _regions(client, headers, **query):
    return client.get(
        "/api/v1/stats/prevention/regions",
        query_string={"from": FROM, "to": TO, **query},
        headers=headers,
    )


def test_each_street_of_the_district_has_the_counts_of_its_enterprises(
    client, db, arranged, auth_header
):
    world = arranged
    response = _regions(client, auth_header(world.district_supervisor))
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["scope"]["region_id"] == world.district.id
    assert body["unit_kind"] == "region"
    rows = {row["unit_id"]: row for row in body["rows"]}
    assert [row["unit_name"] for row in body["rows"]] == ["甲街道", "乙街道"]
    street_a = expected(db, {world.enterprise_a.id, world.enterprise_a2.id})
    assert rows[world.street_a.id]["figures"] == street_a
    assert rows[world.street_b.id]["figures"] == expected(db, {world.enterprise_b.id})
    assert street_a["tasks_overdue"] > 0 and street_a["points_out_of_control"] > 0


def test_a_community_breaks_down_into_its_grids(client, db, arranged, auth_header):
    world = arranged
    response = _regions(client, auth_header(world.admin), region_id=world.community_a.id)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["unit_kind"] == "grid"
    assert [(row["unit_id"], row["unit_kind"]) for row in body["rows"]] == [
        (world.grid_a.id, "grid")
    ]
    want = expected(db, {world.enterprise_a.id, world.enterprise_a2.id})
    assert body["rows"][0]["figures"] == want


def test_a_street_supervisor_cannot_ask_for_another_street(client, arranged, auth_header):
    world = arranged
    headers = auth_header(world.street_supervisor)
    assert_error(_regions(client, headers, region_id=world.street_b.id), 404)
    own = _regions(client, headers).get_json()
    assert [row["unit_name"] for row in own["rows"]] == ["甲社区"]


def test_reporters_get_no_breakdown(client, arranged, auth_header):
    assert_error(_regions(client, auth_header(arranged.reporter)), 403)
