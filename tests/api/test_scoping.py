"""Each role sees exactly its scope, and out-of-scope ids answer 404 (never 403)."""

import pytest

from tests.api.helpers import assert_error

# role attribute on World → names of the enterprises it must see
VISIBLE_ENTERPRISES = {
    "admin": {"甲企业", "甲二企业", "乙企业"},
    "district_supervisor": {"甲企业", "甲二企业", "乙企业"},
    "street_supervisor": {"甲企业", "甲二企业"},
    "inspector": {"甲企业", "甲二企业"},
    "officer": {"甲企业"},
    "reporter": set(),
}


@pytest.mark.parametrize("role", list(VISIBLE_ENTERPRISES))
def test_each_role_lists_exactly_its_enterprises(client, world, auth_header, role):
    response = client.get(
        "/api/v1/enterprises?page_size=100", headers=auth_header(getattr(world, role))
    )
    assert response.status_code == 200
    assert {e["name"] for e in response.json["items"]} == VISIBLE_ENTERPRISES[role]
    assert response.json["total"] == len(VISIBLE_ENTERPRISES[role])


@pytest.mark.parametrize("role", list(VISIBLE_ENTERPRISES))
def test_each_role_gets_404_for_enterprises_outside_its_scope(client, world, auth_header, role):
    headers = auth_header(getattr(world, role))
    for enterprise in (world.enterprise_a, world.enterprise_a2, world.enterprise_b):
        response = client.get(f"/api/v1/enterprises/{enterprise.id}", headers=headers)
        if enterprise.name in VISIBLE_ENTERPRISES[role]:
            assert response.status_code == 200
        else:
            assert_error(response, 404, "not_found")


def test_unknown_and_out_of_scope_ids_look_the_same(client, world, auth_header):
    headers = auth_header(world.street_supervisor)
    hidden = client.get(f"/api/v1/enterprises/{world.enterprise_b.id}", headers=headers)
    missing = client.get("/api/v1/enterprises/999999", headers=headers)
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json == missing.json


VISIBLE_REGIONS = {
    "admin": {"测试市", "测试区", "甲街道", "乙街道", "甲社区", "乙社区"},
    "district_supervisor": {"测试区", "甲街道", "乙街道", "甲社区", "乙社区"},
    "street_supervisor": {"甲街道", "甲社区"},
    "inspector": {"甲社区"},
    "officer": set(),
    "reporter": set(),
}


@pytest.mark.parametrize("role", list(VISIBLE_REGIONS))
def test_each_role_lists_exactly_its_regions(client, world, auth_header, role):
    response = client.get(
        "/api/v1/regions?page_size=100", headers=auth_header(getattr(world, role))
    )
    assert response.status_code == 200
    names = {r["name"] for r in response.json["items"]}
    # other tests' regions never leak in: each test runs in its own transaction
    assert names == VISIBLE_REGIONS[role]


VISIBLE_GRIDS = {
    "admin": {"甲网格", "乙网格"},
    "district_supervisor": {"甲网格", "乙网格"},
    "street_supervisor": {"甲网格"},
    "inspector": {"甲网格"},
    "officer": set(),
    "reporter": set(),
}


@pytest.mark.parametrize("role", list(VISIBLE_GRIDS))
def test_each_role_lists_exactly_its_grids(client, world, auth_header, role):
    response = client.get("/api/v1/grids", headers=auth_header(getattr(world, role)))
    assert response.status_code == 200
    assert {g["name"] for g in response.json["items"]} == VISIBLE_GRIDS[role]


def test_grid_detail_outside_scope_is_404(client, world, auth_header):
    headers = auth_header(world.inspector)
    assert client.get(f"/api/v1/grids/{world.grid_a.id}", headers=headers).status_code == 200
    assert_error(client.get(f"/api/v1/grids/{world.grid_b.id}", headers=headers), 404)


def test_region_detail_outside_scope_is_404(client, world, auth_header):
    headers = auth_header(world.street_supervisor)
    ok = client.get(f"/api/v1/regions/{world.community_a.id}", headers=headers)
    assert ok.status_code == 200
    assert_error(client.get(f"/api/v1/regions/{world.street_b.id}", headers=headers), 404)
    assert_error(client.get(f"/api/v1/regions/{world.district.id}", headers=headers), 404)


def test_supervisor_sees_the_staff_of_the_subtree_only(client, world, auth_header):
    response = client.get(
        "/api/v1/users?page_size=100", headers=auth_header(world.street_supervisor)
    )
    ids = {u["id"] for u in response.json["items"]}
    assert ids == {world.street_supervisor.id, world.inspector.id, world.officer.id}


@pytest.mark.parametrize("role", ["inspector", "officer", "reporter"])
def test_field_roles_see_only_themselves_among_users(client, world, auth_header, role):
    user = getattr(world, role)
    response = client.get("/api/v1/users", headers=auth_header(user))
    assert [u["id"] for u in response.json["items"]] == [user.id]
    assert_error(client.get(f"/api/v1/users/{world.admin.id}", headers=auth_header(user)), 404)


def test_region_filter_outside_scope_is_404(client, world, auth_header):
    headers = auth_header(world.street_supervisor)
    response = client.get(f"/api/v1/enterprises?region_id={world.street_b.id}", headers=headers)
    assert_error(response, 404)
    inside = client.get(f"/api/v1/enterprises?region_id={world.community_a.id}", headers=headers)
    assert {e["name"] for e in inside.json["items"]} == {"甲企业", "甲二企业"}


@pytest.mark.parametrize("role", ["district_supervisor", "inspector", "officer", "reporter"])
@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/api/v1/regions", {"code": "123456789012", "name": "x", "level": "city"}),
        ("post", "/api/v1/grids", {"code": "g", "name": "x", "region_id": 1}),
        ("post", "/api/v1/users", {"role": "reporter"}),
        (
            "post",
            "/api/v1/enterprises",
            {
                "credit_code": "91350100M000100Y43",
                "name": "x",
                "industry": "other",
                "risk_color": "blue",
                "grid_id": 1,
            },
        ),
    ],
)
def test_only_admins_change_the_directory(client, world, auth_header, role, method, path, body):
    response = getattr(client, method)(path, json=body, headers=auth_header(getattr(world, role)))
    assert_error(response, 403, "forbidden")
