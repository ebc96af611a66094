"""The hazard workflow through the HTTP API: report, assign, fix, verify, close, and the rules."""

import hashlib
import json
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, text, update

from service.core import idempotency
from service.core.clock import utcnow
from service.core.models import IdempotencyRecord
from service.hazards.models import Hazard, HazardEvent
from service.media.models import Media
from service.notifications.models import Notification
from service.statistics import figures as statistics
from tests.api.hazard_helpers import PLAN, in_days, report, scan_token, upload
from tests.api.helpers import assert_error
from tests.factories import make_hazard
from uploads_schema.vocabulary import HazardStatus, MediaStatus

NUMBER = re.compile(r"^YH\d{6}-\d{8}-\d{4}$")
CHINA = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def h(world, auth_header):
    """Headers per role."""
    return {
        role: auth_header(getattr(world, role))
        for role in (
            "admin",
            "district_supervisor",
            "street_supervisor",
            "inspector",
            "officer",
            "reporter",
        )
    }


@pytest.fixture
def token(client, world, h):
    return scan_token(client, h["admin"], world.enterprise_a.id)


def post(client, headers, hazard_id, action, body):
    return client.post(f"/api/v1/hazards/{hazard_id}/{action}", json=body, headers=headers)


def test_a_worker_reports_after_scanning_and_the_enterprise_never_sees_who(client, world, h, token):
    response = report(client, h["reporter"], token, photos=3)
    assert response.status_code == 201, response.json
    hazard = response.json["hazard"]
    assert NUMBER.match(hazard["number"])
    assert hazard["status"] == "reported" and hazard["status_label"] == "已上报"
    assert hazard["source"] == "public_tip" and hazard["origin"] == "scan"
    assert len(hazard["photos"]["before"]) == 3
    assert hazard["reporter"]["id"] == world.reporter.id
    assert response.json["receipt_key"] is None

    officer_view = client.get(f"/api/v1/hazards/{hazard['id']}", headers=h["officer"]).json
    assert officer_view["reporter"] is None
    officer_list = client.get("/api/v1/hazards", headers=h["officer"]).json
    assert [x["reporter"] for x in officer_list["items"]] == [None]
    events = client.get(f"/api/v1/hazards/{hazard['id']}/events", headers=h["officer"]).json
    assert events["events"][0]["actor_id"] is None
    assert "reporter_id" not in officer_view
    assert world.reporter.display_name not in str(officer_view)
    inspector_view = client.get(f"/api/v1/hazards/{hazard['id']}", headers=h["inspector"]).json
    assert inspector_view["reporter"]["id"] == world.reporter.id


def test_an_anonymous_report_through_the_list_endpoint_answers_with_its_receipt(
    client, world, h, token, db
):
    response = report(client, h["reporter"], token, photos=1, anonymous=True)
    assert response.status_code == 201, response.json
    assert response.json["receipt_key"] and response.json["hazard"]["anonymous"] is True
    assert response.json["hazard"]["reporter"] is None
    stored = db.get(Hazard, response.json["hazard"]["id"])
    assert stored.reporter_id is None
    # the reporter cannot look it up by id (nothing links it to them), only by the receipt
    assert_error(client.get(f"/api/v1/hazards/{stored.id}", headers=h["reporter"]), 404)
    receipt = client.get(f"/api/v1/receipts/{response.json['receipt_key']}")
    assert receipt.status_code == 200 and receipt.json["number"] == stored.number


def test_anonymous_report_keeps_no_link_to_the_reporter_and_gives_a_receipt(
    client, world, h, token, db
):
    photos = [upload(client, h["reporter"]) for _ in range(2)]
    response = client.post(
        f"/api/v1/scan/{token}/hazards",
        json={"category": "fire", "description": "消防通道堆放杂物", "media_ids": photos},
        headers=h["reporter"],
    )
    assert response.status_code == 201, response.json
    key = response.json["receipt_key"]
    assert key and response.json["hazard"]["anonymous"] is True
    stored = db.get(Hazard, response.json["hazard"]["id"])
    assert stored.reporter_id is None and stored.receipt_key_hash != key
    assert all(db.get(Media, m).uploader_id is None for m in photos)
    first_event = db.scalar(select(HazardEvent).where(HazardEvent.hazard_id == stored.id))
    assert first_event.actor_id is None
    # the reporter follows it by the receipt key, without logging in
    followed = client.get(f"/api/v1/receipts/{key}")
    assert followed.status_code == 200
    assert followed.json["status"] == "reported" and followed.json["number"] == stored.number
    assert_error(client.get("/api/v1/receipts/not-a-real-key"), 404, "receipt_not_found")
    # and it is not in their own list: nothing ties it to them
    mine = client.get("/api/v1/hazards", headers=h["reporter"]).json
    assert stored.id not in [x["id"] for x in mine["items"]]


@pytest.mark.parametrize("count", [0, 10])
def test_a_report_needs_one_to_nine_photos(client, world, h, token, db, count):
    photos = [upload(client, h["reporter"]) for _ in range(count)]
    response = client.post(
        "/api/v1/hazards",
        json={"qr_token": token, "category": "other", "description": "x", "media_ids": photos},
        headers=h["reporter"],
    )
    assert response.status_code == 422
    assert_error(response, 422)
    assert db.scalar(select(func.count(Hazard.id))) == 0


def test_photos_must_be_the_reporters_own_pending_uploads(client, world, h, token, db):
    someone_elses = upload(client, h["officer"])
    response = report(client, h["reporter"], token, media_ids=[someone_elses])
    assert_error(response, 422, "media_invalid")
    first = report(client, h["reporter"], token)
    used = first.json["hazard"]["photos"]["before"][0]["id"]
    again = report(client, h["reporter"], token, media_ids=[used])
    assert_error(again, 422, "media_invalid")
    assert db.scalar(select(func.count(Hazard.id))) == 1
    assert db.get(Media, someone_elses).status is MediaStatus.PENDING


def test_numbers_count_up_per_district_and_day(client, world, h, token):
    numbers = [report(client, h["reporter"], token).json["hazard"]["number"] for _ in range(3)]
    assert [n[-4:] for n in numbers] == ["0001", "0002", "0003"]
    assert len({n[:-5] for n in numbers}) == 1


def test_the_whole_story_from_scan_to_close(client, world, h, token, db):
    scan = client.get(f"/api/v1/scan/{token}", headers=h["inspector"]).json
    assert "report" in scan["actions"]
    hazard = report(client, h["inspector"], token, photos=2).json["hazard"]
    assert hazard["source"] == "inspection"
    assert "assign" in hazard["actions"]
    hid = hazard["id"]

    assigned = post(
        client,
        h["inspector"],
        hid,
        "assign",
        {"assignee_id": world.officer.id, "deadline": in_days(7), "note": "请一周内整改"},
    )
    assert assigned.status_code == 200, assigned.json
    assert (
        assigned.json["status"] == "rectifying" and assigned.json["assignee_id"] == world.officer.id
    )
    assert assigned.json["original_deadline"] == assigned.json["deadline"]

    after = upload(client, h["officer"])
    fixed = post(
        client, h["officer"], hid, "submit-fix", {"note": "已更换电缆", "media_ids": [after]}
    )
    assert fixed.status_code == 200, fixed.json
    assert fixed.json["status"] == "verifying"
    assert [p["id"] for p in fixed.json["photos"]["after"]] == [after]

    closed = post(client, h["inspector"], hid, "verify", {"passed": True, "note": "验收合格"})
    assert closed.status_code == 200, closed.json
    assert closed.json["status"] == "closed" and closed.json["closed_by_id"] == world.inspector.id

    log = client.get(f"/api/v1/hazards/{hid}/events", headers=h["district_supervisor"]).json
    assert [e["action"] for e in log["events"]] == ["report", "assign", "submit_fix", "pass"]
    assert log["chain_ok"] is True and log["breaks"] == []
    assert [e["prev_hash"] for e in log["events"][1:]] == [e["hash"] for e in log["events"][:-1]]
    kinds = set(db.scalars(select(Notification.kind).where(Notification.hazard_id == hid)))
    assert {k.value for k in kinds} == {"assigned", "fix_submitted", "verified"}

    reopened = post(
        client,
        h["district_supervisor"],
        hid,
        "reopen",
        {"reason": "复查发现仍有隐患", "deadline": in_days(3)},
    )
    assert reopened.status_code == 200, reopened.json
    assert reopened.json["status"] == "rectifying" and reopened.json["reopen_count"] == 1


def test_a_failed_verification_goes_back_to_rectifying_with_a_reason(client, world, h, token):
    hid = report(client, h["inspector"], token).json["hazard"]["id"]
    post(
        client,
        h["inspector"],
        hid,
        "assign",
        {"assignee_id": world.officer.id, "deadline": in_days(5)},
    )
    post(
        client,
        h["officer"],
        hid,
        "submit-fix",
        {"note": "ok", "media_ids": [upload(client, h["officer"])]},
    )
    no_reason = post(client, h["inspector"], hid, "verify", {"passed": False})
    assert "note" in assert_error(no_reason, 422)["errors"]
    failed = post(client, h["inspector"], hid, "verify", {"passed": False, "note": "未整改到位"})
    assert failed.json["status"] == "rectifying" and failed.json["reopen_count"] == 1


def test_reject_records_who_and_why_and_is_final(client, world, h, token):
    first = report(client, h["reporter"], token).json["hazard"]
    hid = report(client, h["reporter"], token).json["hazard"]["id"]
    rejected = post(
        client,
        h["inspector"],
        hid,
        "reject",
        {"reason": "重复上报", "duplicate_of": first["number"].lower()},
    )
    assert rejected.status_code == 200, rejected.json
    events = client.get(f"/api/v1/hazards/{hid}/events", headers=h["inspector"]).json["events"]
    assert events[-1]["data"] == {"duplicate_of": first["number"]}
    body = rejected.json
    assert body["status"] == "rejected" and body["rejected_by_id"] == world.inspector.id
    assert body["rejected_reason"] == "重复上报" and body["actions"] == []
    again = post(
        client,
        h["district_supervisor"],
        hid,
        "assign",
        {"assignee_id": world.officer.id, "deadline": in_days(3)},
    )
    assert_error(again, 409, "invalid_transition")


def test_a_duplicate_must_name_a_hazard_the_rejecting_actor_can_see(client, world, h, token):
    hid = report(client, h["reporter"], token).json["hazard"]["id"]
    own_number = client.get(f"/api/v1/hazards/{hid}", headers=h["inspector"]).json["number"]
    elsewhere = report(
        client, h["district_supervisor"], scan_token(client, h["admin"], world.enterprise_b.id)
    ).json["hazard"]["number"]  # another street: not the grid inspector's to see
    for claimed in ("YH1", '=HYPERLINK("http://x")', own_number, elsewhere):
        refused = post(
            client, h["inspector"], hid, "reject", {"reason": "重复上报", "duplicate_of": claimed}
        )
        assert "duplicate_of" in assert_error(refused, 422, "validation_error")["errors"]
    shown = client.get(f"/api/v1/hazards/{hid}", headers=h["officer"]).json
    assert shown["status"] == "reported"  # nothing was written


def test_the_enterprise_cannot_verify_its_own_fix(client, world, h, token):
    hid = report(client, h["officer"], token).json["hazard"]["id"]
    post(
        client,
        h["officer"],
        hid,
        "assign",
        {"assignee_id": world.officer.id, "deadline": in_days(5)},
    )
    post(
        client,
        h["officer"],
        hid,
        "submit-fix",
        {"note": "ok", "media_ids": [upload(client, h["officer"])]},
    )
    assert_error(post(client, h["officer"], hid, "verify", {"passed": True}), 403, "forbidden")
    assert post(client, h["inspector"], hid, "verify", {"passed": True}).json["status"] == "closed"


def test_a_major_hazard_needs_its_plan_is_supervised_and_only_a_supervisor_verifies(
    client, world, h, token
):
    hid = report(client, h["inspector"], token).json["hazard"]["id"]
    assign = {"assignee_id": world.officer.id, "deadline": in_days(30), "level": "major"}
    assert_error(post(client, h["inspector"], hid, "assign", assign), 409, "plan_incomplete")
    partial = post(client, h["officer"], hid, "plan", {"responsible_person": "张伟"})
    assert partial.status_code == 200 and partial.json["plan_complete"] is False
    assert_error(post(client, h["inspector"], hid, "assign", assign), 409, "plan_incomplete")
    assert post(client, h["officer"], hid, "plan", PLAN).json["plan_complete"] is True
    assigned = post(client, h["inspector"], hid, "assign", assign)
    assert assigned.status_code == 200, assigned.json
    assert assigned.json["level"] == "major" and assigned.json["supervised"] is True
    post(
        client,
        h["officer"],
        hid,
        "submit-fix",
        {"note": "ok", "media_ids": [upload(client, h["officer"])]},
    )
    assert_error(post(client, h["inspector"], hid, "verify", {"passed": True}), 403)
    closed = post(client, h["street_supervisor"], hid, "verify", {"passed": True})
    assert closed.json["status"] == "closed"


def test_deadline_extension_is_asked_then_approved_and_the_original_kept(client, world, h, token):
    hid = report(client, h["inspector"], token).json["hazard"]["id"]
    first_deadline = post(
        client,
        h["inspector"],
        hid,
        "assign",
        {"assignee_id": world.officer.id, "deadline": in_days(2)},
    ).json["deadline"]
    asked = post(
        client, h["officer"], hid, "extend", {"deadline": in_days(10), "reason": "等待配件"}
    )
    assert asked.status_code == 200, asked.json
    assert asked.json["extension"]["reason"] == "等待配件"
    assert asked.json["deadline"] == first_deadline  # nothing changes until approved
    assert_error(post(client, h["officer"], hid, "extend", {"approve": True}), 403)
    approved = post(client, h["inspector"], hid, "extend", {"approve": True})
    assert approved.status_code == 200, approved.json
    assert approved.json["deadline"] > first_deadline
    assert approved.json["original_deadline"] == first_deadline
    assert approved.json["extension"] is None
    assert_error(post(client, h["inspector"], hid, "extend", {"approve": True}), 409)


def test_a_retry_with_the_same_idempotency_key_creates_one_hazard(client, world, h, token, db):
    body = {
        "qr_token": token,
        "category": "fire",
        "description": "灭火器过期",
        "media_ids": [upload(client, h["reporter"])],
    }
    headers = {**h["reporter"], "Idempotency-Key": "a6c1e3f0-retry-1"}
    first = client.post("/api/v1/hazards", json=body, headers=headers)
    second = client.post("/api/v1/hazards", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json["hazard"]["id"] == second.json["hazard"]["id"]
    assert first.json["hazard"]["number"] == second.json["hazard"]["number"]
    assert db.scalar(select(func.count(Hazard.id))) == 1
    changed = client.post("/api/v1/hazards", json={**body, "description": "别的"}, headers=headers)
    assert_error(changed, 422, "idempotency_key_reused")


def test_idempotency_keys_are_remembered_for_their_retention_then_purged(
    app, client, h, token, db, monkeypatch
):
    monkeypatch.setattr(idempotency, "_PURGE_BATCH", 1)  # several batches
    answers = {}
    for key in ("week-old-1", "week-old-2", "today-1"):
        body = {"qr_token": token, "category": "fire", "description": f"灭火器过期 {key}"}
        body["media_ids"] = [upload(client, h["reporter"])]
        headers = {**h["reporter"], "Idempotency-Key": key}
        answers[key] = (body, headers, client.post("/api/v1/hazards", json=body, headers=headers))
    recorded = IdempotencyRecord.key.in_(["week-old-1", "week-old-2"])
    eight_days_ago = utcnow() - timedelta(days=8)
    db.execute(update(IdempotencyRecord).where(recorded).values(created_at=eight_days_ago))
    db.commit()
    runner = app.test_cli_runner()

    dry = runner.invoke(args=["idempotency", "purge", "--dry-run"])
    assert dry.exit_code == 0 and "would forget 2 Idempotency-Keys older than 168 h" in dry.output
    assert db.scalar(select(func.count(IdempotencyRecord.id))) == 3
    real = runner.invoke(args=["idempotency", "purge"])
    assert real.exit_code == 0 and "forgot 2 Idempotency-Keys older than 168 h" in real.output
    assert set(db.scalars(select(IdempotencyRecord.key))) == {"today-1"}
    body, headers, first = answers["today-1"]
    retried = client.post("/api/v1/hazards", json=body, headers=headers)
    assert retried.status_code == 201 and retried.json["hazard"]["id"] == first.json["hazard"]["id"]
    refused = runner.invoke(args=["idempotency", "purge", "--older-than-hours", "0"])
    assert refused.exit_code != 0 and db.scalar(select(func.count(IdempotencyRecord.id))) == 1


def test_a_retried_transition_is_done_once(client, world, h, token, db):
    hid = report(client, h["inspector"], token).json["hazard"]["id"]
    headers = {**h["inspector"], "Idempotency-Key": "assign-once"}
    body = {"assignee_id": world.officer.id, "deadline": in_days(5)}
    first = post(client, headers, hid, "assign", body)
    second = post(client, headers, hid, "assign", body)
    assert first.status_code == second.status_code == 200
    assert first.json["version"] == second.json["version"]
    events = db.scalar(select(func.count(HazardEvent.id)).where(HazardEvent.hazard_id == hid))
    assert events == 2


def test_a_stale_version_is_a_409(client, world, h, token):
    hazard = report(client, h["inspector"], token).json["hazard"]
    seen = client.get(f"/api/v1/hazards/{hazard['id']}", headers=h["inspector"])
    etag = seen.headers["ETag"]
    assert etag == f'"{hazard["version"]}"'
    post(client, h["officer"], hazard["id"], "plan", {"measures": "先整改"})  # someone else edits
    stale = client.post(
        f"/api/v1/hazards/{hazard['id']}/reject",
        json={"reason": "不属实"},
        headers={**h["inspector"], "If-Match": etag},
    )
    assert_error(stale, 409, "version_conflict")
    fresh = client.get(f"/api/v1/hazards/{hazard['id']}", headers=h["inspector"]).headers["ETag"]
    ok = client.post(
        f"/api/v1/hazards/{hazard['id']}/reject",
        json={"reason": "不属实"},
        headers={**h["inspector"], "If-Match": fresh},
    )
    assert ok.status_code == 200


def test_every_transition_refuses_a_stale_version_and_changes_nothing(client, world, h, token, db):
    """Each step of a hazard's life, sent first with the version before the last change
    (by If-Match and by the `version` field in turn), then with the current one."""
    hid = report(client, h["inspector"], token).json["hazard"]["id"]
    assign = {"assignee_id": world.officer.id, "deadline": in_days(7)}
    steps = [
        ("officer", "plan", PLAN),
        ("inspector", "assign", assign | {"level": "major", "deadline": in_days(30)}),
        ("officer", "extend", {"deadline": in_days(40), "reason": "等配件"}),
        ("street_supervisor", "extend", {"approve": False, "reason": "不批准"}),
        ("officer", "extend", {"deadline": in_days(45), "reason": "等配件"}),
        ("street_supervisor", "extend", {"approve": True}),
        ("officer", "submit-fix", {"note": "已整改", "media_ids": [upload(client, h["officer"])]}),
        ("street_supervisor", "verify", {"passed": False, "note": "不合格"}),
        ("officer", "submit-fix", {"note": "再整改", "media_ids": [upload(client, h["officer"])]}),
        ("street_supervisor", "verify", {"passed": True}),
        ("street_supervisor", "reopen", {"reason": "复查发现反弹", "deadline": in_days(5)}),
    ]
    version = 1
    for n, (role, action, body) in enumerate(steps):
        stale = version - 1 if version > 1 else version + 1
        refused = post(
            client,
            h[role] | ({"If-Match": f'"{stale}"'} if n % 2 else {}),
            hid,
            action,
            body if n % 2 else body | {"version": stale},
        )
        assert_error(refused, 409, "version_conflict")
        current = db.scalar(select(Hazard.version).where(Hazard.id == hid))
        assert current == version, action
        done = post(client, h[role] | {"If-Match": f'"{version}"'}, hid, action, body)
        assert done.status_code == 200, (action, done.json)
        version = done.json["version"]
    tip = report(client, h["reporter"], token).json["hazard"]["id"]
    stale_reject = post(client, h["inspector"], tip, "reject", {"reason": "不属实", "version": 2})
    assert_error(stale_reject, 409, "version_conflict")
    fresh_reject = post(client, h["inspector"], tip, "reject", {"reason": "不属实", "version": 1})
    assert fresh_reject.status_code == 200


def test_a_stale_major_assignment_is_a_version_conflict_even_without_its_plan(
    client, world, h, token
):
    hid = report(client, h["inspector"], token).json["hazard"]["id"]
    post(client, h["officer"], hid, "plan", {"responsible_person": "张伟"})  # version 2
    major = {"assignee_id": world.officer.id, "deadline": in_days(30), "level": "major"}
    stale = post(client, h["inspector"] | {"If-Match": '"1"'}, hid, "assign", major)
    assert_error(stale, 409, "version_conflict")
    assert stale.json["errors"] == {"version": ["current version is 2"]}
    fresh = post(client, h["inspector"] | {"If-Match": '"2"'}, hid, "assign", major)
    assert_error(fresh, 409, "plan_incomplete")


def test_the_missing_plan_is_told_only_to_whoever_may_assign_now(client, world, h, token):
    """Status and policy are checked first: a caller who may not assign, or a hazard
    already being fixed, answers that rather than the plan."""
    hid = report(client, h["inspector"], token).json["hazard"]["id"]
    major = {"assignee_id": world.officer.id, "deadline": in_days(30), "level": "major"}
    assert_error(post(client, h["officer"], hid, "assign", major), 403, "forbidden")
    general = major | {"level": "general"}
    assert post(client, h["inspector"], hid, "assign", general).status_code == 200
    assert_error(post(client, h["inspector"], hid, "assign", major), 409, "invalid_transition")


def test_hazards_are_scoped_and_ids_out_of_scope_are_404(client, world, h, token, auth_header):
    mine = report(client, h["reporter"], token).json["hazard"]["id"]
    b_token = scan_token(client, h["admin"], world.enterprise_b.id)
    other = report(client, h["district_supervisor"], b_token).json["hazard"]["id"]
    assert_error(client.get(f"/api/v1/hazards/{other}", headers=h["officer"]), 404)
    assert_error(client.get(f"/api/v1/hazards/{other}", headers=h["inspector"]), 404)
    assert_error(client.get(f"/api/v1/hazards/{other}", headers=h["street_supervisor"]), 404)
    assert_error(client.get(f"/api/v1/hazards/{other}", headers=h["reporter"]), 404)
    assert (
        client.get(f"/api/v1/hazards/{other}", headers=h["district_supervisor"]).status_code == 200
    )
    listed = {x["id"] for x in client.get("/api/v1/hazards", headers=h["reporter"]).json["items"]}
    assert listed == {mine}
    assert_error(post(client, h["inspector"], other, "reject", {"reason": "x"}), 404)


def test_hazard_list_filters(client, world, h, token):
    a = report(client, h["inspector"], token).json["hazard"]
    b = report(client, h["inspector"], token, category="fire").json["hazard"]
    post(client, h["inspector"], b["id"], "reject", {"reason": "不属实"})
    hdr = h["district_supervisor"]
    by_status = client.get("/api/v1/hazards?status=reported,rectifying", headers=hdr).json
    assert [x["id"] for x in by_status["items"]] == [a["id"]]
    by_category = client.get("/api/v1/hazards?category=fire", headers=hdr).json
    assert [x["id"] for x in by_category["items"]] == [b["id"]]
    by_number = client.get(f"/api/v1/hazards?q={a['number']}", headers=hdr).json
    assert [x["id"] for x in by_number["items"]] == [a["id"]]
    by_region = client.get(f"/api/v1/hazards?region_id={world.street_b.id}", headers=hdr).json
    assert by_region["total"] == 0
    newest_first = client.get("/api/v1/hazards", headers=hdr).json
    assert [x["id"] for x in newest_first["items"]] == [b["id"], a["id"]]


def test_overdue_filter(client, world, h, token, ctx):
    hid = report(client, h["inspector"], token).json["hazard"]["id"]
    post(
        client,
        h["inspector"],
        hid,
        "assign",
        {"assignee_id": world.officer.id, "deadline": in_days(1)},
    )
    assert client.get("/api/v1/hazards?overdue=true", headers=h["inspector"]).json["total"] == 0
    ctx.clock = lambda: datetime.now(UTC) + timedelta(days=2)
    overdue = client.get("/api/v1/hazards?overdue=true", headers=h["inspector"]).json
    assert [x["id"] for x in overdue["items"]] == [hid]
    assert overdue["items"][0]["overdue"] is True  # computed at read time, not by a sweep
    assert client.get(f"/api/v1/hazards/{hid}", headers=h["inspector"]).json["overdue"] is True


# Overdue is one meaning: rectifying past its current deadline. A mix of statuses and
# deadlines around a fixed now: (enterprise, status, deadline relative to now, overdue?).
NOW = datetime(2026, 11, 10, 2, 0, tzinfo=UTC)
OVERDUE_MIX = [
    ("enterprise_a", HazardStatus.REPORTED, None, False),
    ("enterprise_a", HazardStatus.REPORTED, timedelta(days=-3), False),  # nobody assigned yet
    ("enterprise_a", HazardStatus.RECTIFYING, timedelta(days=-3), True),
    ("enterprise_a", HazardStatus.RECTIFYING, timedelta(minutes=-1), True),
    ("enterprise_b", HazardStatus.RECTIFYING, timedelta(days=-20), True),
    ("enterprise_a", HazardStatus.RECTIFYING, timedelta(0), False),  # due this instant
    ("enterprise_a", HazardStatus.RECTIFYING, timedelta(days=2), False),
    ("enterprise_a", HazardStatus.VERIFYING, timedelta(days=-3), False),  # the verifier's turn
    ("enterprise_b", HazardStatus.CLOSED, timedelta(days=-3), False),
    ("enterprise_a", HazardStatus.REJECTED, timedelta(days=-3), False),
]


@pytest.fixture
def overdue_mix(db, world, ctx) -> dict[int, bool]:
    """The mix, reported in October; hazard id → overdue now."""
    ctx.clock = lambda: NOW
    made = {}
    for n, (enterprise, status, due_in, overdue) in enumerate(OVERDUE_MIX):
        hazard = make_hazard(
            db,
            getattr(world, enterprise),
            status=status,
            created_at=datetime(2026, 10, 1 + n, 2, 0, tzinfo=UTC),
            deadline=None if due_in is None else NOW + due_in,
            assignee_id=world.officer.id if status is not HazardStatus.REPORTED else None,
        )
        made[hazard.id] = overdue
    db.commit()
    return made


def test_a_list_filtered_overdue_holds_exactly_the_hazards_whose_json_says_overdue(
    client, h, overdue_mix
):
    hdr = h["district_supervisor"]
    everything = client.get("/api/v1/hazards?page_size=100", headers=hdr).json["items"]
    assert {x["id"]: x["overdue"] for x in everything} == overdue_mix
    for x in everything:  # the single read says the same
        assert client.get(f"/api/v1/hazards/{x['id']}", headers=hdr).json["overdue"] is x["overdue"]
    late = client.get("/api/v1/hazards?overdue=true&page_size=100", headers=hdr).json
    rest = client.get("/api/v1/hazards?overdue=false&page_size=100", headers=hdr).json
    assert {x["id"] for x in late["items"]} == {i for i, o in overdue_mix.items() if o}
    assert {x["id"] for x in rest["items"]} == {i for i, o in overdue_mix.items() if not o}
    assert all(x["overdue"] for x in late["items"])
    assert not any(x["overdue"] for x in rest["items"])
    assert late["total"] == 3 and late["total"] + rest["total"] == len(OVERDUE_MIX)


@pytest.mark.parametrize("use_rollup", [True, False])
def test_the_statistics_count_the_hazards_a_list_filtered_overdue_holds(
    client, h, overdue_mix, monkeypatch, use_rollup
):
    monkeypatch.setattr(statistics, "USE_ROLLUP", use_rollup)
    hdr = h["district_supervisor"]
    listed = client.get("/api/v1/hazards?overdue=true&page_size=100", headers=hdr).json["total"]
    october = "from=2026-10-01&to=2026-10-31"
    summary = client.get(f"/api/v1/stats/summary?{october}", headers=hdr).json
    assert summary["figures"]["overdue"] == listed == 3
    assert summary["figures"]["awaiting_verification"] == 1  # counted apart, not overdue
    ranking = client.get(f"/api/v1/stats/ranking?{october}", headers=hdr).json
    assert {r["unit_name"]: r["figures"]["overdue"] for r in ranking["rows"]} == {
        "甲街道": 2,
        "乙街道": 1,
    }
    trend = client.get(f"/api/v1/stats/trend?bucket=month&{october}", headers=hdr).json
    assert [p["figures"]["overdue"] for p in trend["points"]] == [listed]


def test_on_time_is_the_accepted_fix_submitted_by_the_original_deadline(
    client, world, h, token, ctx, monkeypatch
):
    t0 = datetime.now(UTC)
    clock = [t0]
    ctx.clock = lambda: clock[0]
    deadline = t0 + timedelta(days=2)

    def at(days: float) -> None:
        clock[0] = t0 + timedelta(days=days)

    def step(headers, hazard_id, action, body):
        response = post(client, headers, hazard_id, action, body)
        assert response.status_code == 200, response.json
        return response.json

    def fix(hazard_id):
        body = {"note": "已整改", "media_ids": [upload(client, h["officer"])]}
        return step(h["officer"], hazard_id, "submit-fix", body)

    ids = []
    for _ in range(3):
        at(0)
        hid = report(client, h["inspector"], token).json["hazard"]["id"]
        assign = {"assignee_id": world.officer.id, "deadline": deadline.isoformat()}
        step(h["inspector"], hid, "assign", assign)
        ids.append(hid)
    in_time, refixed, extended = ids
    # Fixed the day before the deadline, verified the day after: on time.
    at(1)
    fix(in_time)
    at(3)
    assert step(h["inspector"], in_time, "verify", {"passed": True})["status"] == "closed"
    # Fixed in time, failed, fixed again after the deadline: the accepted fix is late.
    at(1)
    fix(refixed)
    step(h["inspector"], refixed, "verify", {"passed": False, "note": "未整改到位"})
    at(3)
    fix(refixed)
    closed = step(h["inspector"], refixed, "verify", {"passed": True})
    assert closed["fix_submitted_at"] == (t0 + timedelta(days=3)).isoformat()
    # Fixed after the original deadline, within an approved extension: late all the same.
    at(1)
    ask = {"deadline": (t0 + timedelta(days=10)).isoformat(), "reason": "等配件"}
    step(h["officer"], extended, "extend", ask)
    step(h["inspector"], extended, "extend", {"approve": True})
    at(3)
    fix(extended)
    step(h["inspector"], extended, "verify", {"passed": True})

    today = t0.astimezone(CHINA).date().isoformat()
    period = f"from={today}&to={today}"
    for use_rollup in (True, False):
        monkeypatch.setattr(statistics, "USE_ROLLUP", use_rollup)
        figures = client.get(f"/api/v1/stats/summary?{period}", headers=h["district_supervisor"])
        assert figures.status_code == 200, figures.json
        assert (figures.json["figures"]["closed"], figures.json["figures"]["closed_on_time"]) == (
            3,
            1,
        )


def test_tampering_with_a_stored_event_is_detected(client, world, h, token, db, app):
    hid = report(client, h["inspector"], token).json["hazard"]["id"]
    post(
        client,
        h["inspector"],
        hid,
        "assign",
        {"assignee_id": world.officer.id, "deadline": in_days(3)},
    )
    db.execute(
        text("UPDATE hazard_events SET note = 'changed later' WHERE hazard_id = :h AND seq = 2"),
        {"h": hid},
    )
    db.commit()
    log = client.get(f"/api/v1/hazards/{hid}/events", headers=h["district_supervisor"]).json
    assert log["chain_ok"] is False
    assert log["breaks"] == [{"seq": 2, "reason": "content does not match its hash"}]
    result = app.test_cli_runner().invoke(args=["hazards", "verify-chain"])
    assert result.exit_code == 1
    assert f"hazard {hid} event 2" in result.output


def test_photos_of_a_hazard_open_for_whoever_may_see_it(client, world, h, token):
    hazard = report(client, h["reporter"], token).json["hazard"]
    photo = hazard["photos"]["before"][0]["id"]
    for role in ("officer", "inspector", "street_supervisor", "reporter"):
        response = client.get(f"/api/v1/media/{photo}", headers=h[role])
        assert response.status_code == 302, (role, response.json)
    other_worker = auth_header_for(client, world)
    assert_error(client.get(f"/api/v1/media/{photo}", headers=other_worker), 404)


def auth_header_for(client, world):
    response = client.post("/api/v1/auth/wechat-login", json={"code": "ok-stranger-openid"})
    return {"Authorization": f"Bearer {response.json['access_token']}"}


def test_an_anonymous_retry_replays_its_receipt_and_leaves_no_user_trace(
    client, world, h, token, db
):
    from service.core.models import IdempotencyRecord

    body = {
        "category": "fire",
        "description": "安全出口被锁",
        "media_ids": [upload(client, h["reporter"])],
    }
    headers = {**h["reporter"], "Idempotency-Key": "anon-retry-1"}
    first = client.post(f"/api/v1/scan/{token}/hazards", json=body, headers=headers)
    again = client.post(f"/api/v1/scan/{token}/hazards", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json["receipt_key"] == again.json["receipt_key"]
    assert first.json["hazard"]["id"] == again.json["hazard"]["id"]
    record = db.scalars(select(IdempotencyRecord)).one()
    # Bound to no caller (not even a keyed hash of one), the client's key kept only hashed,
    # and the receipt key nowhere in the record: a database reader can neither read it nor
    # tie the report to the account that sent it.
    assert record.actor_key == "anon"
    assert record.key == hashlib.sha256(b"anon-retry-1").hexdigest()
    stored = json.dumps([record.actor_key, record.key, record.fingerprint, record.extra])
    assert first.json["receipt_key"] not in stored
