"""What the fuzzer found, pinned as plain examples so they stay fixed whatever it generates."""

from __future__ import annotations

import io

import pytest

from tests.api.helpers import assert_error
from tests.hostile import plain_jpeg

HUGE = 2**63  # past SQLite's INTEGER; 2**31 is already past PostgreSQL's
TOO_BIG = 2**31


@pytest.fixture
def admin(world, auth_header):  # type: ignore[no-untyped-def]
    return auth_header(world.admin)


@pytest.mark.parametrize("number", [TOO_BIG, HUGE, 0])
@pytest.mark.parametrize(
    "path", ["/api/v1/hazards/{}", "/api/v1/enterprises/{}", "/api/v1/qrcodes/{}.png"]
)
def test_an_id_no_row_can_have_is_404(client, admin, path, number):
    assert_error(client.get(path.format(number), headers=admin), 404, "not_found")


@pytest.mark.parametrize("number", [TOO_BIG, HUGE])
def test_an_absurd_id_in_a_query_or_body_is_422(client, admin, world, number):
    body = assert_error(client.get(f"/api/v1/stats/summary?region_id={number}", headers=admin), 422)
    assert "region_id" in body["errors"]
    patch = {"inspector_ids": [number]}
    body = assert_error(
        client.patch(f"/api/v1/grids/{world.grid_a.id}", json=patch, headers=admin), 422
    )
    assert "inspector_ids" in body["errors"]


def test_nul_characters_are_422_naming_the_field(client, admin, world):
    body = assert_error(
        client.post(
            "/api/v1/regions",
            json={"code": "990000000001", "name": "甲\x00", "level": "city"},
            headers=admin,
        ),
        422,
        "validation_error",
    )
    assert set(body["errors"]) == {"name"}
    body = assert_error(client.get("/api/v1/users?q=a%00b", headers=admin), 422)
    assert set(body["errors"]) == {"q"}
    body = assert_error(client.get("/api/v1/scan/abc%00def"), 422)
    assert set(body["errors"]) == {"token"}


def test_nul_in_a_multipart_field_is_422(client, world, auth_header):
    response = client.post(
        "/api/v1/media",
        data={"file": (io.BytesIO(plain_jpeg(64, 48)), "a.jpg"), "share_location": "\x00"},
        headers=auth_header(world.reporter),
        content_type="multipart/form-data",
    )
    assert_error(response, 422, "validation_error")


def test_a_taken_username_is_409_not_a_database_error(client, admin, world):
    # The region look-up used to flush the half-built user first: an IntegrityError, a 500.
    taken = {"username": world.admin.username, "region_id": world.district.id}
    response = client.post(
        "/api/v1/users",
        json={**taken, "password": "long-enough-1", "role": "supervisor"},
        headers=admin,
    )
    assert_error(response, 409, "conflict")
    response = client.patch(
        f"/api/v1/users/{world.district_supervisor.id}", json=taken, headers=admin
    )
    assert_error(response, 409, "conflict")


def test_binding_a_user_to_a_missing_row_is_422(client, admin, world):
    response = client.post(
        "/api/v1/users",
        json={"username": "new-officer", "role": "enterprise_officer", "enterprise_id": 987654},
        headers=admin,
    )
    assert "enterprise_id" in assert_error(response, 422)["errors"]
    response = client.patch(
        f"/api/v1/users/{world.district_supervisor.id}", json={"region_id": 987654}, headers=admin
    )
    assert "region_id" in assert_error(response, 422)["errors"]


def test_a_report_as_admin_through_a_scan_is_a_documented_403(client, admin, world):
    issued = client.post(
        f"/api/v1/enterprises/{world.enterprise_a.id}/qrcodes", json={}, headers=admin
    )
    response = client.post(
        f"/api/v1/scan/{issued.get_json()['token']}/hazards",
        json={"category": "fire", "description": "x", "media_ids": [1]},
        headers=admin,
    )
    assert_error(response, 403)
    documented = client.get("/api/openapi.json").get_json()["paths"]
    assert "403" in documented["/api/v1/scan/{token}/hazards"]["post"]["responses"]


def test_every_secured_operation_documents_401_and_every_json_body_400(client):
    paths = client.get("/api/openapi.json").get_json()["paths"]
    for path, operations in paths.items():
        for method, operation in operations.items():
            if method == "parameters":
                continue
            secured = operation.get("security") is None or any(
                "bearerAuth" in option for option in operation["security"]
            )
            if secured:
                assert "401" in operation["responses"], (method, path)
            if "application/json" in operation.get("requestBody", {}).get("content", {}):
                assert "400" in operation["responses"], (method, path)


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/stats/trend?from=0001-01-01",
        "/api/v1/stats/summary?to=9999-12-31",
        "/api/v1/hazards?from=0001-01-01T00:00:00%2B14:00",
        "/api/v1/checkins?to=9999-12-31T23:00:00-10:00",
    ],
)
def test_a_far_off_date_is_422_not_an_overflow(client, admin, path):
    assert_error(client.get(path, headers=admin), 422, "validation_error")


def _import(client, headers, data: bytes):  # type: ignore[no-untyped-def]
    return client.post(
        "/api/v1/enterprises/import",
        data={"file": (io.BytesIO(data), "enterprises.csv")},
        headers=headers,
        content_type="multipart/form-data",
    )


def test_an_unparseable_csv_is_415(client, admin):
    huge_field = b"a,b\n" + b"x" * 200_000 + b",1\n"  # over the csv module's field limit
    assert_error(_import(client, admin, huge_field), 415, "unsupported_import_file")


def test_a_csv_with_old_mac_line_endings_is_read(client, admin, world):
    header = "统一社会信用代码,企业名称,地址,纬度,经度,行业,风险等级,网格编码"
    row = f"91350100M000100Y43,一号企业,路1号,,,工贸,黄,{world.grid_a.code}"
    response = _import(client, admin, f"{header}\r{row}\r".encode())
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["total"] == 1 and response.get_json()["failed"] == 0
