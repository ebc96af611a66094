"""举报人信息保护 against everything an enterprise officer is shown: whoever reported a named
tip cannot be derived from any answer, by reading it or by hashing every candidate."""

from __future__ import annotations

import json
import logging

import pytest
from sqlalchemy import select

from miniprogram_api.observability import access_log
from service.directory.models import User
from service.hazards.models import Hazard, HazardEvent
from service.hazards.workflow import GENESIS_HASH, event_hash
from service.qrcodes.models import ScanLog
from tests.api.hazard_helpers import in_days, report, scan_token, upload
from uploads_schema.vocabulary import Role


@pytest.fixture
def named_tip(client, world, auth_header):
    """A named public tip at the officer's enterprise, taken through assign and a fix."""
    admin, reporter = auth_header(world.admin), auth_header(world.reporter)
    officer = auth_header(world.officer)
    token = scan_token(client, admin, world.enterprise_a.id)
    answer = report(client, reporter, token, anonymous=False)
    assert answer.status_code == 201, answer.json
    hid = answer.json["hazard"]["id"]
    body = {"assignee_id": world.officer.id, "deadline": in_days(3)}
    assigned = client.post(f"/api/v1/hazards/{hid}/assign", json=body, headers=officer)
    assert assigned.status_code == 200, assigned.json
    fix = {"note": "已整改", "media_ids": [upload(client, officer)]}
    fixed = client.post(f"/api/v1/hazards/{hid}/submit-fix", json=fix, headers=officer)
    assert fixed.status_code == 200, fixed.json
    return hid


def _officer_sees(client, world, auth_header, hid) -> list[str]:
    """Every answer the officer can get that touches the hazard, as text."""
    officer = auth_header(world.officer)
    paths = [
        f"/api/v1/hazards/{hid}",
        f"/api/v1/hazards/{hid}/events",
        "/api/v1/hazards?page_size=100",
        f"/api/v1/hazards?enterprise_id={world.enterprise_a.id}",
        "/api/v1/stats/summary",
        "/api/v1/stats/major-hazards",
        "/api/v1/stats/export.csv",
    ]
    seen = []
    for path in paths:
        answer = client.get(path, headers=officer)
        assert answer.status_code == 200, (path, answer.data[:200])
        seen.append(answer.get_data(as_text=True))
    return seen


def test_the_reporter_cannot_be_recovered_from_anything_the_officer_sees(
    client, db, world, auth_header, named_tip
):
    seen = _officer_sees(client, world, auth_header, named_tip)
    text = "\n".join(seen)
    reporter = world.reporter
    # Nothing names them ...
    for trait in (reporter.username, reporter.display_name, reporter.openid):
        assert trait not in text
    hazard = json.loads(seen[0])
    assert hazard["reporter"] is None and "reporter_id" not in hazard
    events = json.loads(seen[1])
    assert events["chain_ok"] is True  # the verdict is theirs ...
    report_event = events["events"][0]
    assert report_event["action"] == "report"
    assert (report_event["actor_id"], report_event["actor_role"]) == (None, None)
    # ... and no hash lets them test candidates: hash the stored report event with every
    # user id and role in place of its actor and look for the result anywhere in the answers.
    stored = db.scalar(
        select(HazardEvent).where(HazardEvent.hazard_id == named_tip, HazardEvent.seq == 1)
    )
    assert stored.actor_id == reporter.id  # the actor is really there, hashed
    fields = {
        "action": stored.action.value,
        "from": None,
        "to": stored.to_status.value,
        "note": stored.note,
        "data": stored.data,
        "at": stored.created_at.isoformat(),
    }
    real = event_hash(
        GENESIS_HASH, named_tip, 1, {**fields, "actor_id": reporter.id, "actor_role": "reporter"}
    )
    assert real == stored.hash  # the candidate test below would find them if shown
    candidates = [*db.scalars(select(User.id)), *range(1, 200)]
    roles = [*(role.value for role in Role), "system", None]
    for candidate in set(candidates):
        for role in roles:
            guess = event_hash(
                GENESIS_HASH, named_tip, 1, {**fields, "actor_id": candidate, "actor_role": role}
            )
            assert guess not in text, (candidate, role)


def test_offices_and_the_reporter_still_see_the_chain_and_its_actor(
    client, world, auth_header, named_tip
):
    for who in (world.inspector, world.district_supervisor, world.admin, world.reporter):
        log = client.get(f"/api/v1/hazards/{named_tip}/events", headers=auth_header(who)).json
        first = log["events"][0]
        assert (first["actor_id"], first["actor_role"]) == (world.reporter.id, "reporter")
        assert first["prev_hash"] == GENESIS_HASH and len(first["hash"]) == 64
        hashes = [e["hash"] for e in log["events"]]
        assert [e["prev_hash"] for e in log["events"][1:]] == hashes[:-1]


def test_a_signed_in_scan_before_an_anonymous_report_does_not_name_its_author(
    client, db, world, auth_header, caplog
):
    admin, worker = auth_header(world.admin), auth_header(world.reporter)
    token = scan_token(client, admin, world.enterprise_a.id)
    caplog.set_level(logging.INFO, logger=access_log.name)
    assert client.get(f"/api/v1/scan/{token}", headers=worker).status_code == 200
    photos = [upload(client, worker)]
    body = {"category": "fire", "description": "安全出口被锁", "media_ids": photos}
    answer = client.post(f"/api/v1/scan/{token}/hazards", json=body, headers=worker)
    assert answer.status_code == 201 and answer.json["receipt_key"]
    # The scan log keeps when, which code, the client's address and agent: never who.
    assert not {"user_id", "actor_id", "reporter_id"} & set(ScanLog.__table__.c.keys())
    # The access line of the anonymous report names no account either.
    lines = [r for r in caplog.records if getattr(r, "path", "").endswith("/hazards")]
    assert [(r.method, r.status, r.user_id) for r in lines] == [("POST", 201, None)]
    hazard = db.get(Hazard, answer.json["hazard"]["id"])
    assert hazard.reporter_id is None and hazard.anonymous
