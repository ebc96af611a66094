"""Many app boxes behave as one (issue 20): two gunicorn boxes (2 workers each), two job
consumers, one Redis, SeaweedFS for objects and PostgreSQL, as a province deploys them.

Requests alternate between the boxes: a password changed on A revokes tokens on B; the
login lockout and the rate limits count across boxes; an Idempotency-Key retried on the
other box replays; a job asked of A is polled on B and run by whichever consumer is free;
periodic work runs once per period, not once per consumer; a photo uploaded through A is
served through B.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote

import pytest
import redis
import requests
from sqlalchemy import select
from sqlalchemy.orm import Session

import qr
from service.core.db import make_engine
from service.jobs.models import PeriodicClaim
from service.notifications.models import Notification
from service.qrcodes.models import QrCode
from tests.boxes import box_environment, consumer, gunicorn, tails, wait_for
from tests.conftest import TEST_SECRET
from tests.factories import PASSWORD, build_world
from tests.fixtures_seaweed import Seaweed
from tests.hostile import plain_jpeg
from tests.livedb import throwaway_database
from uploads_schema.vocabulary import NotificationKind, NotificationStatus, QrStatus

pytestmark = pytest.mark.postgres_only

REDIS_URL = "redis://127.0.0.1:6379/13"  # a database of these tests' own, emptied first
CODES = 60
PART = 10
SCANS_A_MINUTE = 8
ERROR_KEYS = {"status", "code", "message", "message_en", "errors"}
_addresses = itertools.count(1)


@dataclass
class Province:
    boxes: list[str]  # base URLs of box A and box B
    consumers: list  # tests.boxes.Process, one per consumer
    database_url: str
    world: object
    token: str  # a QR token
    seaweed: str  # the S3 endpoint, host:port


@pytest.fixture(scope="module")
def province(
    request: pytest.FixtureRequest, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Province]:
    if not database_url.startswith("postgresql"):
        pytest.skip("many boxes share one PostgreSQL database (DATABASE_URL names none)")
    seaweed: Seaweed = request.getfixturevalue("seaweed")  # started only when it will be used
    try:
        store = redis.Redis.from_url(REDIS_URL)
        store.flushdb()
    except redis.RedisError as exc:
        pytest.fail(f"Redis on 127.0.0.1:6379 is needed for the many-boxes test: {exc}")
    folder = tmp_path_factory.mktemp("province")
    with throwaway_database(database_url, "boxes") as url:
        engine = make_engine(url)
        with Session(engine, expire_on_commit=False) as session:
            world = build_world(session)
            codes = [
                QrCode(token=qr.new_token(), enterprise_id=world.enterprise_a.id,
                       status=QrStatus.ACTIVE)
                for _ in range(CODES)
            ]  # fmt: skip
            session.add_all(codes)
            session.commit()
            token = codes[0].token
        engine.dispose()
        env = box_environment(
            {
                "DATABASE_URL": url,
                "SECRET_KEY": TEST_SECRET,
                "REDIS_URL": REDIS_URL,
                # A queue of this run's own: a consumer of another run (a suite killed
                # midway, or one running beside this) must not take this run's jobs.
                "JOBS_QUEUE_NAME": f"boxes-{uuid.uuid4().hex[:12]}",
                "STORAGE_BACKEND": "minio",
                "MINIO_ENDPOINT": seaweed.endpoint,
                "MINIO_ACCESS_KEY": seaweed.access_key,
                "MINIO_SECRET_KEY": seaweed.secret_key,
                "MINIO_REGION": seaweed.region,
                "MINIO_BUCKET": "province",
                "TRUST_PROXY_HOPS": "1",
                "RATELIMIT_SCAN": f"{SCANS_A_MINUTE}/minute",
                "POSTERS_SYNC_MAX": "10",
                "POSTER_PART_PAGES": str(PART),
            }
        )
        with (
            gunicorn("box-a", env, folder) as a,
            gunicorn("box-b", env, folder) as b,
            consumer("consumer-a", env, folder) as ca,
            consumer("consumer-b", env, folder) as cb,
        ):
            yield Province([a, b], [ca, cb], url, world, token, seaweed.endpoint)
        store.flushdb()


def call(
    base: str, method: str, path: str, *, client: str | None = None, **kw: object
) -> requests.Response:
    """One request on a fresh connection, from a client address of its own unless given."""
    if client is None:
        n = next(_addresses)
        client = f"10.{n // 250 % 250}.{n % 250}.9"
    headers = {"Connection": "close", "X-Forwarded-For": client, **kw.pop("headers", {})}
    return requests.request(method, base + path, headers=headers, timeout=60, **kw)  # type: ignore[arg-type]


def alternate(province: Province) -> Iterator[str]:
    return itertools.cycle(province.boxes)


def login(base: str, username: str, password: str = PASSWORD) -> requests.Response:
    return call(
        base, "POST", "/api/v1/auth/login", json={"username": username, "password": password}
    )


def bearer(base: str, username: str) -> dict[str, str]:
    answer = login(base, username)
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def error(response: requests.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == ERROR_KEYS and body["code"] == code, body
    return body


def test_a_password_changed_on_one_box_revokes_tokens_on_the_other(province):
    a, b = province.boxes
    world = province.world
    street = bearer(b, world.street_supervisor.username)
    assert call(b, "GET", "/api/v1/stats/summary", headers=street).status_code == 200
    admin = bearer(a, world.admin.username)
    changed = call(
        a, "PATCH", f"/api/v1/users/{world.street_supervisor.id}",
        json={"password": "a-new-password-123"}, headers=admin,
    )  # fmt: skip
    assert changed.status_code == 200, changed.text
    for base in (b, a, b):
        error(call(base, "GET", "/api/v1/stats/summary", headers=street), 401, "unauthenticated")
    assert login(b, world.street_supervisor.username, "a-new-password-123").status_code == 200


def test_the_login_lockout_counts_failures_on_every_box(province):
    boxes = alternate(province)
    name = province.world.inspector.username
    for _ in range(5):
        error(login(next(boxes), name, "wrong-password"), 401, "invalid_credentials")
    for _ in range(4):  # locked on both boxes, even with the right password
        error(login(next(boxes), name), 429, "login_locked")


def test_a_rate_limit_counts_requests_on_every_box(province):
    boxes = alternate(province)
    client = "10.250.1.1"
    for _ in range(SCANS_A_MINUTE):
        answer = call(next(boxes), "GET", f"/api/v1/scan/{province.token}", client=client)
        assert answer.status_code == 200, answer.text
    for _ in range(2):
        answer = call(next(boxes), "GET", f"/api/v1/scan/{province.token}", client=client)
        error(answer, 429, "rate_limited")
    # Another address is not limited by this one's scans.
    assert call(next(boxes), "GET", f"/api/v1/scan/{province.token}").status_code == 200


def test_a_photo_uploaded_through_one_box_is_served_through_the_other(province):
    a, b = province.boxes
    officer = province.world.officer.username
    photo = call(
        a, "POST", "/api/v1/media", headers=bearer(a, officer),
        files={"file": ("p.jpg", plain_jpeg(), "image/jpeg")},
    )  # fmt: skip
    assert photo.status_code == 201, photo.text
    served = call(
        b, "GET", f"/api/v1/media/{photo.json()['id']}", headers=bearer(b, officer),
        allow_redirects=False,
    )  # fmt: skip
    assert served.status_code == 302
    link = served.headers["Location"]
    assert link.startswith(f"http://{province.seaweed}/province/media/")
    fetched = requests.get(link, timeout=10)
    assert fetched.status_code == 200 and fetched.headers["Content-Type"] == "image/jpeg"
    assert hashlib.sha256(fetched.content).hexdigest() == photo.json()["sha256"]


def test_an_idempotency_key_retried_on_the_other_box_replays(province):
    a, b = province.boxes
    world = province.world
    officer_a, officer_b = (bearer(base, world.officer.username) for base in (a, b))
    media = call(
        a, "POST", "/api/v1/media", headers=officer_a,
        files={"file": ("h.jpg", plain_jpeg(320, 240), "image/jpeg")},
    ).json()["id"]  # fmt: skip
    body = {
        "enterprise_id": world.enterprise_a.id,
        "category": "electrical",
        "description": "配电箱门未关闭",
        "media_ids": [media],
    }
    key = {"Idempotency-Key": "many-boxes-report-1"}
    first = call(a, "POST", "/api/v1/hazards", json=body, headers={**officer_a, **key})
    assert first.status_code == 201, first.text
    again = call(b, "POST", "/api/v1/hazards", json=body, headers={**officer_b, **key})
    assert again.status_code == 201, again.text
    assert again.json()["hazard"]["id"] == first.json()["hazard"]["id"]
    listed = call(b, "GET", "/api/v1/hazards", headers=officer_b).json()
    assert [h["id"] for h in listed["items"]].count(first.json()["hazard"]["id"]) == 1


def test_a_job_asked_of_one_box_is_polled_on_the_other_and_run_by_both_consumers(province):
    a, b = province.boxes
    admin_a, admin_b = (bearer(base, province.world.admin.username) for base in (a, b))
    asked = call(a, "GET", "/api/v1/qrcodes/posters.pdf", headers=admin_a)
    assert asked.status_code == 202, asked.text
    location = asked.headers["Location"]

    seen: list[dict] = []

    def finished() -> dict | None:
        job = call(b, "GET", location, headers=admin_b).json()
        seen.append(job)
        return job if job["state"] in ("succeeded", "failed") else None

    def explain() -> str:
        return f"the job as last seen: {seen[-1:]}\n{tails(province.consumers)}"

    job = wait_for(finished, timeout=120, every=0.3, explain=explain)
    assert job["state"] == "succeeded", job
    assert job["progress"]["done"] == CODES
    assert job["result"]["url"].startswith(f"http://{province.seaweed}/province/jobs/")
    pdf = requests.get(job["result"]["url"], timeout=30)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    # Saved under the job's Chinese name, which the store answers from the signed link.
    named = pdf.headers["Content-Disposition"].partition("filename*=UTF-8''")[2]
    assert unquote(named) == job["result"]["name"]
    assert job["result"]["name"].startswith("二维码海报")
    # Box A's own answer is the same job; another user is told there is none.
    assert call(a, "GET", location, headers=admin_a).json()["id"] == job["id"]
    street = bearer(a, province.world.district_supervisor.username)
    error(call(a, "GET", location, headers=street), 404, "job_not_found")
    parts = [
        re.findall(rf"job {job['id']} part (\d+): {PART} pages", c.output())
        for c in province.consumers
    ]
    assert sorted(int(i) for found in parts for i in found) == list(range(CODES // PART))
    assert all(parts), parts  # each consumer took parts while the other was busy


def test_periodic_work_runs_once_per_period_however_many_consumers_schedule_it(province):
    engine = make_engine(province.database_url)

    def delivered() -> Notification | None:
        with Session(engine) as session:
            found = session.scalar(
                select(Notification).where(Notification.dedup_key == "many-boxes-1")
            )
            return found if found.status is not NotificationStatus.PENDING else None

    try:
        with Session(engine) as session:
            session.add(
                Notification(
                    kind=NotificationKind.ASSIGNED, recipient_id=province.world.inspector.id,
                    payload={"number": "YH-BOXES-1"}, status=NotificationStatus.PENDING,
                    attempts=0, next_attempt_at=datetime.now(UTC) - timedelta(minutes=1),
                    dedup_key="many-boxes-1",
                )
            )  # fmt: skip
            session.commit()
        # Each consumer's scheduler enqueues outbox_send once a minute.
        sent = wait_for(delivered, timeout=90, every=1)
        assert sent.status is NotificationStatus.SENT and sent.attempts == 1
        time.sleep(2)  # the consumers' log lines are written in batches
        with Session(engine) as session:
            claims = list(
                session.scalars(select(PeriodicClaim).where(PeriodicClaim.task == "outbox_send"))
            )
    finally:
        engine.dispose()
    logs = [c.output() for c in province.consumers]
    for log in logs:  # both schedulers enqueued it …
        assert re.search(r"Enqueueing periodic task \S*periodic\.outbox_send", log), log[-3000:]
    ran = re.findall(r"periodic outbox_send (\S+):", "".join(logs))
    # … and each period ran on one consumer only.
    assert sorted(ran) == sorted(c.period for c in claims) and len(set(ran)) == len(ran), ran
    delivered_lines = re.findall(r"notification assigned for hazard YH-BOXES-1", "".join(logs))
    assert len(delivered_lines) == 1, delivered_lines
