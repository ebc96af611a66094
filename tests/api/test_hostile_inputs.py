"""Hostile bodies and paths, sent the way an outsider would: each is a 4xx in the one error
shape, never a 500, and writes nothing (issue 15, classes 5, 7 and 11).

Single-process behaviour through the Flask test client; what needs a real server (chunked
bodies from a socket, gunicorn's own limits) is in tests/integration/test_hostile_http.py.
"""

from __future__ import annotations

import io
import json
import logging
import re

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from miniprogram_api.inputs import MAX_JSON_DEPTH
from service.directory.models import User
from service.hazards.models import Hazard
from tests.api.hazard_helpers import report, scan_token
from tests.api.helpers import assert_error
from tests.hostile import oversized

MB = 1024 * 1024
DEEP = 50_000
# Bodies Python's json module turns into a RecursionError, a ValueError (int-string
# limit) or a str PostgreSQL cannot encode: each was a 500.
HOSTILE_JSON = {
    "deep_array": "[" * DEEP + "]" * DEEP,
    "deep_object": '{"a":' * DEEP + "1" + "}" * DEEP,
    "huge_integer": '{"username": ' + "7" * 5_000 + ', "password": "x"}',
    "lone_surrogate": '{"username": "\\ud800", "password": "long-enough-pass"}',
    "lone_low_surrogate": '{"description": "\\udfff tail", "category": "fire"}',
    "surrogate_key": '{"\\udbff": 1}',
}
METHODS = {"get", "post", "put", "patch", "delete"}
# Other scripts' digits `int()` reads as ASCII ones: fullwidth, Arabic-Indic, Devanagari.
DIGITS = {"fullwidth": 0xFF10, "arabic_indic": 0x0660, "devanagari": 0x0966}


def _spelled(number: int, zero: int) -> str:
    return "".join(chr(zero + int(digit)) for digit in str(number))


def _count(db, model) -> int:  # type: ignore[no-untyped-def]
    return db.scalar(select(func.count()).select_from(model))


def _json_routes(client) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """(method, path with every parameter filled) of each operation taking a JSON body."""
    spec = client.get("/api/openapi.json").get_json()
    return [
        (method, re.sub(r"\{[^}]+\}", "1", path))
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
        if method in METHODS
        and "application/json" in operation.get("requestBody", {}).get("content", {})
    ]


def _post_multipart(client, path, photo, headers=None):  # type: ignore[no-untyped-def]
    """POST a form with one file, encoded in memory: the test client would spool a large
    body to a temp file it never closes (a ResourceWarning under filterwarnings=error)."""
    boundary, body = encode_multipart({"file": FileStorage(io.BytesIO(photo), "a.jpg")})
    content_type = f'multipart/form-data; boundary="{boundary}"'
    return client.post(path, data=body, content_type=content_type, headers=headers or {})


def _post_json(client, path, text, headers=None):  # type: ignore[no-untyped-def]
    return client.post(path, data=text, content_type="application/json", headers=headers or {})


@pytest.mark.parametrize("name", HOSTILE_JSON)
def test_hostile_json_on_the_public_login_is_400_logged_without_a_traceback(client, caplog, name):
    caplog.set_level(logging.INFO)
    body = assert_error(_post_json(client, "/api/v1/auth/login", HOSTILE_JSON[name]), 400)
    assert body["code"] == "bad_request" and list(body["errors"]) == ["json"]
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert any(r.getMessage().startswith("refused a JSON body") for r in caplog.records)


@pytest.mark.parametrize("name", ["deep_array", "huge_integer", "lone_surrogate"])
def test_every_route_taking_json_refuses_hostile_json_with_400(client, world, auth_header, name):
    admin = auth_header(world.admin)
    routes = _json_routes(client)
    assert len(routes) > 20  # the spec was read, not an empty list
    for method, path in routes:
        response = client.open(
            path,
            method=method.upper(),
            data=HOSTILE_JSON[name],
            content_type="application/json",
            headers=admin,
        )
        assert_error(response, 400, "bad_request")


def test_a_lone_surrogate_in_a_description_reaches_no_table(client, world, auth_header, db):
    reporter = auth_header(world.reporter)
    token = scan_token(client, auth_header(world.admin), world.enterprise_a.id)
    hazards = _count(db, Hazard)
    body = {"qr_token": token, "category": "fire", "description": "\ud800", "media_ids": [1]}
    response = _post_json(client, "/api/v1/hazards", json.dumps(body), reporter)
    assert_error(response, 400, "bad_request")
    assert _count(db, Hazard) == hazards


def test_a_surrogate_pair_is_a_character_like_any_other(client, world, auth_header):
    token = scan_token(client, auth_header(world.admin), world.enterprise_a.id)
    reported = report(client, auth_header(world.reporter), token, description="电缆破损😀")
    assert reported.status_code == 201, reported.get_json()
    assert reported.get_json()["hazard"]["description"] == "电缆破损😀"


def test_hostile_bodies_create_no_user(client, world, auth_header, db):
    users = _count(db, User)
    admin = auth_header(world.admin)
    for text in (
        '{"code": "ok-\\ud800"}',
        '{"code": ' + "9" * 5_000 + "}",
        '{"code": ' + "[" * DEEP + "]" * DEEP + "}",
    ):
        assert_error(_post_json(client, "/api/v1/auth/wechat-login", text), 400, "bad_request")
    create = {"username": "\udc80x", "password": "long-enough-pass", "role": "admin"}
    assert_error(_post_json(client, "/api/v1/users", json.dumps(create), admin), 400)
    assert _count(db, User) == users


def test_json_nests_up_to_the_limit_and_no_further(client):
    def nested(depth: int) -> str:  # the outer object is one level
        inner = "[" * (depth - 1) + "]" * (depth - 1)
        return '{"username": ' + inner + ', "password": "long-enough-pass"}'

    at_limit = _post_json(client, "/api/v1/auth/login", nested(MAX_JSON_DEPTH))
    assert "username" in assert_error(at_limit, 422, "validation_error")["errors"]
    beyond = _post_json(client, "/api/v1/auth/login", nested(MAX_JSON_DEPTH + 1))
    assert_error(beyond, 400, "bad_request")


def test_numbers_past_a_double_are_400_and_large_ids_still_422(client, world, auth_header):
    admin = auth_header(world.admin)
    path = f"/api/v1/grids/{world.grid_a.id}"
    for number in ("1e400", "-" + "9" * 400):
        text = '{"inspector_ids": [' + number + "]}"
        assert_error(
            client.patch(path, data=text, content_type="application/json", headers=admin),
            400,
            "bad_request",
        )
    text = '{"inspector_ids": [' + "9" * 30 + "]}"
    body = assert_error(
        client.patch(path, data=text, content_type="application/json", headers=admin), 422
    )
    assert "inspector_ids" in body["errors"]


def test_an_empty_json_body_is_no_body(client, world, auth_header):
    response = client.post(
        f"/api/v1/enterprises/{world.enterprise_a.id}/qrcodes",
        data=b"",
        content_type="application/json",
        headers=auth_header(world.admin),
    )
    assert response.status_code == 201, response.get_json()


# --- body caps ---------------------------------------------------------------------------


def test_a_chunked_body_past_the_cap_is_413(client):
    # No Content-Length: only what is read can be counted.
    body = b'{"username": "' + b"x" * (2 * MB) + b'", "password": "x"}'
    response = client.post(
        "/api/v1/auth/login",
        input_stream=io.BytesIO(body),
        content_type="application/json",
        headers={"Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert response.request.content_length is None
    assert_error(response, 413, "payload_too_large")


def test_a_chunked_body_under_the_cap_is_read(client, world):
    body = json.dumps({"username": world.admin.username, "password": "wrong-password"})
    response = client.post(
        "/api/v1/auth/login",
        input_stream=io.BytesIO(body.encode()),
        content_type="application/json",
        headers={"Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert_error(response, 401, "invalid_credentials")


def test_multipart_on_a_json_route_is_capped_like_json(client):
    small = {"username": "someone", "password": "long-enough-pass"}
    response = client.post("/api/v1/auth/login", data=small, content_type="multipart/form-data")
    assert_error(response, 422, "validation_error")  # a form is not the JSON body it needs
    response = _post_multipart(client, "/api/v1/auth/login", oversized(2 * MB))
    assert_error(response, 413, "payload_too_large")


def test_routes_that_take_files_accept_bodies_past_the_json_cap(client, world, auth_header):
    photo = oversized(3 * MB)  # a real JPEG, padded
    response = _post_multipart(client, "/api/v1/media", photo, auth_header(world.reporter))
    assert response.status_code == 201, response.get_json()


def test_the_routes_that_take_files_are_the_documented_multipart_ones(app, client):
    spec = client.get("/api/openapi.json").get_json()
    documented = {
        (path, method.upper())
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
        if method in METHODS
        and "multipart/form-data" in operation.get("requestBody", {}).get("content", {})
    }
    marked = {
        (re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule), method)
        for rule in app.url_map.iter_rules()
        if getattr(
            getattr(app.view_functions[rule.endpoint], "view_class", None), "takes_files", False
        )
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert documented and marked == documented


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
