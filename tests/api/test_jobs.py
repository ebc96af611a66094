"""Long operations as jobs (issue 20): 202 + Location, polling, the download after a scope
check, cancel, the reaper, expiry; small requests still answer directly.

Jobs here run inside the request (JOBS_IMMEDIATE) or not at all (a queue that only records);
tests/integration/test_jobs_consumer.py runs them on real consumer processes.
"""

from __future__ import annotations

import io
import json
import re
from datetime import timedelta
from urllib.parse import quote, urlsplit

import openpyxl
import pytest
from pypdf import PdfReader
from sqlalchemy import select

from service.core.models import IdempotencyRecord
from service.directory.models import Enterprise
from service.jobs import periodic, running
from service.jobs.jobs import QUEUE
from service.jobs.models import Job, JobState, PeriodicClaim
from tests.api.helpers import assert_error
from tests.api.test_enterprise_import import GOOD_1, _csv, _rows

JOB_KEYS = {
    "id", "kind", "state", "progress", "attempts", "created_at", "started_at", "finished_at",
    "result", "result_expired", "summary", "error",
}  # fmt: skip


@pytest.fixture
def settings(settings):
    # Small thresholds so a handful of codes is "big": split in parts of two pages.
    return settings.with_overrides(posters_sync_max=3, poster_part_pages=2)


@pytest.fixture
def admin(world, auth_header):
    return auth_header(world.admin)


def issue_codes(client, admin, enterprise, count):
    for _ in range(count):
        url = f"/api/v1/enterprises/{enterprise.id}/qrcodes"
        response = client.post(url, json={}, headers=admin)
        assert response.status_code == 201, response.json


def poll(client, response, headers):
    assert response.status_code == 202, response.get_data(as_text=True)
    location = response.headers["Location"]
    assert re.fullmatch(r"/api/v1/jobs/\d+", location)
    assert response.headers["Retry-After"] == "2"
    assert set(response.json) == JOB_KEYS
    answer = client.get(location, headers=headers)
    assert answer.status_code == 200, answer.json
    assert answer.headers["Cache-Control"] == "private, no-store"
    return answer.json


def download(client, job):
    """Fetch a job's result through its link (local storage: the app's signed route)."""
    link = urlsplit(job["result"]["url"])
    with client.get(f"{link.path}?{link.query}") as answer:
        assert answer.status_code == 200
        return answer.data


def pages(pdf: bytes) -> int:
    return len(PdfReader(io.BytesIO(pdf)).pages)


# --- posters ---------------------------------------------------------------------------


def test_a_big_region_answers_202_and_its_posters_are_rendered_in_parts_then_merged(
    client, world, admin
):
    issue_codes(client, admin, world.enterprise_a, 3)
    issue_codes(client, admin, world.enterprise_a2, 2)
    url = f"/api/v1/qrcodes/posters.pdf?region_id={world.street_a.id}"
    job = poll(client, client.get(url, headers=admin), admin)
    assert job["kind"] == "posters" and job["state"] == "succeeded", job
    assert job["progress"] == {"done": 5, "total": 5, "message": "已完成"}
    assert job["attempts"] == 1 and job["error"] is None
    assert job["started_at"] >= job["created_at"] and job["finished_at"] >= job["started_at"]
    result = job["result"]
    assert result["name"] == "二维码海报-甲街道.pdf"
    assert result["content_type"] == "application/pdf"
    pdf = download(client, job)
    assert len(pdf) == result["size"] and pages(pdf) == 5
    # The parts were merged and deleted: only the result is kept.
    ctx = client.application.extensions["mashangcha"]
    kept = [o.key for o in ctx.storage.iter_objects(f"jobs/{job['id']}/")]
    assert kept == [f"jobs/{job['id']}/1/qr-posters-{world.street_a.code}.pdf"]


def test_a_small_region_still_answers_the_pdf_directly_unless_asked_for_a_job(
    client, world, admin
):
    issue_codes(client, admin, world.enterprise_a, 2)
    url = f"/api/v1/qrcodes/posters.pdf?region_id={world.street_a.id}"
    direct = client.get(url, headers=admin)
    assert direct.status_code == 200 and pages(direct.data) == 2
    job = poll(client, client.get(url + "&async=1", headers=admin), admin)
    assert job["state"] == "succeeded" and pages(download(client, job)) == 2


def test_an_empty_region_is_refused_at_once_not_as_a_failed_job(client, world, admin):
    url = f"/api/v1/qrcodes/posters.pdf?region_id={world.street_b.id}&async=1"
    assert_error(client.get(url, headers=admin), 404)
    assert_error(client.get("/api/v1/qrcodes/posters.pdf?async=1", headers=admin), 404)


def test_a_job_belongs_to_its_creator_everyone_else_gets_404(client, world, admin, auth_header):
    issue_codes(client, admin, world.enterprise_a, 1)
    street = auth_header(world.street_supervisor)
    response = client.get("/api/v1/qrcodes/posters.pdf?async=1", headers=street)
    job = poll(client, response, street)
    location = response.headers["Location"]
    for other in (world.district_supervisor, world.admin, world.inspector):
        assert_error(client.get(location, headers=auth_header(other)), 404, "job_not_found")
        assert_error(client.post(f"{location}/cancel", headers=auth_header(other)), 404)
    assert_error(client.get(location), 401)
    assert [j["id"] for j in client.get("/api/v1/jobs", headers=street).json["items"]] == [
        job["id"]
    ]
    assert client.get("/api/v1/jobs", headers=admin).json["items"] == []


def test_a_failed_job_shows_the_error_in_the_one_error_shape(client, world, admin, ctx):
    issue_codes(client, admin, world.enterprise_a, 1)
    ctx.settings = ctx.settings.with_overrides(qr_font_path="/nope.ttf")
    job = poll(client, client.get("/api/v1/qrcodes/posters.pdf?async=1", headers=admin), admin)
    assert job["state"] == "failed" and job["result"] is None
    assert job["error"]["status"] == 500 and job["error"]["code"] == "poster_font_missing"
    assert set(job["error"]) == {"status", "code", "message", "message_en", "errors"}
    assert job["error"]["message"] and "Traceback" not in json.dumps(job)


# --- exports ---------------------------------------------------------------------------


def test_an_export_of_a_long_period_is_a_job_and_a_month_answers_directly(
    client, world, auth_header
):
    sup = auth_header(world.district_supervisor)
    month = client.get("/api/v1/stats/export.xlsx?from=2026-10-01&to=2026-10-31", headers=sup)
    assert month.status_code == 200
    year = client.get("/api/v1/stats/export.xlsx?from=2026-01-01&to=2026-10-31", headers=sup)
    job = poll(client, year, sup)
    assert job["kind"] == "export" and job["state"] == "succeeded", job
    assert job["result"]["name"] == "隐患统计-测试区-2026-01-01至2026-10-31.xlsx"
    book = openpyxl.load_workbook(io.BytesIO(download(client, job)), read_only=True)
    assert book.sheetnames == ["汇总", "排名", "双重预防", "隐患清单"]

    url = "/api/v1/stats/export.csv?from=2026-10-01&to=2026-10-31"
    job = poll(client, client.get(url + "&async=1", headers=sup), sup)
    assert job["result"]["name"] == "隐患统计-测试区-2026-10.csv"
    # The same file the direct download answers.
    assert download(client, job) == client.get(url, headers=sup).data


def test_a_job_result_is_saved_under_the_name_the_direct_download_gives(
    client, world, auth_header
):
    sup = auth_header(world.district_supervisor)
    url = "/api/v1/stats/export.xlsx?from=2026-11-01&to=2026-11-30"
    direct = client.get(url, headers=sup)
    job = poll(client, client.get(url + "&async=1", headers=sup), sup)
    link = urlsplit(job["result"]["url"])
    with client.get(f"{link.path}?{link.query}") as answer:
        assert answer.status_code == 200
        header = answer.headers["Content-Disposition"]
    assert header == direct.headers["Content-Disposition"]
    assert header.startswith("attachment;")
    assert "filename*=UTF-8''" + quote("隐患统计-测试区-2026-11.xlsx") in header
    # The name is signed with the link: another one is refused.
    forged = link.query.replace(quote("2026-11.xlsx", safe=""), quote("2026-12.xlsx", safe=""))
    assert forged != link.query
    assert_error(client.get(f"{link.path}?{forged}"), 403, "media_link_invalid")


def test_an_export_job_outside_the_callers_scope_is_refused_before_it_is_queued(
    client, world, auth_header, db
):
    street = auth_header(world.street_supervisor)
    url = f"/api/v1/stats/export.csv?region_id={world.street_b.id}&async=1"
    assert_error(client.get(url, headers=street), 404)
    assert db.scalar(select(Job.id)) is None


# --- imports ---------------------------------------------------------------------------


def _import(client, headers, data, query="?async=1"):
    return client.post(
        f"/api/v1/enterprises/import{query}",
        data={"file": (io.BytesIO(data), "enterprises.csv")},
        headers=headers,
        content_type="multipart/form-data",
    )


def test_an_import_job_keeps_the_row_report_as_its_result(client, world, admin, db):
    job = poll(client, _import(client, admin, _csv(_rows(world)), "?async=1&mode=partial"), admin)
    assert job["kind"] == "enterprise_import" and job["state"] == "succeeded", job
    assert job["summary"] == {
        "mode": "partial", "committed": True, "total": 5, "created": 2, "updated": 1, "failed": 2
    }  # fmt: skip
    report = json.loads(download(client, job))
    assert [row["status"] for row in report["rows"]] == ["ok", "ok", "error", "error", "ok"]
    assert db.scalar(select(Enterprise.name).where(Enterprise.id == world.enterprise_b.id)) == (
        "乙企业（更名）"
    )
    # The uploaded file is not kept once the job is done.
    ctx = client.application.extensions["mashangcha"]
    assert list(ctx.storage.iter_objects("jobs/inputs/")) == []


def test_only_admins_may_start_an_import_job(client, world, auth_header, db):
    assert_error(_import(client, auth_header(world.district_supervisor), _csv([])), 403)
    assert db.scalar(select(Job.id)) is None


# --- a queue that only records: cancel, reaper, dedupe ------------------------------------


class RecordingQueue:
    def __init__(self):
        self.jobs, self.parts = [], []

    def enqueue(self, job_id):
        self.jobs.append(job_id)

    def enqueue_part(self, *args):
        self.parts.append(args)


@pytest.fixture
def queue(ctx):
    recorder = RecordingQueue()
    ctx.adapters[QUEUE] = recorder
    return recorder


@pytest.fixture
def held(queue, app, client, world, admin):
    """A posters job that stays queued (no consumer runs it)."""
    issue_codes(client, admin, world.enterprise_a, 1)
    response = client.get("/api/v1/qrcodes/posters.pdf?async=1", headers=admin)
    assert response.status_code == 202
    return response.headers["Location"]


def test_asking_twice_while_queued_makes_one_job(client, admin, held, queue):
    again = client.get("/api/v1/qrcodes/posters.pdf?async=1", headers=admin)
    assert again.headers["Location"] == held and len(queue.jobs) == 1
    assert client.get(held, headers=admin).json["state"] == "queued"


def test_a_cancelled_job_never_runs_and_a_finished_one_cannot_be_cancelled(
    client, ctx, admin, held, queue
):
    cancelled = client.post(f"{held}/cancel", headers=admin)
    assert cancelled.status_code == 200 and cancelled.json["state"] == "cancelled"
    assert client.post(f"{held}/cancel", headers=admin).json["state"] == "cancelled"
    running.run_job(ctx, queue.jobs[0])  # the message arrives after all
    job = client.get(held, headers=admin).json
    assert job["state"] == "cancelled" and job["attempts"] == 0 and job["result"] is None

    fresh = client.get("/api/v1/qrcodes/posters.pdf", headers=admin)  # one code: direct
    assert fresh.status_code == 200
    job_id = int(held.rsplit("/", 1)[1])
    with ctx.uow() as uow:
        uow.session.get(Job, job_id).state = JobState.SUCCEEDED
        uow.commit()
    assert_error(client.post(f"{held}/cancel", headers=admin), 409, "job_finished")


def _age(ctx, job_id, seconds, state=JobState.RUNNING):
    with ctx.uow() as uow:
        job = uow.session.get(Job, job_id)
        job.state = state
        job.heartbeat_at = ctx.now() - timedelta(seconds=seconds)
        uow.commit()


def test_a_job_whose_consumer_died_is_retried_then_failed_never_running_forever(
    client, ctx, admin, held, queue
):
    job_id = queue.jobs[0]
    with ctx.uow() as uow:
        uow.session.get(Job, job_id).attempts = 1
        uow.commit()
    _age(ctx, job_id, 30)  # beating recently: left alone
    assert running.reap(ctx) == running.ReapReport()

    _age(ctx, job_id, 600)
    assert running.reap(ctx) == running.ReapReport(retried=1)
    assert queue.jobs == [job_id, job_id]
    job = client.get(held, headers=admin).json
    assert job["state"] == "queued" and job["progress"]["message"] == "执行中断，已重新排队"

    with ctx.uow() as uow:
        uow.session.get(Job, job_id).attempts = ctx.settings.job_max_attempts
        uow.commit()
    _age(ctx, job_id, 600)
    assert running.reap(ctx) == running.ReapReport(failed=1)
    job = client.get(held, headers=admin).json
    assert job["state"] == "failed" and job["error"]["code"] == "job_worker_lost"
    assert job["finished_at"] is not None


def test_a_queued_job_whose_message_was_lost_is_handed_to_the_queue_again(
    ctx, held, queue
):
    _age(ctx, queue.jobs[0], 600, JobState.QUEUED)
    assert running.reap(ctx) == running.ReapReport(requeued=1)
    assert queue.jobs == [queue.jobs[0]] * 2


def test_results_expire_and_are_collected(client, ctx, admin, held, queue):
    job_id = queue.jobs[0]
    running.run_job(ctx, job_id)
    job = client.get(held, headers=admin).json
    assert job["state"] == "succeeded"
    key = f"jobs/{job_id}/" + job["result"]["url"].split(f"jobs/{job_id}/")[1].split("?")[0]
    assert ctx.storage.exists(key)
    assert running.collect(ctx) == 0  # not yet expired
    with ctx.uow() as uow:
        uow.session.get(Job, job_id).result_expires_at = ctx.now() - timedelta(seconds=1)
        uow.commit()
    assert running.collect(ctx) == 1
    assert not ctx.storage.exists(key)
    job = client.get(held, headers=admin).json
    assert job["state"] == "succeeded" and job["result"] is None and job["result_expired"]


def test_an_import_whose_consumer_died_before_its_commit_is_redone_whole_by_the_retry(
    client, ctx, db, world, admin, queue, monkeypatch
):
    response = _import(client, admin, _csv(_rows(world)), "?async=1&mode=partial")
    job_id = queue.jobs[0]
    keep_result = running.keep_result

    def dies_before_commit(*args):
        keep_result(*args)  # rows, report object and job row written, not committed
        raise ConsumerDied()

    monkeypatch.setattr(running, "keep_result", dies_before_commit)
    with pytest.raises(ConsumerDied):
        running.run_job(ctx, job_id)
    monkeypatch.undo()
    db.expire_all()
    assert db.scalar(select(Enterprise.id).where(Enterprise.credit_code == GOOD_1)) is None
    _age(ctx, job_id, 600)
    assert running.reap(ctx) == running.ReapReport(retried=1)
    running.run_job(ctx, job_id)

    job = client.get(response.headers["Location"], headers=admin).json
    assert job["state"] == "succeeded" and job["attempts"] == 2, job
    # The retry's report is the first run's: its rows created, not "updated" by itself.
    assert job["summary"] == {
        "mode": "partial", "committed": True, "total": 5, "created": 2, "updated": 1, "failed": 2
    }  # fmt: skip
    report = json.loads(download(client, job))
    actions = [row["action"] for row in report["rows"]]
    assert actions == ["created", "created", None, None, "updated"]
    assert db.scalars(select(Enterprise.id).where(Enterprise.credit_code == GOOD_1)).all() == [
        report["rows"][0]["enterprise_id"]
    ]
    assert [o.key for o in ctx.storage.iter_objects(f"jobs/{job_id}/")] == [
        f"jobs/{job_id}/2/enterprise-import-report.json"
    ]


class ConsumerDied(BaseException):
    """The consumer process ends here: nothing after this line runs, nothing is caught."""


# --- periodic work -----------------------------------------------------------------------


def test_periodic_work_runs_once_per_period_however_many_consumers_ask(ctx, db, world):
    old = ctx.now() - timedelta(hours=ctx.settings.idempotency_ttl_hours + 1)
    db.add(IdempotencyRecord(actor_key="user:1", key="k", fingerprint="f", status_code=201,
                             resource_id=None, extra={}, created_at=old))  # fmt: skip
    db.commit()
    moment = ctx.now()
    assert periodic.run_once(ctx, "idempotency_purge", moment) == "1 keys forgotten"
    assert periodic.run_once(ctx, "idempotency_purge", moment) is None
    assert periodic.run_once(ctx, "idempotency_purge", moment + timedelta(days=1)) is not None
    claims = db.scalars(select(PeriodicClaim).where(PeriodicClaim.task == "idempotency_purge"))
    assert [c.outcome for c in claims] == ["1 keys forgotten", "0 keys forgotten"]


def test_the_schedule_names_each_period_by_its_start():
    sweep = periodic.BY_NAME["hazards_sweep"]
    from datetime import UTC, datetime

    assert sweep.period(datetime(2026, 12, 4, 13, 59, 30, tzinfo=UTC)) == "2026-12-04T13:45Z"
    assert sweep.due(datetime(2026, 12, 4, 14, 0, tzinfo=UTC))
    assert not sweep.due(datetime(2026, 12, 4, 14, 1, tzinfo=UTC))
    assert periodic.BY_NAME["idempotency_purge"].period(
        datetime(2026, 12, 4, 23, 59, tzinfo=UTC)
    ) == "2026-12-04T00:00Z"


class BrokenQueue(RecordingQueue):
    def enqueue(self, job_id):
        raise ConnectionError("redis is restarting")


def test_a_job_asked_for_while_the_queue_is_down_is_queued_by_the_reaper_later(
    ctx, app, client, world, admin
):
    issue_codes(client, admin, world.enterprise_a, 1)
    ctx.adapters[QUEUE] = BrokenQueue()
    response = client.get("/api/v1/qrcodes/posters.pdf?async=1", headers=admin)
    job = poll(client, response, admin)
    assert job["state"] == "queued"
    ctx.adapters[QUEUE] = working = RecordingQueue()
    _age(ctx, job["id"], 600, JobState.QUEUED)
    assert running.reap(ctx) == running.ReapReport(requeued=1)
    assert working.jobs == [job["id"]]
