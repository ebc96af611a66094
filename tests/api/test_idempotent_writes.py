"""Every write honours `Idempotency-Key` (SPEC §3: weak mobile networks retry).

`WRITES` holds one row for every write route of the app: how it treats the key. For each
route the request comes from the authorization matrix (its first cell that succeeds: a
valid body, an object in the state the write needs), sent twice under one key: the second
answer repeats the first (status and body, `Idempotent-Replayed: true`) and no table
changes; the same key with another request is a 422.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from miniprogram_api.idempotency import BY_USE_CASE, NOT_REPLAYED, REPLAYED_HEADER, openapi_path
from service.core.models import Base
from tests.api.helpers import assert_error
from tests.api.matrix_world import ROLES, Matrix
from tests.api.test_authorization_matrix import (  # noqa: F401  (module-scoped fixtures)
    _PLACEHOLDER,
    MATRIX,
    Caller,
    Row,
    matrix,
    matrix_connection,
    own_pending,
    savepoint,
)

REPLAYED, BY_CASE, OFF = "replayed", "by use case", "not replayed"
V1 = "/api/v1"
H = f"{V1}/hazards/<int:hazard_id>"
P = f"{V1}/points/<int:point_id>"

# Every write route: "replayed" by the request-wide mechanism, "by use case" (the use case
# remembers its own outcome), or "not replayed" (the key is ignored; README "Retries").
WRITES: dict[tuple[str, str], str] = {
    ("POST", f"{V1}/auth/login"): OFF,
    ("POST", f"{V1}/auth/wechat-login"): OFF,
    ("POST", f"{V1}/auth/refresh"): OFF,
    ("POST", f"{V1}/auth/change-password"): OFF,
    ("POST", f"{V1}/auth/dev-login"): OFF,
    ("POST", f"{V1}/regions"): REPLAYED,
    ("PATCH", f"{V1}/regions/<int:region_id>"): REPLAYED,
    ("POST", f"{V1}/grids"): REPLAYED,
    ("PATCH", f"{V1}/grids/<int:grid_id>"): REPLAYED,
    ("POST", f"{V1}/enterprises"): REPLAYED,
    ("POST", f"{V1}/enterprises/import"): REPLAYED,
    ("PATCH", f"{V1}/enterprises/<int:enterprise_id>"): REPLAYED,
    ("PUT", f"{V1}/enterprises/<int:enterprise_id>/shifts"): REPLAYED,
    ("POST", f"{V1}/enterprises/<int:enterprise_id>/qrcodes"): REPLAYED,
    ("POST", f"{V1}/users"): REPLAYED,
    ("POST", f"{V1}/users/import"): REPLAYED,
    ("PATCH", f"{V1}/users/<int:user_id>"): REPLAYED,
    ("POST", f"{V1}/users/<int:user_id>/reset-password"): REPLAYED,
    ("POST", f"{V1}/users/<int:user_id>/unlock"): REPLAYED,
    ("POST", f"{V1}/qrcodes/<int:code_id>/revoke"): REPLAYED,
    ("POST", f"{V1}/qrcodes/<int:code_id>/rotate"): REPLAYED,
    ("POST", f"{V1}/jobs/<int:job_id>/cancel"): REPLAYED,
    ("POST", f"{V1}/scan/<token>/checkins"): REPLAYED,
    ("POST", f"{V1}/scan/<token>/hazards"): BY_CASE,
    ("POST", f"{V1}/scan/<token>/media"): OFF,
    ("POST", f"{V1}/media"): OFF,
    ("POST", f"{V1}/hazards"): BY_CASE,
    ("POST", f"{H}/assign"): BY_CASE,
    ("POST", f"{H}/plan"): BY_CASE,
    ("POST", f"{H}/submit-fix"): BY_CASE,
    ("POST", f"{H}/verify"): BY_CASE,
    ("POST", f"{H}/reject"): BY_CASE,
    ("POST", f"{H}/reopen"): BY_CASE,
    ("POST", f"{H}/extend"): BY_CASE,
    ("POST", f"{V1}/points"): REPLAYED,
    ("PATCH", P): REPLAYED,
    ("POST", f"{P}/assessments"): REPLAYED,
    ("POST", f"{P}/checklists"): REPLAYED,
    ("DELETE", f"{P}/checklists/<int:attachment_id>"): REPLAYED,
    ("POST", f"{V1}/checklists"): REPLAYED,
    ("PATCH", f"{V1}/checklists/<int:checklist_id>"): REPLAYED,
    ("POST", f"{V1}/tasks/<int:task_id>/submit"): BY_CASE,
}

# Rows every request may touch, whatever it does: rate-limit hits.
BOOKKEEPING = {"rate_limit_slots"}


def test_every_write_route_has_a_row(matrix: Matrix) -> None:  # noqa: F811
    app = matrix.client.application
    writes = {
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        for method in rule.methods & {"POST", "PUT", "PATCH", "DELETE"}
    }
    assert set(WRITES) == writes, (
        f"no row for {sorted(writes - set(WRITES))}; "
        f"rows for missing routes {sorted(set(WRITES) - writes)}"
    )
    endpoints = {
        (method, rule.rule): rule.endpoint
        for rule in app.url_map.iter_rules()
        for method in rule.methods
    }
    modes = {
        route: BY_CASE
        if endpoints[route] in BY_USE_CASE
        else OFF
        if endpoints[route] in NOT_REPLAYED
        else REPLAYED
        for route in WRITES
    }
    assert modes == WRITES


@pytest.fixture
def m(matrix: Matrix, matrix_connection) -> Iterator[Matrix]:  # type: ignore[no-untyped-def]  # noqa: F811
    with savepoint(matrix_connection):
        yield matrix


def _first_success(route: tuple[str, str]) -> tuple[Row, str]:
    """The matrix's first cell of the route that succeeds (else its first row, as admin:
    the dev login is off in tests)."""
    for row in MATRIX[route].values():
        for role, status in zip(ROLES, row.statuses(), strict=True):
            if status < 300:
                return row, role
    return next(iter(MATRIX[route].values())), "admin"


def _frozen(body: dict[str, Any]) -> dict[str, Any]:
    """A multipart body whose files can be sent again (each send reads them)."""
    return {
        name: (value[0].getvalue(), value[1]) if isinstance(value, tuple) else value
        for name, value in body.items()
    }


def _thawed(body: dict[str, Any]) -> dict[str, Any]:
    return {
        name: (io.BytesIO(value[0]), value[1]) if isinstance(value, tuple) else value
        for name, value in body.items()
    }


class Sender:
    """One request of a route, built once, sent as often as wanted."""

    def __init__(self, m: Matrix, route: tuple[str, str]) -> None:
        self.m = m
        self.method, rule = route
        self.row, self.role = _first_success(route)
        self.path = rule
        if _PLACEHOLDER.search(rule):
            value = self.row.arg(m) if self.row.arg is not None else own_pending(m, self.role)
            for part in value if isinstance(value, tuple) else (value,):
                self.path = _PLACEHOLDER.sub(str(part), self.path, count=1)
        self.query = self.row.query(m) if self.row.query is not None else {}
        self.body = None if self.row.body is None else self.row.body(m, Caller(m, self.role))
        if self.body is not None and self.row.multipart:
            self.body = _frozen(self.body)

    def send(self, key: str, *, other: bool = False) -> Any:
        """Send under `key`; `other`: the same request written differently (its bytes or
        its query differ)."""
        headers = {**self.m.headers[self.role], "Idempotency-Key": key}
        kwargs: dict[str, Any] = {"headers": headers, "query_string": dict(self.query)}
        if self.body is not None and self.row.multipart:
            kwargs.update(data=_thawed(self.body), content_type="multipart/form-data")
            if other:
                kwargs["query_string"]["again"] = "1"
        elif self.body is not None:
            raw = json.dumps(self.body, ensure_ascii=False, indent=1 if other else None)
            kwargs.update(data=raw.encode(), content_type="application/json")
        elif other:
            kwargs["query_string"]["again"] = "1"
        return self.m.client.open(self.path, method=self.method, **kwargs)


def _tables(m: Matrix, connection) -> dict[str, list[Any]]:  # type: ignore[no-untyped-def]
    """Every row of every table (bookkeeping aside), to see that nothing changed."""
    found = {}
    for table in Base.metadata.sorted_tables:
        if table.name in BOOKKEEPING:
            continue
        found[table.name] = sorted(
            (tuple(map(repr, row)) for row in connection.execute(select(table))), key=repr
        )
    return found


_keys = iter(range(1, 1_000_000))


@pytest.mark.parametrize(
    "route", sorted(r for r, mode in WRITES.items() if mode != OFF), ids=" ".join
)
def test_a_retried_write_answers_alike_and_changes_nothing(
    route: tuple[str, str],
    m: Matrix,
    matrix_connection,  # noqa: F811
) -> None:  # type: ignore[no-untyped-def]
    sender = Sender(m, route)
    key = f"retry-{next(_keys)}"
    first = sender.send(key)
    assert first.status_code < 300, first.get_data(as_text=True)
    before = _tables(m, matrix_connection)
    again = sender.send(key)
    assert _tables(m, matrix_connection) == before
    assert again.status_code == first.status_code
    assert again.get_json() == first.get_json()
    if WRITES[route] == REPLAYED:
        assert again.headers[REPLAYED_HEADER] == "true"
        assert REPLAYED_HEADER not in first.headers
        for name in ("Location", "ETag"):
            assert again.headers.get(name) == first.headers.get(name)
    other = sender.send(key, other=True)
    assert_error(other, 422, "idempotency_key_reused")
    assert _tables(m, matrix_connection) == before


@pytest.mark.parametrize(
    "route", sorted(r for r, mode in WRITES.items() if mode == OFF), ids=" ".join
)
def test_writes_left_out_run_again_under_the_same_key(route: tuple[str, str], m: Matrix) -> None:
    """Logins, refreshes, a password change and uploads: the key is ignored, never 422."""
    sender = Sender(m, route)
    sender.send("left-out")
    again = sender.send("left-out", other=True)
    assert REPLAYED_HEADER not in again.headers
    assert (again.get_json(silent=True) or {}).get("code") != "idempotency_key_reused"


def test_the_documentation_names_the_key_on_every_write_that_honours_it(m: Matrix) -> None:
    spec = m.client.get("/api/openapi.json").get_json()
    for (method, rule), mode in WRITES.items():
        operation = spec["paths"][openapi_path(rule)][method.lower()]
        names = {p["name"] for p in operation.get("parameters", [])}
        assert ("Idempotency-Key" in names) == (mode != OFF), (method, rule)
        if mode == REPLAYED:
            success = [r for s, r in operation["responses"].items() if s.startswith("2")]
            assert all(REPLAYED_HEADER in r.get("headers", {}) for r in success), (method, rule)
            assert {"409", "422"} <= set(operation["responses"]), (method, rule)
