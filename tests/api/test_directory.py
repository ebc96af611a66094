"""Admins build the directory: regions, grids, enterprises (credit codes), users."""

from sqlalchemy import select

from service.directory.models import Enterprise
from tests.api.helpers import assert_error
from tests.factories import PASSWORD

VALID_CODE = "91350100M000100Y43"
BAD_CHECKSUM = "91350100M000100Y44"


def _enterprise(grid_id, **overrides):
    body = {
        "credit_code": VALID_CODE,
        "name": "常州安达机械有限公司",
        "address": "武进区湖塘镇工业路 1 号",
        "lat": 31.71,
        "lng": 119.95,
        "industry": "industry_trade",
        "risk_color": "yellow",
        "grid_id": grid_id,
    }
    body.update(overrides)
    return body


def test_admin_builds_a_region_tree_with_paths(client, world, auth_header):
    h = auth_header(world.admin)
    city = client.post(
        "/api/v1/regions",
        json={"code": "320500000000", "name": "苏州市", "level": "city"},
        headers=h,
    )
    assert city.status_code == 201, city.json
    district = client.post(
        "/api/v1/regions",
        json={
            "code": "320505000000",
            "name": "虎丘区",
            "level": "district",
            "parent_id": city.json["id"],
        },
        headers=h,
    )
    assert district.status_code == 201
    assert district.json["path"] == "/320500000000/320505000000/"


def test_a_region_must_sit_one_level_below_its_parent(client, world, auth_header):
    response = client.post(
        "/api/v1/regions",
        json={
            "code": "320412099000",
            "name": "错层",
            "level": "community",
            "parent_id": world.district.id,
        },
        headers=auth_header(world.admin),
    )
    body = assert_error(response, 422, "validation_error")
    assert "level" in body["errors"]


def test_region_codes_are_twelve_digits_and_unique(client, world, auth_header):
    h = auth_header(world.admin)
    bad = client.post(
        "/api/v1/regions", json={"code": "3205", "name": "x", "level": "city"}, headers=h
    )
    assert "code" in assert_error(bad, 422)["errors"]
    dup = client.post(
        "/api/v1/regions", json={"code": world.city.code, "name": "x", "level": "city"}, headers=h
    )
    assert_error(dup, 409, "conflict")


def test_admin_creates_a_grid_with_inspectors_under_a_community(client, world, auth_header):
    h = auth_header(world.admin)
    response = client.post(
        "/api/v1/grids",
        json={
            "code": "G-NEW",
            "name": "新网格",
            "region_id": world.community_b.id,
            "inspector_ids": [world.inspector.id],
        },
        headers=h,
    )
    assert response.status_code == 201, response.json
    assert response.json["inspector_ids"] == [world.inspector.id]
    # the inspector now also sees the new grid
    mine = client.get("/api/v1/grids", headers=auth_header(world.inspector))
    assert {g["code"] for g in mine.json["items"]} == {world.grid_a.code, "G-NEW"}


def test_grids_only_hang_under_communities_and_take_only_inspectors(client, world, auth_header):
    h = auth_header(world.admin)
    under_street = client.post(
        "/api/v1/grids",
        json={"code": "G-X", "name": "x", "region_id": world.street_a.id},
        headers=h,
    )
    assert "region_id" in assert_error(under_street, 422)["errors"]
    with_officer = client.post(
        "/api/v1/grids",
        json={
            "code": "G-Y",
            "name": "y",
            "region_id": world.community_a.id,
            "inspector_ids": [world.officer.id],
        },
        headers=h,
    )
    assert "inspector_ids" in assert_error(with_officer, 422)["errors"]


def test_a_valid_credit_code_is_stored_without_warnings(client, world, auth_header, db):
    response = client.post(
        "/api/v1/enterprises", json=_enterprise(world.grid_a.id), headers=auth_header(world.admin)
    )
    assert response.status_code == 201, response.json
    assert response.json["warnings"] == []
    assert response.json["enterprise"]["credit_code_valid"] is True


def test_a_bad_checksum_is_stored_with_a_warning(client, world, auth_header, db):
    response = client.post(
        "/api/v1/enterprises",
        json=_enterprise(world.grid_a.id, credit_code=BAD_CHECKSUM.lower()),
        headers=auth_header(world.admin),
    )
    assert response.status_code == 201, response.json
    assert response.json["warnings"] == ["credit_code_checksum"]
    stored = db.scalar(select(Enterprise).where(Enterprise.credit_code == BAD_CHECKSUM))
    assert stored is not None and stored.credit_code_valid is False


def test_a_malformed_credit_code_is_refused(client, world, auth_header, db):
    response = client.post(
        "/api/v1/enterprises",
        json=_enterprise(world.grid_a.id, credit_code="ABC123"),
        headers=auth_header(world.admin),
    )
    body = assert_error(response, 422, "validation_error")
    assert "credit_code" in body["errors"]
    assert db.scalar(select(Enterprise).where(Enterprise.name == "常州安达机械有限公司")) is None


def test_a_credit_code_is_registered_once(client, world, auth_header):
    body = _enterprise(world.grid_a.id, credit_code=world.enterprise_b.credit_code)
    response = client.post("/api/v1/enterprises", json=body, headers=auth_header(world.admin))
    assert_error(response, 409, "conflict")


def test_moving_an_enterprise_to_another_grid_moves_who_sees_it(client, world, auth_header):
    street_b_view = client.get(
        f"/api/v1/enterprises/{world.enterprise_a2.id}",
        headers=auth_header(world.street_supervisor),
    )
    assert street_b_view.status_code == 200
    moved = client.patch(
        f"/api/v1/enterprises/{world.enterprise_a2.id}",
        json={"grid_id": world.grid_b.id, "risk_color": "red"},
        headers=auth_header(world.admin),
    )
    assert moved.status_code == 200, moved.json
    assert moved.json["enterprise"]["risk_color"] == "red"
    gone = client.get(
        f"/api/v1/enterprises/{world.enterprise_a2.id}",
        headers=auth_header(world.street_supervisor),
    )
    assert_error(gone, 404)


def test_enterprise_list_filters(client, world, auth_header):
    h = auth_header(world.admin)
    by_grid = client.get(f"/api/v1/enterprises?grid_id={world.grid_b.id}", headers=h)
    assert [e["name"] for e in by_grid.json["items"]] == ["乙企业"]
    by_text = client.get("/api/v1/enterprises?q=甲二", headers=h)
    assert [e["name"] for e in by_text.json["items"]] == ["甲二企业"]
    by_code = client.get(
        f"/api/v1/enterprises?q={world.enterprise_b.credit_code.lower()}", headers=h
    )
    assert [e["name"] for e in by_code.json["items"]] == ["乙企业"]


def test_pages_are_stable_and_counted(client, world, auth_header):
    h = auth_header(world.admin)
    first = client.get("/api/v1/enterprises?page=1&page_size=2", headers=h).json
    second = client.get("/api/v1/enterprises?page=2&page_size=2", headers=h).json
    assert first["total"] == second["total"] == 3
    ids = [e["id"] for e in first["items"] + second["items"]]
    assert ids == sorted(ids) and len(set(ids)) == 3


def test_page_size_over_the_cap_is_422(client, world, auth_header):
    response = client.get("/api/v1/enterprises?page_size=1000", headers=auth_header(world.admin))
    assert "page_size" in assert_error(response, 422)["errors"]


def test_admin_creates_staff_who_can_then_log_in(client, world, auth_header):
    response = client.post(
        "/api/v1/users",
        json={
            "username": "newsuper",
            "password": "a-long-password",
            "role": "supervisor",
            "region_id": world.street_b.id,
            "display_name": "新主管",
        },
        headers=auth_header(world.admin),
    )
    assert response.status_code == 201, response.json
    login = client.post(
        "/api/v1/auth/login", json={"username": "newsuper", "password": "a-long-password"}
    )
    assert login.status_code == 200
    token = {"Authorization": f"Bearer {login.json['access_token']}"}
    seen = client.get("/api/v1/enterprises", headers=token)
    assert [e["name"] for e in seen.json["items"]] == ["乙企业"]


def test_role_bindings_are_checked(client, world, auth_header):
    h = auth_header(world.admin)
    officer = client.post("/api/v1/users", json={"role": "enterprise_officer"}, headers=h)
    assert "enterprise_id" in assert_error(officer, 422)["errors"]
    supervisor = client.post("/api/v1/users", json={"role": "supervisor"}, headers=h)
    assert "region_id" in assert_error(supervisor, 422)["errors"]
    reporter_with_grid = client.post(
        "/api/v1/users", json={"role": "reporter", "grid_ids": [world.grid_a.id]}, headers=h
    )
    assert "grid_ids" in assert_error(reporter_with_grid, 422)["errors"]
    short_password = client.post(
        "/api/v1/users", json={"role": "admin", "username": "abc", "password": "short"}, headers=h
    )
    assert "password" in assert_error(short_password, 422)["errors"]


def test_usernames_are_unique(client, world, auth_header):
    response = client.post(
        "/api/v1/users",
        json={"role": "admin", "username": world.admin.username, "password": PASSWORD},
        headers=auth_header(world.admin),
    )
    assert_error(response, 409)


def test_inspector_grids_can_be_reassigned(client, world, auth_header):
    response = client.patch(
        f"/api/v1/users/{world.inspector.id}",
        json={"grid_ids": [world.grid_b.id]},
        headers=auth_header(world.admin),
    )
    assert response.status_code == 200
    assert response.json["grid_ids"] == [world.grid_b.id]
    seen = client.get("/api/v1/enterprises", headers=auth_header(world.inspector))
    assert [e["name"] for e in seen.json["items"]] == ["乙企业"]


def test_region_and_grid_can_be_renamed(client, world, auth_header):
    h = auth_header(world.admin)
    region = client.patch(f"/api/v1/regions/{world.street_a.id}", json={"name": "甲镇"}, headers=h)
    assert region.json["name"] == "甲镇"
    grid = client.patch(f"/api/v1/grids/{world.grid_a.id}", json={"name": "甲一网格"}, headers=h)
    assert grid.json["name"] == "甲一网格"
