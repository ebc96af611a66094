"""A big staff import runs as a job: 202 + Location, the row report with the one-time
passwords as its result, for its creator only and for a short time (jobs run in the request,
`jobs_immediate`; tests/integration/test_jobs_consumer.py runs them on real consumers)."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select, update

from service.access.auth import verify_password
from service.directory.models import User
from service.jobs import running
from service.jobs.jobs import QUEUE
from service.jobs.models import Job
from tests.api.helpers import assert_error
from tests.api.test_jobs import RecordingQueue, download, poll
from tests.api.test_staff_accounts import _bad_rows, _staff_csv, _staff_rows
from tests.factories import make_user
from uploads_schema.vocabulary import Role


@pytest.fixture
def settings(settings):
    # A file of a few hundred bytes is "big" here.
    return settings.with_overrides(import_sync_max_bytes=200, staff_import_result_ttl_minutes=30)


def _import(client, headers, data, query=""):
    return client.post(
        f"/api/v1/users/import{query}",
        data={"file": (io.BytesIO(data), "staff.csv")},
        headers=headers,
        content_type="multipart/form-data",
    )


def test_a_big_staff_file_is_a_job_whose_result_holds_the_one_time_passwords(
    client, world, auth_header, db
):
    admin = auth_header(world.admin)
    data = _staff_csv(_staff_rows(world))
    assert len(data) > 200
    job = poll(client, _import(client, admin, data), admin)

    assert job["kind"] == "staff_import" and job["state"] == "succeeded", job
    assert job["summary"] == {
        "mode": "atomic", "committed": True, "total": 5, "created": 5, "failed": 0
    }  # fmt: skip
    assert "one_time_password" not in json.dumps(job)  # the poll answer carries no password
    assert job["result"]["name"] == "账号导入报告.json"
    report = json.loads(download(client, job))
    rows = {r["username"]: r for r in report["rows"]}
    users = {u.username: u for u in db.scalars(select(User).where(User.username.in_(rows)))}
    assert len(users) == 5
    for name, user in users.items():
        assert user.must_change_password and rows[name]["user_id"] == user.id
        assert verify_password(user.password_hash, rows[name]["one_time_password"])
    # The uploaded file is not kept once the job is done.
    ctx = client.application.extensions["mashangcha"]
    assert list(ctx.storage.iter_objects("jobs/inputs/")) == []


def test_the_passwords_report_is_kept_for_less_time_than_other_results(
    client, world, auth_header, ctx
):
    admin = auth_header(world.admin)
    job = poll(client, _import(client, admin, _staff_csv(_staff_rows(world))), admin)
    with ctx.read() as uow:
        row = uow.session.get(Job, job["id"])
        kept = row.result_expires_at - row.finished_at
        key = row.result_key
    assert kept == timedelta(minutes=30)  # STAFF_IMPORT_RESULT_TTL_MINUTES, not 24 hours

    with ctx.uow() as uow:
        uow.session.get(Job, job["id"]).result_expires_at = ctx.now() - timedelta(seconds=1)
        uow.commit()
    assert running.collect(ctx) == 1
    assert not ctx.storage.exists(key)
    after = client.get(f"/api/v1/jobs/{job['id']}", headers=admin).json
    assert after["result"] is None and after["result_expired"] is True


def test_only_the_creator_sees_the_staff_import_job_even_another_admin_gets_404(
    client, world, auth_header, db
):
    admin = auth_header(world.admin)
    job = poll(client, _import(client, admin, _staff_csv(_staff_rows(world))), admin)
    other_admin = auth_header(make_user(db, Role.ADMIN, username="admin-two"))
    db.commit()
    assert_error(client.get(f"/api/v1/jobs/{job['id']}", headers=other_admin), 404, "job_not_found")
    listed = client.get("/api/v1/jobs", headers=other_admin).json
    assert job["id"] not in [j["id"] for j in listed["items"]]
    # The link itself is signed and short-lived: a tampered one is refused.
    link = urlsplit(job["result"]["url"])
    assert client.get(f"{link.path}?{link.query}x").status_code in (403, 404)


def test_an_atomic_staff_job_with_bad_rows_writes_nothing_and_reports_why(
    client, world, auth_header, db
):
    admin = auth_header(world.admin)
    before = db.scalar(select(User.id).order_by(User.id.desc()).limit(1))
    data = _staff_csv(_staff_rows(world) + _bad_rows(world))
    job = poll(client, _import(client, admin, data), admin)
    assert job["state"] == "succeeded"
    assert job["summary"]["committed"] is False and job["summary"]["failed"] == 5
    report = json.loads(download(client, job))
    assert all(r["one_time_password"] is None for r in report["rows"])
    assert db.scalar(select(User.id).order_by(User.id.desc()).limit(1)) == before


def test_a_small_staff_file_still_answers_directly_unless_asked_for_a_job(
    client, world, auth_header
):
    admin = auth_header(world.admin)
    small = _staff_csv(_staff_rows(world)[:1])
    assert len(small) <= 200
    direct = _import(client, admin, small)
    assert direct.status_code == 200 and direct.json["created"] == 1
    asked = _import(client, admin, _staff_csv(_staff_rows(world)[1:2]), "?async=1")
    assert poll(client, asked, admin)["summary"]["created"] == 1


def test_only_admins_may_start_a_staff_import_job(client, world, auth_header, db):
    data = _staff_csv(_staff_rows(world))
    assert_error(_import(client, auth_header(world.district_supervisor), data), 403)
    assert db.scalar(select(Job.id)) is None


# --- a consumer that dies: the accounts and their report are kept together ------------


class ConsumerDied(BaseException):
    """The consumer process ends here: nothing after this line runs, nothing is caught."""


@pytest.fixture
def queue(ctx):
    recorder = RecordingQueue()
    ctx.adapters[QUEUE] = recorder
    return recorder


def _queued_staff_job(client, admin, world, queue):
    response = _import(client, admin, _staff_csv(_staff_rows(world)))
    assert response.status_code == 202 and response.json["state"] == "queued"
    return queue.jobs[-1]


def _retry_after_silence(ctx, job_id):
    with ctx.uow() as uow:
        uow.session.get(Job, job_id).heartbeat_at = ctx.now() - timedelta(minutes=10)
        uow.commit()
    return running.reap(ctx)


def _assert_one_complete_report(client, admin, db, job_id):
    job = client.get(f"/api/v1/jobs/{job_id}", headers=admin).json
    assert job["state"] == "succeeded", job
    assert job["summary"]["created"] == 5 and job["summary"]["failed"] == 0
    assert job["progress"]["done"] == job["progress"]["total"] == 5
    report = json.loads(download(client, job))
    rows = {r["username"]: r for r in report["rows"]}
    assert len(rows) == 5 and all(r["action"] == "created" for r in rows.values())
    users = db.scalars(select(User).where(User.username.in_(rows))).all()
    assert sorted(u.username for u in users) == sorted(rows)  # each account once
    for user in users:
        assert rows[user.username]["user_id"] == user.id
        assert verify_password(user.password_hash, rows[user.username]["one_time_password"])
    return job


def test_a_consumer_dying_before_the_accounts_and_report_commit_leaves_neither_retry_imports(
    client, world, auth_header, ctx, db, queue, monkeypatch
):
    admin = auth_header(world.admin)
    job_id = _queued_staff_job(client, admin, world, queue)
    keep_result = running.keep_result

    def dies_before_commit(*args):
        keep_result(*args)  # the report's object and the job row are written, not committed
        raise ConsumerDied()

    monkeypatch.setattr(running, "keep_result", dies_before_commit)
    with pytest.raises(ConsumerDied):
        running.run_job(ctx, job_id)
    monkeypatch.undo()
    db.expire_all()
    assert db.scalar(select(User).where(User.username == "zhang.wei")) is None
    assert db.get(Job, job_id).state.value == "running"  # until the reaper finds it silent

    assert _retry_after_silence(ctx, job_id) == running.ReapReport(retried=1)
    # What the dead attempt wrote to storage (passwords of accounts never made) is gone.
    assert list(ctx.storage.iter_objects(f"jobs/{job_id}/1/")) == []
    running.run_job(ctx, queue.jobs[-1])
    job = _assert_one_complete_report(client, admin, db, job_id)
    assert job["attempts"] == 2
    assert [o.key for o in ctx.storage.iter_objects(f"jobs/{job_id}/")] == [
        f"jobs/{job_id}/2/staff-import-report.json"
    ]


def test_a_consumer_dying_after_the_commit_leaves_a_finished_job_no_retry_imports_again(
    client, world, auth_header, ctx, db, queue, monkeypatch
):
    admin = auth_header(world.admin)
    job_id = _queued_staff_job(client, admin, world, queue)

    def dies(*args):
        raise ConsumerDied()

    monkeypatch.setattr(running, "_drop_input", dies)  # the first step after the commit
    with pytest.raises(ConsumerDied):
        running.run_job(ctx, job_id)
    monkeypatch.undo()
    assert _retry_after_silence(ctx, job_id) == running.ReapReport()  # it finished
    running.run_job(ctx, job_id)  # the message delivered again: the job is not run again
    job = _assert_one_complete_report(client, admin, db, job_id)
    assert job["attempts"] == 1
    assert running.collect(ctx) == 1  # the input the dead consumer did not delete


def test_an_attempt_taken_over_by_a_retry_writes_no_account(
    client, world, auth_header, ctx, db, queue, monkeypatch
):
    admin = auth_header(world.admin)
    job_id = _queued_staff_job(client, admin, world, queue)
    keep_result = running.keep_result

    def silent_too_long(*args):
        # This consumer stalled past JOB_STALE_AFTER_SECONDS: the job was queued again and
        # another attempt claimed it before this one reached its commit.
        with ctx.uow() as uow:
            uow.session.execute(
                update(Job).where(Job.id == job_id).values(attempts=Job.attempts + 1)
            )
            uow.commit()
        keep_result(*args)

    monkeypatch.setattr(running, "keep_result", silent_too_long)
    running.run_job(ctx, job_id)
    db.expire_all()
    assert db.scalar(select(User).where(User.username == "zhang.wei")) is None
    assert list(ctx.storage.iter_objects(f"jobs/{job_id}/")) == []
