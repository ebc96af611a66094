"""Documents as jobs, filed on schedule, found by the console (issue 21): a 通报 asked as a job
is the file the direct download answers; the daily build files one document per region and
period however often it runs and tells each supervisor once; the list and the files are
scoped to the supervisor's subtree. On the hand-counted dataset of test_statistics."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest
from docx import Document
from sqlalchemy import func, select

from service.documents import filing
from service.documents.models import FiledDocument
from service.jobs import periodic
from service.jobs.models import Job
from service.notifications import delivery
from service.notifications.models import Notification
from tests.api.helpers import assert_error
from tests.api.test_jobs import download, poll
from tests.api.test_statistics import data  # noqa: F401 (the dataset, as a fixture)
from tests.factories import make_user
from uploads_schema.vocabulary import DocumentKind, NotificationKind, NotificationStatus, Role

# 04:00 on Tuesday 1 December 2026 in China: the daily build's moment (20:00 UTC).
DECEMBER_1ST = datetime(2026, 11, 30, 20, 0, tzinfo=UTC)
DECEMBER_2ND = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)
ITEM_KEYS = {"id", "kind", "region", "period", "title", "made_at", "files"}


def _docx_content(blob: bytes) -> list:
    document = Document(io.BytesIO(blob))
    paragraphs = [p.text for p in document.paragraphs]
    tables = [[[c.text for c in r.cells] for r in t.rows] for t in document.tables]
    return [paragraphs, tables]


def _follow(client, link: str) -> bytes:
    """Fetch a file through its link (local storage: the app's signed route)."""
    parts = urlsplit(link)
    with client.get(f"{parts.path}?{parts.query}") as answer:
        assert answer.status_code == 200
        return answer.data


# --- as a job ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/stats/bulletins/monthly.pdf?month=2026-10",
        "/api/v1/stats/bulletins/weekly.pdf?week=2026-W42",
        "/api/v1/stats/bulletins/quarterly.pdf?quarter=2026-Q4",
    ],
)
def test_a_bulletin_asked_as_a_job_is_the_file_the_direct_download_answers(
    client,
    data,  # noqa: F811
    auth_header,
    path,
):
    sup = auth_header(data.district_supervisor)
    direct = client.get(path, headers=sup)
    assert direct.status_code == 200 and direct.mimetype == "application/pdf"
    job = poll(client, client.get(path + "&async=1", headers=sup), sup)
    assert job["kind"] == "document" and job["state"] == "succeeded", job
    assert job["result"]["content_type"] == "application/pdf"
    assert job["result"]["name"].endswith(".pdf")
    assert download(client, job) == direct.data


def test_the_word_bulletin_as_a_job_says_what_the_direct_one_says(
    client,
    data,  # noqa: F811
    auth_header,
):
    sup = auth_header(data.district_supervisor)
    path = "/api/v1/stats/bulletins/monthly.docx?month=2026-10"
    direct = client.get(path, headers=sup)
    job = poll(client, client.get(path + "&async=1", headers=sup), sup)
    assert job["result"]["name"] == "月度通报-测试区-2026-10.docx"
    assert _docx_content(download(client, job)) == _docx_content(direct.data)


def test_a_bulletin_of_a_region_above_the_threshold_is_a_job_without_asking(
    client,
    data,  # noqa: F811
    auth_header,
    ctx,
    db,
):
    sup = auth_header(data.district_supervisor)
    ctx.settings = ctx.settings.with_overrides(bulletin_sync_max_enterprises=2)
    district = "/api/v1/stats/bulletins/weekly.docx?week=2026-W42"
    job = poll(client, client.get(district, headers=sup), sup)  # three enterprises: a job
    assert job["state"] == "succeeded" and job["result"]["name"] == "周统计-测试区-2026-W42.docx"
    street = f"{district}&region_id={data.street_b.id}"  # one enterprise: the file
    assert client.get(street, headers=sup).status_code == 200
    # Refused at once, not as a failed job: outside the scope, a reporter, a bad period.
    jobs_before = db.scalar(select(func.count(Job.id)))
    street_sup = auth_header(data.street_supervisor)
    assert_error(client.get(f"{street}&async=1", headers=street_sup), 404)
    assert_error(client.get(f"{district}&async=1", headers=auth_header(data.reporter)), 403)
    answer = client.get(
        "/api/v1/stats/bulletins/quarterly.pdf?quarter=9999-Q4&async=1", headers=sup
    )
    assert "quarter" in assert_error(answer, 422)["errors"]
    assert db.scalar(select(func.count(Job.id))) == jobs_before


# --- filed on schedule ------------------------------------------------------------------------


def _filed(db):
    return db.execute(
        select(FiledDocument.region_id, FiledDocument.kind, FiledDocument.period).order_by(
            FiledDocument.region_id, FiledDocument.kind
        )
    ).all()


def _told(db):
    return db.execute(
        select(Notification.recipient_id, Notification.payload).where(
            Notification.kind == NotificationKind.DOCUMENT_FILED
        )
    ).all()


def test_the_daily_build_files_one_document_per_region_and_period_even_when_run_twice(
    client,
    data,  # noqa: F811
    ctx,
    db,
):
    ctx.clock = lambda: DECEMBER_1ST
    outcome = periodic.run_once(ctx, "documents_build", DECEMBER_1ST)
    assert outcome == "6 documents filed, 0 already filed, 0 failed"
    # Another consumer asking for the same day's run finds it claimed.
    assert periodic.run_once(ctx, "documents_build", DECEMBER_1ST) is None
    supervised = sorted([data.district.id, data.street_a.id])  # street B has no supervisor
    periods = {"monthly": "2026-11", "weekly": "2026-W48", "quarterly": "2026-Q3"}
    expected = sorted((r, DocumentKind(k), p) for r in supervised for k, p in periods.items())
    assert sorted(_filed(db)) == expected
    # The next day's run finds them filed: one per region and period.
    ctx.clock = lambda: DECEMBER_2ND
    assert filing.build_due(ctx).filed == 0
    assert sorted(_filed(db)) == expected

    told = _told(db)
    assert sorted(r for r, _ in told) == sorted(
        [data.district_supervisor.id] * 3 + [data.street_supervisor.id] * 3
    )
    monthly = next(
        p for r, p in told if r == data.street_supervisor.id and p["period"] == "2026-11"
    )
    assert monthly["title"] == "甲街道安全生产隐患排查治理月度通报（2026年11月）"
    assert monthly["region"] == "甲街道" and monthly["document_kind"] == "monthly"

    # Rebuilding replaces the files (the earlier ones are deleted) and tells nobody again.
    document = db.scalar(
        select(FiledDocument).where(
            FiledDocument.region_id == data.district.id, FiledDocument.kind == "monthly"
        )
    )
    before = {document.pdf_key, document.docx_key}
    result = client.application.test_cli_runner().invoke(
        args=["documents", "build", "--kind", "monthly", "--period", "2026-11"]
    )
    assert result.exit_code == 0, result.output
    assert "monthly 2026-11: 0 filed, 2 replaced, 0 supervisors notified" in result.output
    db.expire_all()
    assert sorted(_filed(db)) == expected and len(_told(db)) == 6
    document = db.get(FiledDocument, document.id)
    after = {document.pdf_key, document.docx_key}
    assert after != before  # made on the next day: its date differs
    kept = {o.key for o in ctx.storage.iter_objects("documents/")}
    assert before.isdisjoint(kept) and after <= kept and len(kept) == 12


def test_supervisors_are_told_once_in_chinese(client, data, ctx, db):  # noqa: F811
    ctx.clock = lambda: DECEMBER_1ST
    filed = filing.file_document(ctx, data.district.id, DocumentKind.WEEKLY, "2026-W48")
    assert filed.created and filed.notified == 1
    again = filing.file_document(ctx, data.district.id, DocumentKind.WEEKLY, "2026-W48")
    assert not again.created and again.notified == 0 and again.document_id == filed.document_id
    (message,) = db.scalars(
        select(Notification).where(Notification.kind == NotificationKind.DOCUMENT_FILED)
    )
    assert message.recipient_id == data.district_supervisor.id and message.hazard_id is None
    assert delivery.message_data(message) == {
        "character_string1": {"value": "2026-W48"},
        "thing2": {"value": "测试区"},
        "phrase3": {"value": "已生成"},
        "thing5": {"value": "周统计已生成，请到控制台文书中查看"},
    }
    report = delivery.send_pending(ctx, delivery.LogSender())
    assert report.sent == 1
    db.expire_all()
    assert db.get(Notification, message.id).status is NotificationStatus.SENT


def test_the_command_line_refuses_a_malformed_period_in_one_line(client, data):  # noqa: F811
    result = client.application.test_cli_runner().invoke(
        args=["documents", "build", "--kind", "weekly", "--period", "2026-11"]
    )
    assert result.exit_code == 1 and "Error:" in result.output
    assert "Traceback" not in result.output


# --- found by the console ---------------------------------------------------------------------


@pytest.fixture
def filed(data, ctx, db):  # noqa: F811
    ctx.clock = lambda: DECEMBER_1ST
    make_user(db, Role.SUPERVISOR, region_id=data.street_b.id)
    db.commit()
    ids = {}
    for region in (data.district, data.street_a, data.street_b):
        for kind, period in ((DocumentKind.MONTHLY, "2026-10"), (DocumentKind.WEEKLY, "2026-W42")):
            ids[region.name, kind] = filing.file_document(ctx, region.id, kind, period).document_id
    return ids


def test_a_supervisor_finds_their_subtrees_documents_and_another_streets_is_404(
    client,
    data,  # noqa: F811
    filed,
    auth_header,
):
    street = auth_header(data.street_supervisor)
    page = client.get("/api/v1/documents", headers=street).json
    assert page["total"] == 2 and page["page"] == 1 and page["page_size"] == 20
    assert {item["id"] for item in page["items"]} == {
        filed["甲街道", DocumentKind.MONTHLY],
        filed["甲街道", DocumentKind.WEEKLY],
    }
    item = next(i for i in page["items"] if i["kind"] == "monthly")
    assert set(item) == ITEM_KEYS
    assert item["region"] == {"id": data.street_a.id, "name": "甲街道"}
    assert item["period"] == "2026-10"
    assert item["title"] == "甲街道安全生产隐患排查治理月度通报（2026年10月）"
    assert item["made_at"].startswith("2026-11-30T20:00")
    assert set(item["files"]) == {"pdf", "docx"}

    # The filed PDF is the one the street's supervisor downloads for that month.
    direct = client.get("/api/v1/stats/bulletins/monthly.pdf?month=2026-10", headers=street)
    assert _follow(client, item["files"]["pdf"]) == direct.data
    # Saved under the name the direct download gives, not the storage key's.
    link = urlsplit(item["files"]["pdf"])
    with client.get(f"{link.path}?{link.query}") as linked:
        assert linked.headers["Content-Disposition"] == direct.headers["Content-Disposition"]
    answer = client.get(f"/api/v1/documents/{item['id']}/file.docx", headers=street)
    assert answer.status_code == 302 and answer.headers["Cache-Control"] == "private, no-store"
    text = "\n".join(_docx_content(_follow(client, answer.headers["Location"]))[0])
    assert "甲街道安全生产隐患排查治理月度通报" in text

    # Another street's documents do not exist for them.
    other = filed["乙街道", DocumentKind.MONTHLY]
    for fmt in ("pdf", "docx"):
        answer = client.get(f"/api/v1/documents/{other}/file.{fmt}", headers=street)
        assert_error(answer, 404, "document_not_found")
    answer = client.get(f"/api/v1/documents?region_id={data.street_b.id}", headers=street)
    assert_error(answer, 404)
    assert client.get(f"/api/v1/documents/{other}/file.pdf").status_code == 401


def test_the_district_sees_its_streets_documents_with_filters_and_pages(
    client,
    data,  # noqa: F811
    filed,
    auth_header,
):
    district = auth_header(data.district_supervisor)
    listed = client.get("/api/v1/documents", headers=district).json
    assert listed["total"] == 6
    weekly = client.get("/api/v1/documents?kind=weekly&page_size=2", headers=district).json
    assert weekly["total"] == 3 and len(weekly["items"]) == 2
    assert {i["kind"] for i in weekly["items"]} == {"weekly"}
    one = client.get(
        f"/api/v1/documents?region_id={data.street_b.id}&period=2026-10", headers=district
    ).json
    assert [i["id"] for i in one["items"]] == [filed["乙街道", DocumentKind.MONTHLY]]
    none = client.get("/api/v1/documents?period=2026-Q4", headers=district).json
    assert none["total"] == 0 and none["items"] == []
    answer = client.get("/api/v1/documents?period=2026-13", headers=district)
    assert "period" in assert_error(answer, 422)["errors"]
    assert client.get("/api/v1/documents", headers=auth_header(data.admin)).json["total"] == 6
    for role in (data.reporter, data.officer, data.inspector):
        assert_error(client.get("/api/v1/documents", headers=auth_header(role)), 403)


def test_the_daily_build_is_due_at_four_in_the_morning_china_time():
    build = periodic.BY_NAME["documents_build"]
    assert build.due(DECEMBER_1ST) and not build.due(DECEMBER_1ST.replace(hour=0))
    assert build.period(DECEMBER_1ST) == "2026-11-30T20:00Z"
    # A period runs from 20:00 UTC to 20:00 UTC: one run a China day.
    assert build.period(DECEMBER_1ST.replace(hour=23)) == "2026-11-30T20:00Z"
    assert build.period(DECEMBER_2ND) == "2026-12-01T20:00Z"
    assert build.period(DECEMBER_2ND.replace(hour=20)) == "2026-12-02T20:00Z"
    assert periodic.BY_NAME["idempotency_purge"].period(DECEMBER_2ND) == "2026-12-02T00:00Z"


def test_the_wechat_message_of_a_filed_document_names_the_period_and_opens_no_page(
    data,  # noqa: F811
    ctx,
    db,
    fake_wechat,
):
    ctx.clock = lambda: DECEMBER_1ST
    data.district_supervisor.openid = "openid-district-supervisor"
    db.commit()
    filing.file_document(ctx, data.district.id, DocumentKind.MONTHLY, "2026-11")
    fake_wechat.reset()
    sender = delivery.WeChatSubscribeSender(
        fake_wechat.url,
        "wx-test-appid",
        "wx-test-secret",
        {NotificationKind.DOCUMENT_FILED: "tpl-document"},
        "pages/hazard/detail",
        timeout=3.0,
        clock=ctx.now,
    )
    try:
        assert delivery.send_pending(ctx, sender).sent == 1
    finally:
        sender.close()
    (body,) = fake_wechat.messages_to("openid-district-supervisor")
    fake_wechat.reset()
    assert body["template_id"] == "tpl-document" and "page" not in body
    assert body["data"]["character_string1"] == {"value": "2026-11"}
    assert body["data"]["thing5"] == {"value": "月度通报已生成，请到控制台文书中查看"}


def test_a_build_whose_row_is_not_written_leaves_no_files(data, ctx, monkeypatch):  # noqa: F811
    def database_down(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(filing, "_record", database_down)
    with pytest.raises(RuntimeError):
        filing.file_document(ctx, data.district.id, DocumentKind.QUARTERLY, "2026-Q3")
    assert list(ctx.storage.iter_objects("documents/")) == []
