"""Property-based fuzzing of every documented operation, through the app's own OpenAPI.

schemathesis reads /api/openapi.json from the WSGI app and, for each operation, sends
generated requests (valid and invalid ones) authenticated as an admin and as a reporter.
Every answer must be a documented status with a body matching its documented schema, never
a 5xx, and every error must be the SPEC §5 shape. The run is derandomized so it is the same
on every machine; `FUZZ_EXAMPLES` raises the per-operation budget (`make fuzz`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, settings
from schemathesis import Case, Response
from schemathesis.checks import CheckContext, not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    is_unexpected_http_status_case,
    response_schema_conformance,
)
from sqlalchemy.orm import sessionmaker

from miniprogram_api import create_app
from service.core.context import Context
from service.core.settings import Settings
from tests.api.hazard_helpers import report, upload
from tests.factories import World
from uploads_schema.common import MAX_ID

# Examples per operation and role in the fuzzing phase, on top of schemathesis's coverage
# phase (boundary values, wrong types, missing fields), which always runs in full.
FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "15"))
ERROR_KEYS = {"status", "code", "message", "message_en", "errors"}


def error_shape(ctx: CheckContext, response: Response, case: Case) -> None:
    """Every 4xx/5xx answer is the SPEC §5 JSON error object, whatever the documentation says."""
    if response.status_code < 400:
        return
    try:
        body = response.json()
    except ValueError as exc:
        raise AssertionError(f"{response.status_code} answer is not JSON") from exc
    assert isinstance(body, dict) and set(body) == ERROR_KEYS, f"not the error shape: {body!r}"
    assert body["status"] == response.status_code, body
    assert isinstance(body["code"], str) and body["code"], body
    assert isinstance(body["message"], str) and isinstance(body["message_en"], str), body
    assert isinstance(body["errors"], dict), body


def status_documented(ctx: CheckContext, response: Response, case: Case) -> None:
    """The status is one the operation itself documents.

    flask-smorest gives every operation a catch-all `default` response, which would make
    schemathesis's status_code_conformance accept any status; this check ignores it.
    """
    if is_unexpected_http_status_case(case):
        return  # schemathesis's probes with unsupported methods and the like: Flask's 405
    documented = {code for code in case.operation.responses.status_codes if code != "default"}
    assert str(response.status_code) in documented, (
        f"{case.operation.label} answered {response.status_code}, "
        f"documented: {', '.join(sorted(documented))}"
    )


CHECKS = [
    not_a_server_error,
    status_documented,
    content_type_conformance,
    response_schema_conformance,
    error_shape,
]


def _load_schema() -> schemathesis.BaseSchema:
    # The document only: an app on settings alone, no database is touched. Requests go to
    # each test's own app (`fuzz_app`), inside that test's rolled-back transaction.
    document_only = Context(settings=Settings(app_env="test"), session_factory=sessionmaker())
    spec_app = create_app(context=document_only)
    # A fixed seed and the @settings below (derandomize, no example database) make every
    # run send the same requests; the budget is the @settings' max_examples.
    config = SchemathesisConfig.from_dict({"seed": 20240601})
    return schemathesis.openapi.from_wsgi("/api/openapi.json", spec_app, config=config)


schema = _load_schema()


@pytest.fixture(params=["admin", "reporter"])
def role(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def fuzz_app(ctx: Context) -> Flask:
    """The app with generous rate limits: the fuzzer's requests are not an attack to slow."""
    ctx.settings = ctx.settings.with_overrides(
        ratelimit_scan="100000/minute",
        ratelimit_login="100000/minute",
        ratelimit_upload="100000/minute",
    )
    return create_app(context=ctx)


@dataclass
class Rows:
    """Real rows for the fuzzer to aim at, by path parameter name."""

    headers: dict[str, dict[str, str]]
    by_param: dict[str, list[int | str]]


@pytest.fixture
def rows(fuzz_app: Flask, world: World, auth_header) -> Rows:  # type: ignore[no-untyped-def]
    """The little world plus what the API makes: a QR code, photos, a hazard, a receipt."""
    client = fuzz_app.test_client()
    admin, reporter = auth_header(world.admin), auth_header(world.reporter)
    issued = client.post(
        f"/api/v1/enterprises/{world.enterprise_a.id}/qrcodes", json={}, headers=admin
    )
    assert issued.status_code == 201, issued.get_json()
    code = issued.get_json()
    named = report(client, reporter, code["token"], photos=2)
    assert named.status_code == 201, named.get_json()
    anonymous = client.post(
        f"/api/v1/scan/{code['token']}/hazards",
        json={
            "category": "fire",
            "description": "消防通道堆放杂物",
            "media_ids": [upload(client, reporter)],
        },
        headers=reporter,
    )
    assert anonymous.status_code == 201, anonymous.get_json()
    hazard = named.get_json()["hazard"]
    regions = [world.city, world.district, world.street_a, world.street_b, world.community_a]
    users = [world.admin, world.district_supervisor, world.inspector, world.officer, world.reporter]
    return Rows(
        headers={"admin": admin, "reporter": reporter},
        by_param={
            "region_id": [r.id for r in regions],
            "grid_id": [world.grid_a.id, world.grid_b.id],
            "enterprise_id": [world.enterprise_a.id, world.enterprise_b.id],
            "user_id": [u.id for u in users],
            "code_id": [code["id"]],
            "token": [code["token"]],
            "hazard_id": [hazard["id"], anonymous.get_json()["hazard"]["id"]],
            "media_id": [photo["id"] for photo in hazard["photos"]["before"]],
            "key": [anonymous.get_json()["receipt_key"]],
        },
    )


def aim_at_rows(case: Case, rows: Rows) -> None:
    """Swap about half of the generated path values for ids of real rows.

    Random ids almost never name a row, so views would only ever answer 404. The choice
    depends only on the generated value, so the run stays deterministic; values outside
    the valid range (the negative cases) are left alone.
    """
    for name, value in (case.path_parameters or {}).items():
        known = rows.by_param.get(name)
        if not known:
            continue
        if isinstance(value, int) and 1 <= value <= MAX_ID and value % 2 == 0:
            case.path_parameters[name] = known[value // 2 % len(known)]
        elif isinstance(value, str) and isinstance(known[0], str) and len(value) % 2 == 0:
            case.path_parameters[name] = known[len(value) // 2 % len(known)]


@schema.parametrize()
@settings(
    max_examples=FUZZ_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    # The app and its world are built once per operation, not per example: that is intended.
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
    ],
)
def test_every_operation_answers_as_documented(
    case: Case, fuzz_app: Flask, rows: Rows, role: str
) -> None:
    """No 5xx, documented statuses and bodies, and the one error shape, for any input."""
    aim_at_rows(case, rows)
    case.call_and_validate(app=fuzz_app, headers=rows.headers[role], checks=CHECKS)
