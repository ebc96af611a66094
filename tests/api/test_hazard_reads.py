"""The hot reads (`GET /hazards/{id}`, `GET /hazards`) answer exactly what the ORM oracle
(`hazard_oracle`) dumped through `HazardSchema` answers, for every status, role and scope."""

import logging
from typing import Any

import marshmallow as ma
import pytest
from werkzeug.test import Client
from werkzeug.wrappers import Response

from miniprogram_api import create_app
from service.access.scoping import load_actor
from service.core.errors import NotFound
from service.hazards import reads
from service.hazards.queries import HazardFilters
from tests.api import hazard_oracle
from tests.api.hazard_helpers import PLAN, in_days, report, scan_token, upload
from uploads_schema.hazards import HazardPageSchema, HazardSchema, hazard_json, hazard_page_json

ROLES = ("admin", "district_supervisor", "street_supervisor", "inspector", "officer", "reporter")


@pytest.fixture
def h(world, auth_header):
    return {role: auth_header(getattr(world, role)) for role in ROLES}


def _post(client, headers, hazard_id, action, body):
    response = client.post(f"/api/v1/hazards/{hazard_id}/{action}", json=body, headers=headers)
    assert response.status_code == 200, response.json
    return response


def _hazards_in_every_state(client, world, h) -> list[int]:
    token_a = scan_token(client, h["admin"], world.enterprise_a.id)
    token_b = scan_token(client, h["admin"], world.enterprise_b.id)
    made = []

    def new(headers, token, **extra):
        response = report(client, headers, token, photos=2, **extra)
        assert response.status_code == 201, response.json
        made.append(response.json["hazard"]["id"])
        return made[-1]

    new(h["reporter"], token_a)  # reported, by a worker: reporter shown to offices only
    new(h["reporter"], token_a, anonymous=True)  # anonymous: nobody shown
    new(h["reporter"], token_b)  # another street's
    fixing = new(h["inspector"], token_a)
    assign = {"assignee_id": world.officer.id, "deadline": in_days(7), "note": "整改"}
    _post(client, h["inspector"], fixing, "assign", assign)
    _post(client, h["officer"], fixing, "extend", {"deadline": in_days(9), "reason": "等配件"})
    verifying = new(h["inspector"], token_a)
    _post(client, h["inspector"], verifying, "assign", assign)
    after = {"note": "已整改", "media_ids": [upload(client, h["officer"])]}
    _post(client, h["officer"], verifying, "submit-fix", after)
    closed = new(h["inspector"], token_a)
    _post(client, h["inspector"], closed, "assign", assign)
    _post(
        client,
        h["officer"],
        closed,
        "submit-fix",
        after | {"media_ids": [upload(client, h["officer"])]},
    )
    check = {"passed": True, "note": "合格", "media_ids": [upload(client, h["inspector"])]}
    _post(client, h["inspector"], closed, "verify", check)
    major = new(h["inspector"], token_a)
    _post(client, h["officer"], major, "plan", PLAN)
    _post(
        client,
        h["inspector"],
        major,
        "assign",
        assign | {"level": "major", "deadline": in_days(30)},
    )
    rejected = new(h["reporter"], token_a)
    _post(client, h["inspector"], rejected, "reject", {"reason": "不属实"})
    return made


def _expected(ctx, db, user, hazard_id):
    return hazard_oracle.expected(ctx, load_actor(db.connection(), user.id), hazard_id)


def _unsigned(document):
    # Photo links carry a signature with an expiry counted from the moment they were made.
    for photos in document["photos"].values():
        for photo in photos:
            assert "?" in photo["url"] and "?" in photo["thumbnail_url"]
            photo["url"] = photo["url"].split("?")[0]
            photo["thumbnail_url"] = photo["thumbnail_url"].split("?")[0]
    return document


def test_one_hazard_reads_the_same_as_the_schema_dump_for_every_role(client, ctx, db, world, h):
    made = _hazards_in_every_state(client, world, h)
    compared = 0
    for role in ROLES:
        for hazard_id in made:
            expected = _expected(ctx, db, getattr(world, role), hazard_id)
            response = client.get(f"/api/v1/hazards/{hazard_id}", headers=h[role])
            if expected is None:
                assert response.status_code == 404, (role, hazard_id)
                assert response.json["code"] == "not_found"
                continue
            assert response.status_code == 200, response.json
            assert response.headers["ETag"] == f'"{expected["version"]}"'
            assert _unsigned(response.json) == _unsigned(expected), (role, hazard_id)
            compared += 1
    assert compared >= 25  # every role sees some: the comparison is not vacuous


def _nested(schema: ma.Schema, path: str) -> set[str]:
    """The paths of every nested object `schema` declares, recursively."""
    paths = set()
    for name, declared in schema.fields.items():
        inner = declared.inner if isinstance(declared, ma.fields.List) else declared
        if isinstance(inner, ma.fields.Nested):
            key = f"{path}.{declared.data_key or name}"
            paths |= {key} | _nested(inner.schema, key)
    return paths


def _shape_differences(schema: ma.Schema, value: Any, path: str, seen: set[str]) -> list[str]:
    """Where the keys of `value` differ from the fields `schema` declares, recursively into
    every nested object present (`seen` collects the paths that were compared)."""
    declared = {f.data_key or name: f for name, f in schema.fields.items()}
    keys, names = set(value), set(declared)
    found = []
    if keys != names:
        found.append(f"{path}: JSON only {sorted(keys - names)}, declared only {names - keys}")
    for key, field in declared.items():
        inner = field.inner if isinstance(field, ma.fields.List) else field
        if not isinstance(inner, ma.fields.Nested) or value.get(key) is None:
            continue
        for item in value[key] if isinstance(field, ma.fields.List) else [value[key]]:
            seen.add(f"{path}.{key}")
            found += _shape_differences(inner.schema, item, f"{path}.{key}", seen)
    return found


def test_hazard_json_has_exactly_the_fields_hazard_schema_documents(client, ctx, db, world, h):
    """The answers are built without marshmallow; the schema still documents them (OpenAPI,
    the typed web client). Every variant — with and without reporter, photos of each kind,
    plan, extension; public; a list page — has the declared keys, nested objects too."""
    made = _hazards_in_every_state(client, world, h)
    seen: set[str] = set()
    differences = []
    for role in ROLES:
        actor = load_actor(db.connection(), getattr(world, role).id)
        for hazard_id in made:
            try:
                doc = reads.hazard_for(ctx, actor, hazard_id)
            except NotFound:
                continue
            differences += _shape_differences(HazardSchema(), hazard_json(doc), "hazard", seen)
        page = reads.list_page(ctx, actor, HazardFilters(), page_size=100)
        differences += _shape_differences(HazardPageSchema(), hazard_page_json(page), "page", seen)
    for hazard_id in made:
        public = hazard_json(reads.public_hazard(ctx, hazard_id))
        differences += _shape_differences(HazardSchema(), public, "hazard", seen)
    assert differences == []
    # Not vacuous: every nested object the schemas declare was there to compare.
    assert _nested(HazardSchema(), "hazard") | _nested(HazardPageSchema(), "page") <= seen


def test_every_write_answers_the_callers_document_of_what_it_wrote(client, ctx, db, world, h):
    """Reports and the seven transitions answer as a read after the write would (the ORM
    oracle), with the ETag of the new version; a retry answers the same; the anonymous
    reporter gets the public document, which names no one."""
    token = scan_token(client, h["admin"], world.enterprise_a.id)

    def oracle(role, hazard_id, public=False):
        if public:
            view = hazard_oracle.public_view(ctx, hazard_id)
        else:
            actor = load_actor(db.connection(), getattr(world, role).id)
            view = hazard_oracle.view_after_write(ctx, actor, hazard_id)
        return _unsigned(hazard_oracle.HazardViewSchema().dump(view))

    def reported(role, response, public=False):
        assert response.status_code == 201, response.json
        hazard = response.json["hazard"]
        assert _unsigned(hazard) == oracle(role, hazard["id"], public), role
        return hazard

    def moved(role, hazard_id, action, body, **headers):
        response = _post(client, h[role] | headers, hazard_id, action, body)
        assert _unsigned(response.json) == oracle(role, hazard_id), (role, action)
        assert response.headers["ETag"] == f'"{response.json["version"]}"'
        return response

    named = reported("reporter", report(client, h["reporter"], token, photos=2))
    assert named["reporter"]["id"] == world.reporter.id
    kept_from_reporter = reported("reporter", report(client, h["reporter"], token, anonymous=True))
    assert kept_from_reporter["reporter"] is None and kept_from_reporter["actions"] == []
    in_scope = reported("inspector", report(client, h["inspector"], token, anonymous=True))
    assert in_scope["actions"] == ["assign", "reject"]  # their own grid's: the full document
    for anonymous in (True, False):
        body = {"category": "fire", "description": "消防通道堆放杂物", "anonymous": anonymous}
        body["media_ids"] = [upload(client, h["reporter"])]
        headers = h["reporter"] | {"Idempotency-Key": f"scan-{anonymous}"}
        url = f"/api/v1/scan/{token}/hazards"
        first = client.post(url, json=body, headers=headers)
        public = reported("reporter", first, public=True)
        assert public["reporter"] is None and public["photos"]["before"] == []
        assert client.post(url, json=body, headers=headers).json == first.json

    hid = reported("inspector", report(client, h["inspector"], token))["id"]
    moved("officer", hid, "plan", {"measures": "更换电缆"})
    assign = {"assignee_id": world.officer.id, "deadline": in_days(7)}
    first = moved("inspector", hid, "assign", assign, **{"Idempotency-Key": "assign-1"})
    again = moved("inspector", hid, "assign", assign, **{"Idempotency-Key": "assign-1"})
    assert _unsigned(again.json) == _unsigned(first.json)
    assert again.headers["ETag"] == first.headers["ETag"]
    moved("officer", hid, "extend", {"deadline": in_days(9), "reason": "等配件"})
    moved("inspector", hid, "extend", {"approve": True})
    fix = {"note": "已整改", "media_ids": [upload(client, h["officer"])]}
    moved("officer", hid, "submit-fix", fix)
    failed = {"passed": False, "note": "不合格", "media_ids": [upload(client, h["inspector"])]}
    moved("inspector", hid, "verify", failed)
    moved("officer", hid, "submit-fix", fix | {"media_ids": [upload(client, h["officer"])]})
    moved("inspector", hid, "verify", {"passed": True})
    reopen = {"reason": "复查发现反弹", "deadline": in_days(5)}
    moved("street_supervisor", hid, "reopen", reopen)
    # A retry after the hazard moved on answers where it stands now, as a read would.
    later = moved("inspector", hid, "assign", assign, **{"Idempotency-Key": "assign-1"})
    assert later.json["status"] == "rectifying" and later.json["version"] > first.json["version"]
    moved("inspector", named["id"], "reject", {"reason": "不属实"})


def test_a_list_page_reads_the_same_as_the_schema_dumps_newest_first(client, ctx, db, world, h):
    made = _hazards_in_every_state(client, world, h)
    for role in ROLES:
        visible = [
            e for e in (_expected(ctx, db, getattr(world, role), i) for i in made) if e is not None
        ]
        visible.sort(key=lambda e: (e["created_at"], e["id"]), reverse=True)
        response = client.get("/api/v1/hazards?page_size=100", headers=h[role])
        assert response.status_code == 200, response.json
        body = response.json
        assert body["total"] == len(visible) and body["page"] == 1 and body["page_size"] == 100
        assert [_unsigned(i) for i in body["items"]] == [_unsigned(e) for e in visible], role
        second = client.get("/api/v1/hazards?page=2&page_size=3", headers=h[role]).json
        assert [i["id"] for i in second["items"]] == [e["id"] for e in visible[3:6]]


@pytest.mark.parametrize(
    ("role", "move"),
    [
        ("street_supervisor", lambda w: {"region_id": w.street_b.id}),
        ("inspector", lambda w: {"grid_ids": [w.grid_b.id]}),
        ("officer", lambda w: {"enterprise_id": w.enterprise_b.id}),
    ],
)
def test_a_caller_moved_elsewhere_lists_their_new_scope_at_once(
    client, world, h, auth_header, role, move
):
    """Lists are kept per caller scope: a changed region, grid or enterprise is a new one."""
    made = {}
    for name in ("enterprise_a", "enterprise_b"):
        token = scan_token(client, h["admin"], getattr(world, name).id)
        made[name] = report(client, h["reporter"], token).json["hazard"]["id"]

    def listed():
        headers = auth_header(getattr(world, role))  # a moved account may need a new login
        response = client.get("/api/v1/hazards", headers=headers)
        assert response.status_code == 200, response.json
        return {item["id"] for item in response.json["items"]}

    assert listed() == {made["enterprise_a"]}
    changed = client.patch(
        f"/api/v1/users/{getattr(world, role).id}", json=move(world), headers=h["admin"]
    )
    assert changed.status_code == 200, changed.json
    assert listed() == {made["enterprise_b"]}


def test_the_hot_read_checks_the_caller_like_every_other_endpoint(client, world, h, db):
    hazard_id = report(
        client, h["reporter"], scan_token(client, h["admin"], world.enterprise_a.id)
    ).json["hazard"]["id"]
    assert client.get(f"/api/v1/hazards/{hazard_id}", headers=h["officer"]).status_code == 200
    world.officer.active = False
    db.commit()
    denied = client.get(f"/api/v1/hazards/{hazard_id}", headers=h["officer"])
    assert denied.status_code == 401 and denied.json["code"] == "unauthenticated"
    world.reporter.token_version += 1  # "log out everywhere"
    db.commit()
    revoked = client.get(f"/api/v1/hazards/{hazard_id}", headers=h["reporter"])
    assert revoked.status_code == 401 and revoked.json["code"] == "unauthenticated"
    assert client.get(f"/api/v1/hazards/{hazard_id}").status_code == 401


def _headers(response):
    return {k: v for k, v in response.headers.items() if k != "X-Request-ID"}


@pytest.fixture(params=["no-cors", "cors"])
def app(request, ctx):
    """The app as configured by default, and with CORS origins (whose headers Flask adds)."""
    if request.param == "cors":
        ctx.settings = ctx.settings.with_overrides(
            cors_origins=("https://h5.example.gov.cn", "https://admin.example.gov.cn")
        )
    return create_app(context=ctx)


def test_the_hot_path_answers_exactly_as_the_flask_view(app, client, world, h, caplog):
    """`miniprogram_api.hot` answers GET /hazards/{id} ahead of Flask; Flask alone (its
    `next_app`) must give the same status, body and headers, for every role and hazard."""
    made = _hazards_in_every_state(client, world, h)
    hot = app.wsgi_app
    flask_only = Client(hot.next_app, Response)
    passed_on = []
    to_flask = hot.next_app

    def counting(environ, start_response):
        passed_on.append(environ["PATH_INFO"])
        return to_flask(environ, start_response)

    hot.next_app = counting
    caplog.set_level(logging.INFO, logger="mashangcha.access")
    answered_hot = 0
    for role in ROLES:
        for hazard_id in [*made, 2_000_000]:
            url = f"/api/v1/hazards/{hazard_id}"
            headers = h[role] | {"X-Request-ID": "req-hot00001"}
            before = len(passed_on)
            mine = client.get(url, headers=headers)
            theirs = flask_only.get(url, headers=headers)
            assert mine.status_code == theirs.status_code, (role, hazard_id)
            assert _unsigned_body(mine.get_json()) == _unsigned_body(theirs.get_json())
            assert _headers(mine) == _headers(theirs), (role, hazard_id)
            assert mine.headers["X-Request-ID"] == "req-hot00001"
            if mine.status_code == 200 and len(passed_on) == before:
                answered_hot += 1
                line = [r for r in caplog.records if r.name == "mashangcha.access"][-1]
                assert (line.path, line.status, line.request_id) == (url, 200, "req-hot00001")
                assert line.user_id == getattr(world, role).id
    assert answered_hot >= 25  # the hot path did answer, and not only the easy cases


def _unsigned_body(body):
    if body and "items" in body:
        return body | {"items": [_unsigned(item) for item in body["items"]]}
    return _unsigned(body) if body and "photos" in body else body


@pytest.mark.parametrize(
    ("query", "hot"),
    [
        ("", True),
        ("?page=1&page_size=100", True),
        ("?page=2&page_size=3", True),
        ("?page_size=2", True),
        ("?page=99", True),  # past the end: an empty page
        ("?page_size=0", False),  # 422 from Flask's argument parsing
        ("?page=abc", False),
        ("?page=1&page=2", False),
        ("?status=closed", False),
        ("?page=1&q=%E6%B2%B9", False),
    ],
)
def test_the_hot_list_answers_exactly_as_the_flask_view(app, client, world, h, query, hot):
    _hazards_in_every_state(client, world, h)
    wsgi = app.wsgi_app
    flask_only = Client(wsgi.next_app, Response)
    passed_on = []
    to_flask = wsgi.next_app
    wsgi.next_app = lambda environ, start: passed_on.append(1) or to_flask(environ, start)
    for role in ROLES:
        headers = h[role] | {"X-Request-ID": "req-list0001"}
        mine = client.get(f"/api/v1/hazards{query}", headers=headers)
        theirs = flask_only.get(f"/api/v1/hazards{query}", headers=headers)
        assert mine.status_code == theirs.status_code, (role, query)
        assert _unsigned_body(mine.get_json()) == _unsigned_body(theirs.get_json())
        assert _headers(mine) == _headers(theirs), (role, query)
    assert (not passed_on) is hot


@pytest.mark.parametrize(
    ("variant", "status"),
    [
        ({"query_string": "x=1"}, 200),
        ({"headers": {"Origin": "https://h5.example.gov.cn"}}, 200),
        ({"method": "HEAD"}, 200),
        ({"data": b"{}", "content_type": "application/json"}, 200),
        ({"no_token": True}, 401),
    ],
    ids=["query", "cross-origin", "head", "body", "anonymous"],
)
def test_anything_but_a_plain_read_goes_on_to_flask(app, client, world, h, variant, status):
    hazard_id = report(
        client, h["reporter"], scan_token(client, h["admin"], world.enterprise_a.id)
    ).json["hazard"]["id"]
    hot = app.wsgi_app
    passed_on = []
    to_flask = hot.next_app
    hot.next_app = lambda environ, start: passed_on.append(1) or to_flask(environ, start)
    variant = dict(variant)
    headers = {} if variant.pop("no_token", False) else dict(h["reporter"])
    headers |= variant.pop("headers", {})
    method = variant.pop("method", "GET")
    url = f"/api/v1/hazards/{hazard_id}"
    response = client.open(url, method=method, headers=headers, **variant)
    assert passed_on == [1]
    assert response.status_code == status


def test_a_failure_of_the_hot_path_itself_is_logged_and_flask_answers(
    client, world, h, caplog, monkeypatch
):
    hazard_id = report(
        client, h["reporter"], scan_token(client, h["admin"], world.enterprise_a.id)
    ).json["hazard"]["id"]

    def broken(doc):
        raise RuntimeError("hot path bug")

    monkeypatch.setattr("miniprogram_api.hot.hazard_json", broken)
    caplog.set_level(logging.INFO)
    response = client.get(f"/api/v1/hazards/{hazard_id}", headers=h["reporter"])
    assert response.status_code == 200 and response.json["id"] == hazard_id
    failures = [r for r in caplog.records if r.name == "miniprogram_api.hot"]
    assert failures and failures[0].levelno == logging.ERROR
    assert "hot path bug" in failures[0].exc_text or "hot path bug" in str(failures[0].exc_info)
    # An ordinary refusal is no failure: nothing more is logged for a 404.
    assert client.get("/api/v1/hazards/2000000", headers=h["reporter"]).status_code == 404
    assert len([r for r in caplog.records if r.name == "miniprogram_api.hot"]) == 1
