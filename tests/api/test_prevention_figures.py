"""双重预防 figures against plain counting of the same rows, per scope and period."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from service.directory.models import Enterprise, Point
from service.hazards.models import Hazard
from service.inspections import rollup
from service.inspections.models import (
    Checklist,
    ChecklistItem,
    InspectionTask,
    PointChecklist,
    TaskResult,
)
from service.statistics import figures as statistics
from tests.api.helpers import assert_error
from tests.factories import make_hazard
from uploads_schema.vocabulary import (
    OPEN_STATUSES,
    Frequency,
    HazardLevel,
    HazardSource,
    ItemOutcome,
    RiskColor,
    Role,
    TaskStatus,
)

CN = timezone(timedelta(hours=8))
NOW = datetime(2026, 11, 20, 12, tzinfo=CN)
FROM, TO = "2026-11-01", "2026-11-30"
START, END = datetime(2026, 11, 1, tzinfo=CN), datetime(2026, 12, 1, tzinfo=CN)
_n = itertools.count(1)


def _point(db, enterprise: Enterprise, level: RiskColor | None) -> tuple[Point, PointChecklist]:
    point = Point(enterprise_id=enterprise.id, name=f"点{next(_n)}", risk_level=level)
    checklist = Checklist(
        name="清单", enterprise_id=enterprise.id, region_path=enterprise.region_path, active=True
    )
    db.add_all([point, checklist])
    db.flush()
    db.add(ChecklistItem(checklist_id=checklist.id, content="项", position=0, active=True))
    attachment = PointChecklist(
        point_id=point.id,
        checklist_id=checklist.id,
        frequency=Frequency.DAY,
        assignee_role=Role.ENTERPRISE_OFFICER,
        active=True,
    )
    db.add(attachment)
    db.flush()
    return point, attachment


def _task(db, point, attachment, enterprise, day: int, done_after_hours: float | None):
    start = datetime(2026, 11, day, tzinfo=CN)
    end = start + timedelta(days=1)
    task = InspectionTask(
        attachment_id=attachment.id,
        point_id=point.id,
        checklist_id=attachment.checklist_id,
        enterprise_id=enterprise.id,
        grid_id=enterprise.grid_id,
        region_path=enterprise.region_path,
        frequency=Frequency.DAY,
        window_start=start,
        window_end=end,
        assignee_key="role:enterprise_officer",
        assignee_role=Role.ENTERPRISE_OFFICER,
        status=TaskStatus.PENDING,
        flagged=False,
    )
    if done_after_hours is not None:
        task.status, task.done_at = TaskStatus.DONE, start + timedelta(hours=done_after_hours)
    db.add(task)
    db.flush()
    return task


@pytest.fixture
def arranged(ctx, db, world):
    """Points of every level at A, A2 and B; tasks over October–December in every state;
    hazards from a checklist, from tips and otherwise; an open 重大 hazard at one point."""
    ctx.clock = lambda: NOW.astimezone(UTC)
    rng = random.Random(19)
    levels = [RiskColor.RED, RiskColor.ORANGE, RiskColor.YELLOW, RiskColor.BLUE, None]
    for enterprise in (world.enterprise_a, world.enterprise_a2, world.enterprise_b):
        for _ in range(4):
            point, attachment = _point(db, enterprise, rng.choice(levels))
            for day in range(1, 29, rng.choice([1, 2, 3])):
                # done in its window, late, or not at all
                done = rng.choice([2.0, 30.0, None, 5.0])
                _task(db, point, attachment, enterprise, day, done)
    # Windows of October that end on 1 November (China) fall in the period.
    point, attachment = _point(db, world.enterprise_a, RiskColor.RED)
    _task(db, point, attachment, world.enterprise_a, 1, None).window_end = START
    created = datetime(2026, 11, 10, tzinfo=CN)
    some_point = db.scalar(select(Point).where(Point.enterprise_id == world.enterprise_a.id))
    task = db.scalar(select(InspectionTask).where(InspectionTask.point_id == some_point.id))
    found = make_hazard(db, world.enterprise_a, created_at=created, point_id=some_point.id)
    item = db.scalar(
        select(ChecklistItem.id).where(ChecklistItem.checklist_id == task.checklist_id)
    )
    db.add(
        TaskResult(
            task_id=task.id,
            item_id=item,
            outcome=ItemOutcome.FAIL,
            note="坏",
            media_ids=[],
            hazard_id=found.id,
        )
    )
    make_hazard(db, world.enterprise_a, created_at=created, source=HazardSource.PUBLIC_TIP)
    make_hazard(db, world.enterprise_b, created_at=created, source=HazardSource.PUBLIC_TIP)
    make_hazard(db, world.enterprise_a2, created_at=created)
    make_hazard(db, world.enterprise_a, created_at=START - timedelta(days=3))  # before
    make_hazard(
        db,
        world.enterprise_b,
        created_at=created,
        level=HazardLevel.MAJOR,
        point_id=db.scalar(select(Point.id).where(Point.enterprise_id == world.enterprise_b.id)),
    )
    # The tasks were written here, not by generation and submission: count them up.
    rollup.rebuild(db)
    db.commit()
    return world


@pytest.fixture(params=[True, False], ids=["rollup", "live"])
def both_paths(request, monkeypatch):
    """The same figures whether the daily rollup or the tasks answer."""
    monkeypatch.setattr(statistics, "USE_ROLLUP", request.param)
    return request.param


def expected(db, enterprise_ids: set[int]) -> dict:
    """The figures by counting rows in Python."""
    now = NOW.astimezone(UTC)
    tasks = [
        t
        for t in db.scalars(select(InspectionTask))
        if t.enterprise_id in enterprise_ids and START <= t.window_end < END and t.window_end <= now
    ]
    in_window = [t for t in tasks if t.status == "done" and t.done_at < t.window_end]
    done = [t for t in tasks if t.status == "done"]
    points = [p for p in db.scalars(select(Point)) if p.enterprise_id in enterprise_ids]
    by_level = {c: 0 for c in ("red", "orange", "yellow", "blue", "unassessed")}
    for p in points:
        by_level[p.risk_level.value if p.risk_level else "unassessed"] += 1
    out = 0
    for p in points:
        mine = [
            t for t in db.scalars(select(InspectionTask).where(InspectionTask.point_id == p.id))
        ]
        missed = [t.window_end for t in mine if t.status == "pending" and t.window_end <= now]
        last_done = max((t.done_at for t in mine if t.status == "done"), default=None)
        major = any(
            h.point_id == p.id and h.level == "major" and h.status in OPEN_STATUSES
            for h in db.scalars(select(Hazard))
        )
        if major or (missed and (last_done is None or last_done < max(missed))):
            out += 1
    hazards = [
        h
        for h in db.scalars(select(Hazard))
        if h.enterprise_id in enterprise_ids and START <= h.created_at < END
    ]
    linked = {r.hazard_id for r in db.scalars(select(TaskResult))}
    return {
        "tasks_due": len(tasks),
        "tasks_done_in_window": len(in_window),
        "tasks_done_late": len(done) - len(in_window),
        "tasks_overdue": len(tasks) - len(done),
        "completion_rate": round(len(in_window) / len(tasks), 4) if tasks else None,
        "hazards_by_checklist": sum(h.id in linked for h in hazards),
        "hazards_by_tips": sum(h.source == "public_tip" for h in hazards),
        "hazards_other": sum(h.id not in linked and h.source != "public_tip" for h in hazards),
        "points": len(points),
        "points_by_level": by_level,
        "points_out_of_control": out,
    }


def _summary(client, headers, **query):
    response = client.get(
        "/api/v1/stats/prevention", query_string={"from": FROM, "to": TO, **query}, headers=headers
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()["figures"]


def test_the_district_figures_are_plain_counts(client, db, arranged, auth_header, both_paths):
    world = arranged
    ids = {world.enterprise_a.id, world.enterprise_a2.id, world.enterprise_b.id}
    got = _summary(client, auth_header(world.district_supervisor))
    want = expected(db, ids)
    assert got == want
    assert want["tasks_due"] > 50 and 0 < want["tasks_done_in_window"] < want["tasks_due"]
    assert want["tasks_done_late"] > 0 and want["points_out_of_control"] > 0
    assert want["hazards_by_checklist"] == 1 and want["hazards_by_tips"] == 2


def test_a_street_supervisor_and_an_officer_count_their_own_scope(
    client, db, arranged, auth_header
):
    world = arranged
    street = _summary(client, auth_header(world.street_supervisor))
    assert street == expected(db, {world.enterprise_a.id, world.enterprise_a2.id})
    officer = _summary(client, auth_header(world.officer))
    assert officer == expected(db, {world.enterprise_a.id})
    one = _summary(client, auth_header(world.admin), enterprise_id=world.enterprise_a2.id)
    assert one == expected(db, {world.enterprise_a2.id})


def test_the_four_colour_list_per_enterprise(client, db, arranged, auth_header):
    world = arranged
    response = client.get(
        "/api/v1/stats/prevention/enterprises",
        query_string={"from": FROM, "to": TO},
        headers=auth_header(world.district_supervisor),
    )
    assert response.status_code == 200, response.get_json()
    rows = {row["enterprise_id"]: row for row in response.get_json()["items"]}
    for enterprise in (world.enterprise_a, world.enterprise_a2, world.enterprise_b):
        row = rows[enterprise.id]
        assert row["enterprise_name"] == enterprise.name
        want = expected(db, {enterprise.id})
        assert row["figures"]["points_by_level"] == want["points_by_level"]
        assert row["figures"]["points_out_of_control"] == want["points_out_of_control"]
        assert row["figures"]["completion_rate"] == want["completion_rate"]


def test_reporters_get_no_figures(client, arranged, auth_header):
    assert_error(
        client.get("/api/v1/stats/prevention", headers=auth_header(arranged.reporter)), 403
    )


def _stats(client, headers, what, **query):
    response = client.get(
        f"/api/v1/stats/{what}",
        query_string={"from": FROM, "to": TO, "include": "prevention", **query},
        headers=headers,
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_the_summary_carries_the_prevention_figures_only_when_asked(
    client, db, arranged, auth_header, both_paths
):
    world = arranged
    headers = auth_header(world.district_supervisor)
    ids = {world.enterprise_a.id, world.enterprise_a2.id, world.enterprise_b.id}
    assert _stats(client, headers, "summary")["prevention"] == expected(db, ids)
    plain = client.get(
        "/api/v1/stats/summary", query_string={"from": FROM, "to": TO}, headers=headers
    )
    assert "prevention" not in plain.get_json()
    assert_error(
        client.get("/api/v1/stats/summary", query_string={"include": "x"}, headers=headers), 422
    )


def test_the_ranking_gives_each_child_region_its_prevention_figures(
    client, db, arranged, auth_header, both_paths
):
    world = arranged
    # The district's streets: A and A2 in one, B in the other.
    rows = _stats(client, auth_header(world.district_supervisor), "ranking")["rows"]
    by_street = {row["unit_id"]: row["prevention"] for row in rows}
    for enterprise_ids, street in (
        ({world.enterprise_a.id, world.enterprise_a2.id}, world.street_a.id),
        ({world.enterprise_b.id}, world.street_b.id),
    ):
        assert by_street[street] == expected(db, enterprise_ids)
    # Below the rollup's units (a street's communities), the tasks are counted live.
    rows = _stats(client, auth_header(world.street_supervisor), "ranking")["rows"]
    total = {k: sum(row["prevention"][k] for row in rows) for k in ("tasks_due", "points")}
    want = expected(db, {world.enterprise_a.id, world.enterprise_a2.id})
    assert total == {"tasks_due": want["tasks_due"], "points": want["points"]}


def test_a_unit_without_points_still_names_every_level(client, arranged, auth_header):
    # No enterprise of the world is in construction: each street's unit counts nothing, and
    # its 四色 distribution still has every level (the schema requires them), at 0.
    headers = auth_header(arranged.district_supervisor)
    rows = _stats(client, headers, "ranking", industry="construction")["rows"]
    assert rows
    for row in rows:
        assert row["prevention"]["points_by_level"] == {
            "red": 0, "orange": 0, "yellow": 0, "blue": 0, "unassessed": 0
        }  # fmt: skip
        assert row["prevention"]["points"] == 0


@pytest.mark.parametrize("bucket", ["week", "month"])
def test_the_trend_splits_tasks_by_the_week_or_month_their_window_ended(
    client, db, arranged, auth_header, both_paths, bucket
):
    world = arranged
    ids = {world.enterprise_a.id, world.enterprise_a2.id, world.enterprise_b.id}
    points = _stats(client, auth_header(world.district_supervisor), "trend", bucket=bucket)[
        "points"
    ]
    now = NOW.astimezone(UTC)
    want: dict[str, list[int]] = {}
    for t in db.scalars(select(InspectionTask)):
        if t.enterprise_id in ids and START <= t.window_end < END and t.window_end <= now:
            day = t.window_end.astimezone(CN).date()
            key = (day - timedelta(days=day.weekday())).isoformat()
            key = f"{day:%Y-%m}" if bucket == "month" else key
            counts = want.setdefault(key, [0, 0, 0])
            counts[0] += 1
            counts[1] += t.status == "done" and t.done_at < t.window_end
            counts[2] += t.status == "pending"
    got = {
        p["bucket"]: [
            p["prevention"][k] for k in ("tasks_due", "tasks_done_in_window", "tasks_overdue")
        ]
        for p in points
        if p["prevention"]["tasks_due"]
    }
    assert got == want and len(want) == (1 if bucket == "month" else 4)
    found = sum(p["prevention"]["hazards_by_checklist"] for p in points)
    tips = sum(p["prevention"]["hazards_by_tips"] for p in points)
    assert (found, tips) == (1, 2)
    assert "points" not in points[0]["prevention"]
