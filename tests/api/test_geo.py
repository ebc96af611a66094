"""一张图 over HTTP: hazards and enterprises as GeoJSON, scoped and filtered like their lists."""

from __future__ import annotations

from service.access.scoping import load_actor
from service.hazards.locations import located_hazards
from service.hazards.queries import HazardFilters
from tests.api.hazard_helpers import report, scan_token
from tests.api.helpers import assert_error
from tests.factories import make_enterprise

GEOJSON = "application/geo+json"


def _reported(client, world, auth_header, enterprise, **overrides):
    token = scan_token(client, auth_header(world.admin), enterprise.id)
    answer = report(client, auth_header(world.reporter), token, **overrides)
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()["hazard"]


def _features(answer) -> dict[int, dict]:
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.mimetype == GEOJSON
    body = answer.get_json()
    assert body["type"] == "FeatureCollection" and body["truncated"] is False
    for feature in body["features"]:
        assert feature["type"] == "Feature" and feature["geometry"]["type"] == "Point"
    return {f["id"]: f for f in body["features"]}


def test_hazards_are_points_at_their_own_place_or_their_enterprises(client, world, auth_header):
    placed = _reported(client, world, auth_header, world.enterprise_a, lat=31.75, lng=119.95)
    unplaced = _reported(client, world, auth_header, world.enterprise_b)
    district = auth_header(world.district_supervisor)
    features = _features(client.get("/api/v1/geo/hazards.geojson", headers=district))
    assert set(features) == {placed["id"], unplaced["id"]}
    own = features[placed["id"]]
    assert own["geometry"]["coordinates"] == [119.95, 31.75]
    assert own["properties"]["located_by"] == "hazard"
    assert own["properties"]["number"] == placed["number"]
    assert own["properties"]["status_label"] == "已上报"
    assert own["properties"]["enterprise_name"] == "甲企业"
    theirs = features[unplaced["id"]]["geometry"]["coordinates"]
    assert theirs == [world.enterprise_b.lng, world.enterprise_b.lat]
    assert features[unplaced["id"]]["properties"]["located_by"] == "enterprise"


def test_a_street_supervisor_sees_only_their_streets_hazards(client, world, auth_header):
    mine = _reported(client, world, auth_header, world.enterprise_a)
    _reported(client, world, auth_header, world.enterprise_b)
    street = auth_header(world.street_supervisor)
    assert set(_features(client.get("/api/v1/geo/hazards.geojson", headers=street))) == {mine["id"]}
    other = f"/api/v1/geo/hazards.geojson?region_id={world.street_b.id}"
    assert_error(client.get(other, headers=street), 404, "not_found")
    assert_error(client.get("/api/v1/geo/hazards.geojson"), 401)


def test_hazard_points_take_the_lists_filters(client, world, auth_header):
    a = _reported(client, world, auth_header, world.enterprise_a, category="fire")
    b = _reported(client, world, auth_header, world.enterprise_b)
    district = auth_header(world.district_supervisor)
    url = "/api/v1/geo/hazards.geojson"
    by_category = client.get(f"{url}?category=fire", headers=district)
    assert set(_features(by_category)) == {a["id"]}
    by_region = client.get(f"{url}?region_id={world.street_b.id}", headers=district)
    assert set(_features(by_region)) == {b["id"]}
    assert _features(client.get(f"{url}?status=closed,rejected", headers=district)) == {}
    assert_error(client.get(f"{url}?status=lost", headers=district), 422)


def test_enterprises_with_coordinates_are_points_in_scope(client, db, world, auth_header):
    nowhere = make_enterprise(db, world.grid_a, name="无坐标企业", lat=None, lng=None)
    db.commit()
    district = auth_header(world.district_supervisor)
    url = "/api/v1/geo/enterprises.geojson"
    features = _features(client.get(url, headers=district))
    assert nowhere.id not in features
    assert {world.enterprise_a.id, world.enterprise_a2.id, world.enterprise_b.id} <= set(features)
    a = features[world.enterprise_a.id]
    assert a["geometry"]["coordinates"] == [world.enterprise_a.lng, world.enterprise_a.lat]
    assert a["properties"]["name"] == "甲企业" and a["properties"]["risk_label"] == "黄"
    street = auth_header(world.street_supervisor)
    assert world.enterprise_b.id not in _features(client.get(url, headers=street))
    red = _features(client.get(f"{url}?risk_color=red", headers=district))
    assert world.enterprise_a.id not in red
    assert_error(client.get(f"{url}?region_id={world.street_b.id}", headers=street), 404)


def test_a_collection_says_when_more_matched_than_it_holds(client, ctx, db, world, auth_header):
    for _ in range(3):
        _reported(client, world, auth_header, world.enterprise_a)
    actor = load_actor(db.connection(), world.district_supervisor.id)
    found = located_hazards(ctx, actor, HazardFilters(), limit=2)
    assert len(found.items) == 2 and found.truncated is True
    assert located_hazards(ctx, actor, HazardFilters(), limit=3).truncated is False
