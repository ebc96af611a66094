"""月度通报 as PDF and DOCX: every figure equals the statistics API's for the same region and
month (and the month before, and a year before), on the hand-counted dataset of
test_statistics."""

from __future__ import annotations

import io

from docx import Document

from tests.api.helpers import assert_error
from tests.api.test_statistics import data  # noqa: F401 (the dataset, as a fixture)
from tests.pdf_tools import pdf_text, render_pages

OCTOBER = "from=2026-10-01&to=2026-10-31"
SEPTEMBER = "from=2026-09-01&to=2026-09-30"
A_YEAR_AGO = "from=2025-10-01&to=2025-10-31"


def pct(value):
    return "—" if value is None else f"{value * 100:.2f}%"


def _get(client, headers, path):
    answer = client.get(path, headers=headers)
    assert answer.status_code == 200, answer.get_data(as_text=True)[:300]
    return answer


def _stats(client, headers, path):
    return _get(client, headers, f"/api/v1/stats/{path}").get_json()


def test_the_docx_bulletin_prints_the_statistics_figures(client, data, auth_header):  # noqa: F811
    sup = auth_header(data.district_supervisor)
    answer = _get(client, sup, "/api/v1/stats/bulletins/monthly.docx?month=2026-10")
    assert "monthly-bulletin-" in answer.headers["Content-Disposition"]
    document = Document(io.BytesIO(answer.data))
    october = _stats(client, sup, f"summary?{OCTOBER}")["figures"]
    september = _stats(client, sup, f"summary?{SEPTEMBER}")["figures"]
    year_ago = _stats(client, sup, f"summary?{A_YEAR_AGO}")["figures"]
    major = _stats(client, sup, f"summary?{OCTOBER}&level=major")["figures"]
    ranking = _stats(client, sup, f"ranking?{OCTOBER}")["rows"]

    text = "\n".join(p.text for p in document.paragraphs)
    assert "测试区安全生产隐患排查治理月度通报" in text and "（2026年10月）" in text
    assert f"2026年10月，测试区共排查上报隐患{october['reported']}条" in text
    assert f"其中重大隐患{major['reported']}条" in text
    assert f"整改率{pct(october['rectification_rate'])}" in text
    assert f"逾期未整改隐患{october['overdue']}条" in text

    headline, ranked, overdue = (
        [[c.text for c in r.cells] for r in t.rows] for t in document.tables
    )
    rows = {r[0]: r for r in headline[1:]}
    assert rows["上报隐患（条）"][1:3] == [str(october["reported"]), str(september["reported"])]
    assert rows["上报隐患（条）"][4] == str(year_ago["reported"])
    assert rows["已销号（条）"][1:3] == [str(october["closed"]), str(september["closed"])]
    assert rows["整改率"][1:3] == [
        pct(october["rectification_rate"]),
        pct(september["rectification_rate"]),
    ]
    assert rows["按期整改率"][1] == pct(october["on_time_rate"])
    assert rows["检查覆盖率"][1] == pct(october["coverage"])
    assert rows["当前逾期（条）"][1] == str(october["overdue"])

    assert [r[1] for r in ranked[1:]] == [r["unit_name"] for r in ranking]
    assert [r[3] for r in ranked[1:]] == [pct(r["figures"]["rectification_rate"]) for r in ranking]
    rates = {r["unit_name"]: r["figures"]["rectification_rate"] for r in ranking}
    best, worst = max(rates, key=rates.get), min(rates, key=rates.get)
    assert (
        f"整改率最高的是{best}（{pct(rates[best])}），最低的是{worst}（{pct(rates[worst])}）"
        in text
    )

    # The overdue 重大 hazard: deadline 30 October, 11 days overdue on 10 November.
    majors = _stats(client, sup, f"major-hazards?{OCTOBER}")["items"]
    late = [m for m in majors if m["overdue"]]
    assert [r[0] for r in overdue[1:]] == [m["number"] for m in late] and len(late) == 1
    assert overdue[1][2:] == ["2026-10-30", "11"]
    assert len(document.inline_shapes) == 2  # the trend and the ranking charts


def test_the_pdf_bulletin_says_the_same_and_renders(client, data, auth_header):  # noqa: F811
    sup = auth_header(data.district_supervisor)
    answer = _get(client, sup, "/api/v1/stats/bulletins/monthly.pdf?month=2026-10")
    assert answer.mimetype == "application/pdf"
    text = "".join(pdf_text(answer.data)).replace("\n", "").replace(" ", "")
    october = _stats(client, sup, f"summary?{OCTOBER}")["figures"]
    assert f"共排查上报隐患{october['reported']}条" in text
    assert f"整改率{pct(october['rectification_rate'])}" in text
    assert "三、逾期重大隐患" in text and "四、工作要求" in text
    pages = render_pages(answer.data, dpi=50)
    assert len(pages) == len(pdf_text(answer.data)) >= 1


def test_the_default_month_is_last_month(client, data, auth_header):  # noqa: F811
    sup = auth_header(data.district_supervisor)
    answer = _get(client, sup, "/api/v1/stats/bulletins/monthly.docx")  # now: 10 November
    assert "2026-10" in answer.headers["Content-Disposition"]


def test_bulletins_are_scoped_like_the_statistics(client, data, auth_header):  # noqa: F811
    path = "/api/v1/stats/bulletins/monthly.pdf?month=2026-10"
    assert_error(client.get(path, headers=auth_header(data.reporter)), 403)
    other = f"{path}&region_id={data.street_b.id}"
    assert_error(client.get(other, headers=auth_header(data.street_supervisor)), 404)
    for month in ("2026-13", "0001-05", "2026-1"):
        bad = f"/api/v1/stats/bulletins/monthly.pdf?month={month}"
        answer = client.get(bad, headers=auth_header(data.admin))
        assert "month" in assert_error(answer, 422)["errors"], month
