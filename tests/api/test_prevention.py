"""双重预防 through the API: risk points graded, checklists attached, tasks generated and
done by scanning the point; a 不合格 item becomes exactly one hazard, retries included."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from service.hazards.models import Hazard, HazardMedia
from service.inspections import tasks
from service.inspections.models import InspectionTask, TaskResult
from tests.api.hazard_helpers import upload
from tests.api.helpers import assert_error

V1 = "/api/v1"


@pytest.fixture
def officer(world, auth_header):
    return auth_header(world.officer)


@pytest.fixture
def admin(world, auth_header):
    return auth_header(world.admin)


def make_point(client, headers, enterprise_id, **extra):
    body = {"enterprise_id": enterprise_id, "name": "液氨储罐区", "kind": "equipment", **extra}
    response = client.post(f"{V1}/points", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def make_checklist(client, headers, **extra):
    body = {
        "name": "储罐区日检",
        "items": [
            {"content": "储罐压力表在检定有效期内", "basis": "GB 150", "method": "查看标签"},
            {"content": "围堰内无积水、无杂物", "method": "现场查看"},
        ],
        **extra,
    }
    response = client.post(f"{V1}/checklists", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_an_officer_grades_a_point_and_the_history_is_kept(client, world, officer):
    point = make_point(
        client,
        officer,
        world.enterprise_a.id,
        control_level="company",
        measures=[{"type": "engineering", "content": "设置可燃气体报警器"}],
    )
    assert point["risk_level"] is None and point["out_of_control"] is False
    url = f"{V1}/points/{point['id']}/assessments"
    first = client.post(
        url, json={"method": "lec", "inputs": {"l": 3, "e": 6, "c": 15}}, headers=officer
    )
    assert first.status_code == 201, first.get_json()
    assert (first.get_json()["score"], first.get_json()["level"]) == (270, "orange")
    second = client.post(url, json={"method": "ls", "inputs": {"l": 4, "s": 5}}, headers=officer)
    assert (second.get_json()["score"], second.get_json()["level"]) == (20, "red")
    history = client.get(url, headers=officer).get_json()
    assert [(a["seq"], a["method"], a["level"]) for a in history] == [
        (2, "ls", "red"),
        (1, "lec", "orange"),
    ]
    assert history[1]["inputs"] == {"l": 3, "e": 6, "c": 15}
    assert (
        client.get(f"{V1}/points/{point['id']}", headers=officer).get_json()["risk_level"] == "red"
    )


def test_values_outside_the_method_tables_are_refused_in_chinese(client, world, officer):
    point = make_point(client, officer, world.enterprise_a.id)
    url = f"{V1}/points/{point['id']}/assessments"
    body = assert_error(
        client.post(
            url, json={"method": "lec", "inputs": {"l": 2, "e": 6, "c": 7}}, headers=officer
        ),
        422,
        "assessment_invalid",
    )
    assert "可能性 L取值须为" in body["message"] and "l" in body["errors"]
    body = assert_error(
        client.post(url, json={"method": "direct", "level": "red"}, headers=officer),
        422,
        "assessment_invalid",
    )
    assert "reason" in body["errors"]
    assert client.get(url, headers=officer).get_json() == []  # nothing recorded


def test_only_the_enterprise_manages_its_points(client, world, auth_header, officer):
    inspector = auth_header(world.inspector)
    body = {"enterprise_id": world.enterprise_a.id, "name": "配电室"}
    assert_error(client.post(f"{V1}/points", json=body, headers=inspector), 403, "forbidden")
    other = {"enterprise_id": world.enterprise_b.id, "name": "配电室"}
    assert_error(client.post(f"{V1}/points", json=other, headers=officer), 404)
    point = make_point(client, officer, world.enterprise_a.id)
    # The grid's inspector sees it, the other street's supervisor does not.
    assert client.get(f"{V1}/points/{point['id']}", headers=inspector).status_code == 200
    assert client.get(f"{V1}/points", headers=inspector).get_json()["total"] == 1
    assert_error(
        client.post(f"{V1}/points", json=body | {"name": "液氨储罐区"}, headers=officer), 409
    )


def _ready_task(client, ctx, world, officer, admin, frequency="day"):
    point = make_point(client, officer, world.enterprise_a.id, lat=31.7, lng=119.9)
    checklist = make_checklist(client, officer)
    attached = client.post(
        f"{V1}/points/{point['id']}/checklists",
        json={
            "checklist_id": checklist["id"],
            "frequency": frequency,
            "assignee_role": "enterprise_officer",
        },
        headers=officer,
    )
    assert attached.status_code == 201, attached.get_json()
    code = client.post(
        f"{V1}/enterprises/{world.enterprise_a.id}/qrcodes",
        json={"point_name": point["name"]},
        headers=admin,
    ).get_json()
    assert tasks.generate(ctx, days=1) >= 1
    return point, checklist, code["token"]


def test_scanning_the_point_shows_the_callers_due_tasks_with_their_items(
    client, ctx, world, officer, admin, auth_header
):
    point, checklist, token = _ready_task(client, ctx, world, officer, admin)
    due = client.get(f"{V1}/scan/{token}/tasks", headers=officer)
    assert due.status_code == 200, due.get_json()
    (task,) = due.get_json()
    assert (task["point_id"], task["state"], task["can_do"]) == (point["id"], "due", True)
    assert [i["content"] for i in task["items"]] == [i["content"] for i in checklist["items"]]
    # The inspector is not the assignee (the enterprise's officers are).
    assert (
        client.get(f"{V1}/scan/{token}/tasks", headers=auth_header(world.inspector)).get_json()
        == []
    )


def _answers(items, fail_with=None):
    answers = [{"item_id": i["id"], "outcome": "pass"} for i in items]
    if fail_with is not None:
        answers[0] = {
            "item_id": items[0]["id"],
            "outcome": "fail",
            "note": "压力表超期未检",
            "media_ids": fail_with,
            "category": "special_equipment",
        }
    return answers


def test_a_failed_item_becomes_exactly_one_hazard_and_a_retry_replays(
    client, ctx, db, world, officer, admin
):
    point, _, token = _ready_task(client, ctx, world, officer, admin)
    (task,) = client.get(f"{V1}/scan/{token}/tasks", headers=officer).get_json()
    photo = upload(client, officer)
    body = {"answers": _answers(task["items"], [photo]), "lat": 31.7, "lng": 119.9}
    headers = officer | {"Idempotency-Key": "task-submit-1"}
    url = f"{V1}/tasks/{task['id']}/submit"
    first = client.post(url, json=body, headers=headers)
    assert first.status_code == 200, first.get_json()
    done = first.get_json()
    assert (done["state"], done["flagged"]) == ("done", False)
    failed = [r for r in done["results"] if r["outcome"] == "fail"]
    assert len(failed) == 1 and failed[0]["hazard_id"] is not None
    again = client.post(url, json=body, headers=headers)
    assert again.status_code == 200 and again.get_json()["results"] == done["results"]
    assert_error(client.post(url, json=body, headers=officer), 409, "task_already_done")
    hazards = db.scalars(select(Hazard).where(Hazard.point_id == point["id"])).all()
    assert len(hazards) == 1
    hazard = hazards[0]
    assert hazard.id == failed[0]["hazard_id"]
    assert (hazard.status, hazard.source, hazard.category) == (
        "reported",
        "self_check",
        "special_equipment",
    )
    assert "压力表超期未检" in hazard.description
    assert (
        db.scalar(select(HazardMedia.media_id).where(HazardMedia.hazard_id == hazard.id)) == photo
    )
    # It runs the normal workflow: the officer sees it with its actions.
    shown = client.get(f"{V1}/hazards/{hazard.id}", headers=officer).get_json()
    assert "assign" in shown["actions"]


def test_answers_must_cover_every_item_and_a_failure_needs_photo_and_note(
    client, ctx, db, world, officer, admin
):
    _, _, token = _ready_task(client, ctx, world, officer, admin)
    (task,) = client.get(f"{V1}/scan/{token}/tasks", headers=officer).get_json()
    url = f"{V1}/tasks/{task['id']}/submit"
    items = task["items"]
    partial = {"answers": _answers(items[:1]), "lat": 31.7, "lng": 119.9}
    body = assert_error(client.post(url, json=partial, headers=officer), 422, "answers_invalid")
    assert body["errors"]["missing"] == [str(items[1]["id"])]
    no_photo = {"answers": _answers(items, []), "lat": 31.7, "lng": 119.9}
    assert_error(client.post(url, json=no_photo, headers=officer), 422, "answers_invalid")
    # Nothing was kept of the refused submissions.
    assert db.scalar(select(func.count()).select_from(TaskResult)) == 0
    assert client.get(f"{V1}/tasks/{task['id']}", headers=officer).get_json()["state"] == "due"


def test_a_submission_far_from_the_point_is_flagged_not_refused(client, ctx, world, officer, admin):
    _, _, token = _ready_task(client, ctx, world, officer, admin)
    (task,) = client.get(f"{V1}/scan/{token}/tasks", headers=officer).get_json()
    body = {"answers": _answers(task["items"]), "lat": 32.2, "lng": 119.9}
    done = client.post(f"{V1}/tasks/{task['id']}/submit", json=body, headers=officer).get_json()
    assert (done["flagged"], done["flag_reason"]) == (True, "too_far")
    assert done["distance_m"] > 50_000


def test_a_task_done_late_is_done_but_not_within_its_window(client, ctx, db, world, officer, admin):
    _, _, token = _ready_task(client, ctx, world, officer, admin)
    (task,) = client.get(f"{V1}/scan/{token}/tasks", headers=officer).get_json()
    row = db.get(InspectionTask, task["id"])
    ctx.clock = lambda: row.window_end + timedelta(hours=1)
    listed = client.get(f"{V1}/tasks?state=overdue", headers=officer).get_json()
    assert [t["id"] for t in listed["items"]] == [task["id"]]
    body = {"answers": _answers(task["items"]), "lat": 31.7, "lng": 119.9}
    done = client.post(f"{V1}/tasks/{task['id']}/submit", json=body, headers=officer).get_json()
    assert done["state"] == "done"
    db.expire_all()
    within = db.scalar(
        select(func.count()).select_from(InspectionTask).where(tasks.done_in_window_condition())
    )
    assert within == 0


def test_flask_inspections_generate_creates_the_tasks_once(app, client, world, officer, admin, db):
    point = make_point(client, officer, world.enterprise_a.id)
    checklist = make_checklist(client, officer)
    client.post(
        f"{V1}/points/{point['id']}/checklists",
        json={"checklist_id": checklist["id"], "frequency": "week", "assignee_role": "inspector"},
        headers=officer,
    )
    runner = app.test_cli_runner()
    first = runner.invoke(args=["inspections", "generate", "--days", "7"])
    assert first.exit_code == 0, first.output
    assert first.output.startswith("2 inspection tasks created")
    again = runner.invoke(args=["inspections", "generate", "--days", "7"])
    assert again.output.startswith("0 inspection tasks created")


def test_shared_checklists_reach_the_enterprises_below_for_their_industry(
    client, world, auth_header, officer
):
    supervisor = auth_header(world.district_supervisor)
    shared = make_checklist(client, supervisor, name="区级通用清单")
    other_industry = "other" if world.enterprise_a.industry != "other" else "construction"
    make_checklist(client, supervisor, name="建筑施工清单", industry=other_industry)
    usable = client.get(
        f"{V1}/checklists?enterprise_id={world.enterprise_a.id}", headers=officer
    ).get_json()
    assert [c["name"] for c in usable["items"]] == [shared["name"]]
    # The officer may use it, not edit it.
    assert_error(
        client.patch(f"{V1}/checklists/{shared['id']}", json={"name": "改"}, headers=officer), 403
    )
