"""周统计 and 季度排名 as PDF and DOCX: every figure equals the statistics API's for the same
region and period, on the hand-counted dataset of test_statistics (now: 10 November 2026)."""

from __future__ import annotations

import io

from docx import Document

from tests.api.helpers import assert_error
from tests.api.test_statistics import data  # noqa: F401 (the dataset, as a fixture)
from tests.pdf_tools import pdf_text, render_pages

WEEK_42 = "from=2026-10-12&to=2026-10-18"  # Monday to Sunday
WEEK_41 = "from=2026-10-05&to=2026-10-11"
Q4 = "from=2026-10-01&to=2026-12-31"
Q3 = "from=2026-07-01&to=2026-09-30"


def pct(value):
    return "—" if value is None else f"{value * 100:.2f}%"


def _get(client, headers, path):
    answer = client.get(path, headers=headers)
    assert answer.status_code == 200, answer.get_data(as_text=True)[:300]
    return answer


def _stats(client, headers, path):
    return _get(client, headers, f"/api/v1/stats/{path}").get_json()


def _tables(document):
    return [[[c.text for c in r.cells] for r in t.rows] for t in document.tables]


def test_the_weekly_summary_prints_the_statistics_figures(client, data, auth_header):  # noqa: F811
    sup = auth_header(data.district_supervisor)
    answer = _get(client, sup, "/api/v1/stats/bulletins/weekly.docx?week=2026-W42")
    assert "weekly-summary-" in answer.headers["Content-Disposition"]
    assert "2026-W42" in answer.headers["Content-Disposition"]
    document = Document(io.BytesIO(answer.data))
    this = _stats(client, sup, f"summary?{WEEK_42}")["figures"]
    before = _stats(client, sup, f"summary?{WEEK_41}")["figures"]
    ranking = _stats(client, sup, f"ranking?{WEEK_42}")["rows"]
    assert this["reported"] != before["reported"]  # the comparison says something

    text = "\n".join(p.text for p in document.paragraphs)
    assert "测试区隐患排查治理周统计" in text
    assert "2026年第42周，2026-10-12至2026-10-18" in text
    assert f"共排查上报隐患{this['reported']}条" in text
    change = this["reported"] - before["reported"]
    assert f"较上周{'增加' if change > 0 else '减少'}{abs(change)}条" in text
    assert f"整改率{pct(this['rectification_rate'])}" in text
    assert f"逾期未整改隐患{this['overdue']}条" in text

    headline, ranked = _tables(document)
    assert headline[0] == ["指标", "本周", "上周", "环比"]
    rows = {r[0]: r for r in headline[1:]}
    assert rows["上报隐患（条）"][1:3] == [str(this["reported"]), str(before["reported"])]
    assert rows["已销号（条）"][1:3] == [str(this["closed"]), str(before["closed"])]
    assert rows["整改率"][1:3] == [
        pct(this["rectification_rate"]),
        pct(before["rectification_rate"]),
    ]
    assert rows["按期整改率"][1] == pct(this["on_time_rate"])
    assert rows["检查覆盖率"][1] == pct(this["coverage"])
    assert [r[1] for r in ranked[1:]] == [r["unit_name"] for r in ranking] and ranking
    assert [r[2] for r in ranked[1:]] == [str(r["figures"]["reported"]) for r in ranking]
    assert [r[3] for r in ranked[1:]] == [pct(r["figures"]["rectification_rate"]) for r in ranking]


def test_the_weekly_pdf_is_one_page_and_any_day_names_its_week(client, data, auth_header):  # noqa: F811
    sup = auth_header(data.district_supervisor)
    answer = _get(client, sup, "/api/v1/stats/bulletins/weekly.pdf?date=2026-10-18")  # a Sunday
    assert answer.mimetype == "application/pdf"
    assert "2026-W42" in answer.headers["Content-Disposition"]
    pages = pdf_text(answer.data)
    text = "".join(pages).replace("\n", "").replace(" ", "")
    this = _stats(client, sup, f"summary?{WEEK_42}")["figures"]
    assert f"共排查上报隐患{this['reported']}条" in text and "二、各地区排名" in text
    assert len(pages) == len(render_pages(answer.data, dpi=50)) == 1
    # Without a week: last week, Monday 2 to Sunday 8 November.
    answer = _get(client, sup, "/api/v1/stats/bulletins/weekly.docx")
    assert "2026-W45" in answer.headers["Content-Disposition"]
    text = "\n".join(p.text for p in Document(io.BytesIO(answer.data)).paragraphs)
    assert "2026-11-02至2026-11-08" in text


def _rank_changes(now_rows, before_rows):
    before = {
        r["unit_id"]: r["rank"]
        for r in before_rows
        if r["figures"]["rectification_rate"] is not None
    }
    changes = []
    for r in now_rows:
        was = before.get(r["unit_id"])
        if r["figures"]["rectification_rate"] is None:
            changes.append("—")
        elif was is None:
            changes.append("新")
        elif was == r["rank"]:
            changes.append("—")
        else:
            changes.append(f"↑{was - r['rank']}" if was > r["rank"] else f"↓{r['rank'] - was}")
    return changes


def test_the_quarterly_ranking_shows_the_change_in_rank(client, data, auth_header):  # noqa: F811
    sup = auth_header(data.district_supervisor)
    answer = _get(client, sup, "/api/v1/stats/bulletins/quarterly.docx?quarter=2026-Q4")
    assert "quarterly-ranking-" in answer.headers["Content-Disposition"]
    document = Document(io.BytesIO(answer.data))
    text = "\n".join(p.text for p in document.paragraphs)
    assert "测试区隐患排查治理季度排名" in text and "（2026年第4季度）" in text
    now = _stats(client, sup, f"ranking?{Q4}")["rows"]
    before = _stats(client, sup, f"ranking?{Q3}")["rows"]
    (table,) = _tables(document)
    assert table[0] == ["排名", "较上季度", "地区", "整改率", "按期整改率", "逾期", "检查覆盖率"]
    assert [r[2] for r in table[1:]] == [r["unit_name"] for r in now] and len(now) >= 2
    assert [r[0] for r in table[1:]] == [str(r["rank"]) for r in now]
    assert [r[3:] for r in table[1:]] == [
        [
            pct(r["figures"]["rectification_rate"]),
            pct(r["figures"]["on_time_rate"]),
            str(r["figures"]["overdue"]),
            pct(r["figures"]["coverage"]),
        ]
        for r in now
    ]
    changes = [r[1] for r in table[1:]]
    assert changes == _rank_changes(now, before)
    assert "新" in changes  # a street ranked this quarter but not the one before


def test_the_quarterly_pdf_and_the_default_quarter(client, data, auth_header):  # noqa: F811
    sup = auth_header(data.district_supervisor)
    answer = _get(client, sup, "/api/v1/stats/bulletins/quarterly.pdf?quarter=2026-Q4")
    assert answer.mimetype == "application/pdf"
    text = "".join(pdf_text(answer.data)).replace("\n", "").replace(" ", "")
    for row in _stats(client, sup, f"ranking?{Q4}")["rows"]:
        assert row["unit_name"] in text and pct(row["figures"]["coverage"]) in text
    assert len(render_pages(answer.data, dpi=50)) >= 1
    answer = _get(client, sup, "/api/v1/stats/bulletins/quarterly.docx")  # now: 10 November
    assert "2026-Q3" in answer.headers["Content-Disposition"]


def test_weekly_and_quarterly_are_scoped_and_validated(client, data, auth_header):  # noqa: F811
    for path in (
        "/api/v1/stats/bulletins/weekly.pdf?week=2026-W42",
        "/api/v1/stats/bulletins/quarterly.docx?quarter=2026-Q4",
    ):
        assert_error(client.get(path, headers=auth_header(data.reporter)), 403)
        other = f"{path}&region_id={data.street_b.id}"
        assert_error(client.get(other, headers=auth_header(data.street_supervisor)), 404)
    admin = auth_header(data.admin)
    for week in ("2026-W54", "2026-42", "2026-W4", "9999-W52", "0001-W01"):
        answer = client.get(f"/api/v1/stats/bulletins/weekly.docx?week={week}", headers=admin)
        assert "week" in assert_error(answer, 422)["errors"], week
    answer = client.get("/api/v1/stats/bulletins/weekly.docx?week=2025-W53", headers=admin)
    assert "week" in assert_error(answer, 422)["errors"]  # 2025 has 52 ISO weeks (2026 has 53)
    answer = client.get("/api/v1/stats/bulletins/weekly.docx?date=2026-02-30", headers=admin)
    assert "date" in assert_error(answer, 422)["errors"]
    for quarter in ("2026-Q5", "2026-4", "0001-Q1", "9999-Q4"):
        answer = client.get(
            f"/api/v1/stats/bulletins/quarterly.pdf?quarter={quarter}", headers=admin
        )
        assert "quarter" in assert_error(answer, 422)["errors"], quarter
