"""Jobs on real consumer processes (`flask jobs consume`) and the embedded queue (a SQLite
file): a big poster job asked of the app is split, its parts run on both consumers, and the
last part assembles the PDF; a job whose consumer was killed is retried by the reaper and
finished by the other; a staff import whose consumer dies just before the commit of its
accounts and report is redone whole by the retry, no password lost. On a database of the
test's own (SQLite or PostgreSQL, as the suite's)."""

from __future__ import annotations

import io
import json
import re
import signal
import sys
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.orm import Session

import qr
from miniprogram_api import create_app
from service.access.auth import issue_token, verify_password
from service.bootstrap import build_context
from service.core.settings import Settings
from service.directory.models import User
from service.jobs import running
from service.jobs.models import Job
from service.qrcodes.models import QrCode
from tests.api.test_staff_accounts import _staff_csv, _staff_rows
from tests.boxes import box_environment, consumer, started, wait_for
from tests.conftest import TEST_SECRET
from tests.factories import build_world
from tests.livedb import throwaway_database
from uploads_schema.vocabulary import QrStatus

CODES = 120
PART = 12  # ten parts


@pytest.fixture(scope="module")
def deployment(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    folder = tmp_path_factory.mktemp("jobs-consumer")
    with throwaway_database(database_url, "jobs") as url:
        values = {
            "DATABASE_URL": url,
            "SECRET_KEY": TEST_SECRET,
            "MEDIA_ROOT": str(folder / "media"),
            "JOBS_QUEUE_FILE": str(folder / "queue.db"),
            "POSTERS_SYNC_MAX": "10",
            "POSTER_PART_PAGES": str(PART),
            "JOB_HEARTBEAT_SECONDS": "1",
            "JOB_STALE_AFTER_SECONDS": "3",
        }
        settings = Settings.from_env({"APP_ENV": "test", **values})
        ctx = build_context(settings)
        engine = ctx.session_factory.kw["bind"]
        with Session(engine, expire_on_commit=False) as session:
            world = build_world(session)
            for i in range(CODES):
                enterprise = (world.enterprise_a, world.enterprise_a2)[i % 2]
                session.add(QrCode(token=qr.new_token(), enterprise_id=enterprise.id,
                                   status=QrStatus.ACTIVE))  # fmt: skip
            session.commit()
        yield {
            "ctx": ctx,
            "client": create_app(context=ctx).test_client(),
            "admin": {"Authorization": f"Bearer {issue_token(ctx, world.admin)}"},
            "env": box_environment(values),
            "folder": folder,
            "region": world.street_a,
            "world": world,
        }
        engine.dispose()
        if ctx.lookup_factory is not None:  # PostgreSQL's pool for lookups
            ctx.lookup_factory.kw["bind"].dispose()


def ask_for_posters(deployment: dict) -> str:
    client, admin = deployment["client"], deployment["admin"]
    url = f"/api/v1/qrcodes/posters.pdf?region_id={deployment['region'].id}"
    response = client.get(url, headers=admin)
    assert response.status_code == 202, response.get_data(as_text=True)
    assert response.json["state"] == "queued"
    return response.headers["Location"]


def finished(deployment: dict, location: str) -> dict | None:
    job = deployment["client"].get(location, headers=deployment["admin"]).json
    return job if job["state"] in ("succeeded", "failed", "cancelled") else None


def pages_of(deployment: dict, job: dict) -> int:
    link = urlsplit(job["result"]["url"])
    with deployment["client"].get(f"{link.path}?{link.query}") as answer:
        assert answer.status_code == 200
        return len(PdfReader(io.BytesIO(answer.data)).pages)


def test_a_big_poster_job_is_split_over_both_consumers_and_merged(deployment):
    env, folder = deployment["env"], deployment["folder"]
    with consumer("consumer-a", env, folder) as a, consumer("consumer-b", env, folder) as b:
        location = ask_for_posters(deployment)
        job = wait_for(lambda: finished(deployment, location), timeout=120)
    assert job["state"] == "succeeded", job
    assert job["progress"] == {"done": CODES, "total": CODES, "message": "已完成"}
    assert pages_of(deployment, job) == CODES
    job_id = job["id"]
    parts = {
        name: re.findall(rf"job {job_id} part (\d+): {PART} pages", p.output())
        for name, p in (("a", a), ("b", b))
    }
    done = sorted(int(i) for found in parts.values() for i in found)
    assert done == list(range(CODES // PART)), parts  # every part once, none twice
    assert parts["a"] and parts["b"], parts  # whichever consumer was free took one


# A consumer that draws a part's first page and stalls there, so the kill lands mid-part
# every time: a real part takes ~0.1 s, and a kill timed from outside sometimes came after
# a whole part was counted, or after the last one (the job then simply finished, nothing
# to retry).
STALLS_MID_PART = """
import sys, time
from service.jobs import kinds
def stalls(ctx, specs, progress, size="A5"):
    progress(1)
    print("stalled mid-part", flush=True)
    time.sleep(600)
kinds.render_poster_part = stalls
from flask.cli import main
sys.argv = ["flask", "jobs", "consume", "--workers", "1", "--no-scheduler"]
main()
"""


def test_a_job_whose_consumer_is_killed_is_retried_and_finished_by_another(deployment):
    env, folder, ctx = deployment["env"], deployment["folder"], deployment["ctx"]
    with started("doomed", [sys.executable, "-c", STALLS_MID_PART], env, folder) as doomed:
        wait_for(lambda: "consuming" in doomed.output(), timeout=30)
        location = ask_for_posters(deployment)
        job_id = int(location.rsplit("/", 1)[1])

        def mid_part() -> bool:
            with ctx.read() as uow:
                job = uow.session.get(Job, job_id)
                # its heartbeat has counted the drawn page: the kill comes mid-part
                return job.state.value == "running" and job.done > 0 and job.parts_done == 0

        wait_for(mid_part, timeout=60, every=0.05, explain=doomed.output)
        assert "stalled mid-part" in doomed.output()
        doomed.process.send_signal(signal.SIGKILL)  # mid-job, no goodbye
        doomed.process.wait()
    with ctx.read() as uow:
        assert uow.session.scalar(select(Job.state).where(Job.id == job_id)).value == "running"
    with consumer("survivor", env, folder, scheduler=False):
        # The survivor draws the other parts of the dead attempt, which cannot finish (its
        # first part's message died with the doomed consumer); silent past
        # JOB_STALE_AFTER_SECONDS, the reaper (a periodic task, run here at once rather than
        # at the next minute) queues it again and the survivor finishes it.
        assert wait_for(lambda: running.reap(ctx).retried, timeout=30, every=0.5) == 1
        job = wait_for(lambda: finished(deployment, location), timeout=60, every=0.5)
    assert job["state"] == "succeeded" and job["attempts"] == 2, job
    assert pages_of(deployment, job) == CODES


# A consumer that writes an import's accounts and its report, then dies before the commit
# (os._exit: no goodbye, no rollback sent; the database drops the transaction).
DIES_BEFORE_COMMIT = """
import os, sys
from service.jobs import running
keep_result = running.keep_result
def dies(*args):
    keep_result(*args)
    print("dying before the commit", flush=True)
    os._exit(9)
running.keep_result = dies
from flask.cli import main
sys.argv = ["flask", "jobs", "consume", "--workers", "1", "--no-scheduler"]
main()
"""


def test_a_staff_import_whose_consumer_dies_before_its_commit_loses_no_password(deployment):
    env, folder, ctx = deployment["env"], deployment["folder"], deployment["ctx"]
    client, admin, world = deployment["client"], deployment["admin"], deployment["world"]
    rows = _staff_rows(world)
    with started("dies", [sys.executable, "-c", DIES_BEFORE_COMMIT], env, folder) as dies:
        response = client.post(
            "/api/v1/users/import?async=1",
            data={"file": (io.BytesIO(_staff_csv(rows)), "staff.csv")},
            headers=admin,
            content_type="multipart/form-data",
        )
        assert response.status_code == 202, response.get_data(as_text=True)
        location = response.headers["Location"]
        assert dies.process.wait(60) == 9, dies.output()
    assert "dying before the commit" in dies.output()
    names = [row[0] for row in rows]
    with ctx.read() as uow:
        assert uow.session.scalars(select(User).where(User.username.in_(names))).all() == []
    with consumer("survivor-2", env, folder, scheduler=False):
        assert wait_for(lambda: running.reap(ctx).retried, timeout=30, every=0.5) == 1
        job = wait_for(lambda: finished(deployment, location), timeout=60, every=0.5)
    assert job["state"] == "succeeded" and job["attempts"] == 2, job
    assert job["summary"]["created"] == len(rows) and job["summary"]["failed"] == 0
    link = urlsplit(job["result"]["url"])
    with client.get(f"{link.path}?{link.query}") as answer:
        report = json.loads(answer.data)
    passwords = {r["username"]: r["one_time_password"] for r in report["rows"]}
    with ctx.read() as uow:
        users = uow.session.scalars(select(User).where(User.username.in_(names))).all()
    assert sorted(u.username for u in users) == sorted(names)  # each account once
    for user in users:
        assert verify_password(user.password_hash, passwords[user.username])
