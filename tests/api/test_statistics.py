"""Statistics against a hand-built dataset whose expected figures are counted in the test."""

import csv
import io
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select, update

from qr import new_token
from service.access.scoping import Actor
from service.inspections.models import Checkin
from service.qrcodes.models import QrCode
from service.statistics import figures as statistics
from service.statistics import rollup
from service.statistics.figures import StatsQuery
from service.statistics.models import hazard_monthly
from tests.api.helpers import assert_error
from tests.factories import make_hazard
from uploads_schema.vocabulary import HazardLevel, HazardStatus, Role

CHINA = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 10, tzinfo=UTC)
OCTOBER = "from=2026-10-01&to=2026-10-31"
S = HazardStatus
HOUR_EDGES = (4, 8, 12, 24, 48, 72, 96, 120, 168, 240, 360, 480, 720, 1080, 1440, 2160, 4320, 8760)


def local(moment: str, hour: int = 9) -> datetime:
    """China time: "2026-10-02" at `hour`, or an exact "2026-10-02 00:30"."""
    day, _, clock = moment.partition(" ")
    y, m, d = (int(x) for x in day.split("-"))
    h, minute = (int(x) for x in clock.split(":")) if clock else (hour, 0)
    return datetime(y, m, d, h, minute, tzinfo=CHINA).astimezone(UTC)


@dataclass
class Spec:
    enterprise: str  # attribute of World
    status: HazardStatus
    created: str
    deadline: str | None = None  # the original deadline, at 18:00
    closed: str | None = None  # at 15:00
    reopens: int = 0
    level: HazardLevel = HazardLevel.GENERAL
    fixed: str | None = None  # the (accepted) fix's submission, at 12:00
    extended: str | None = None  # the current deadline after an approved extension, at 18:00


SPECS = [
    Spec("enterprise_a", S.CLOSED, "2026-10-02", "2026-10-10", "2026-10-05", 0, fixed="2026-10-04"),
    # fixed by the deadline, verified after it: on time
    Spec("enterprise_a", S.CLOSED, "2026-10-03", "2026-10-08", "2026-10-12", 1, fixed="2026-10-08"),
    Spec("enterprise_a2", S.REJECTED, "2026-10-04"),
    Spec("enterprise_a2", S.RECTIFYING, "2026-10-05", "2026-10-20"),
    Spec("enterprise_a", S.VERIFYING, "2026-10-06", "2026-12-01", fixed="2026-11-09"),
    Spec("enterprise_a", S.REPORTED, "2026-10-07"),
    Spec("enterprise_a", S.CLOSED, "2026-09-28", "2026-10-02", "2026-09-30", fixed="2026-09-29"),
    Spec("enterprise_a", S.RECTIFYING, "2026-10-15", "2026-10-30", level=HazardLevel.MAJOR),
    Spec("enterprise_b", S.CLOSED, "2026-10-10", "2026-10-20", "2026-10-11", fixed="2026-10-11"),
    Spec("enterprise_b", S.REJECTED, "2026-10-11"),
    Spec("enterprise_b", S.CLOSED, "2026-11-02", "2026-11-05", "2026-11-03", fixed="2026-11-03"),
    # Edges: 31 October in UTC but 1 November in China; Sunday in UTC but Monday in China;
    # closed exactly on a bucket edge (24 h, 4 h) and just past one (24 h 1 min).
    Spec("enterprise_a", S.REPORTED, "2026-11-01 00:30"),
    Spec("enterprise_a", S.REPORTED, "2026-10-11 23:30"),
    Spec("enterprise_a", S.RECTIFYING, "2026-10-12 00:30", "2026-10-13"),
    Spec(
        "enterprise_a",
        S.CLOSED,
        "2026-10-13 09:00",
        "2026-10-20",
        "2026-10-14 09:00",
        fixed="2026-10-14 08:00",
    ),
    Spec(
        "enterprise_a",
        S.CLOSED,
        "2026-10-20 10:00",
        "2026-10-21",
        "2026-10-20 14:00",
        fixed="2026-10-20 13:00",
    ),
    Spec(
        "enterprise_a",
        S.CLOSED,
        "2026-10-21 08:00",
        "2026-10-22",
        "2026-10-22 08:01",
        fixed="2026-10-22 07:00",
    ),
    # Overdue and on time against the deadlines. Fixed within an approved extension, after
    # the original deadline: late. Rectifying within its extension: not overdue. A fix past
    # the deadline waiting for verification: not overdue (the verifier's turn), and waiting
    # longer than VERIFY_WITHIN_HOURS.
    Spec(
        "enterprise_a",
        S.CLOSED,
        "2026-10-16",
        "2026-10-18",
        "2026-10-24",
        fixed="2026-10-23",
        extended="2026-10-25",
    ),
    Spec("enterprise_a2", S.RECTIFYING, "2026-10-17", "2026-10-19", extended="2026-11-20"),
    Spec("enterprise_b", S.VERIFYING, "2026-10-08", "2026-10-15", fixed="2026-10-16"),
]


@pytest.fixture
def data(db, world, ctx):
    ctx.clock = lambda: NOW
    for spec in SPECS:
        make_hazard(
            db,
            getattr(world, spec.enterprise),
            status=spec.status,
            created_at=local(spec.created),
            deadline=local(spec.extended or spec.deadline, 18) if spec.deadline else None,
            original_deadline=local(spec.deadline, 18) if spec.deadline else None,
            fix_submitted_at=local(spec.fixed, 12) if spec.fixed else None,
            closed_at=local(spec.closed, 15) if spec.closed else None,
            reopen_count=spec.reopens,
            level=spec.level,
            supervised=spec.level is HazardLevel.MAJOR,
        )
    for enterprise, day in ((world.enterprise_a, "2026-10-05"), (world.enterprise_b, "2026-09-20")):
        code = QrCode(token=new_token(), enterprise_id=enterprise.id)
        db.add(code)
        db.flush()
        db.add(
            Checkin(
                qrcode_id=code.id,
                enterprise_id=enterprise.id,
                grid_id=enterprise.grid_id,
                region_path=enterprise.region_path,
                inspector_id=world.inspector.id,
                lat=31.7,
                lng=119.9,
                flagged=False,
                created_at=local(day),
            )
        )
    db.commit()
    return world


def expected(specs, active: int, checked: int, first="2026-10-01", last="2026-10-31"):
    """The figures by plain counting."""
    chosen = [s for s in specs if first <= s.created[:10] <= last]
    closed = [s for s in chosen if s.status is S.CLOSED]
    rejected = sum(s.status is S.REJECTED for s in chosen)
    valid = len(chosen) - rejected
    open_ = [s for s in chosen if s.status in (S.REPORTED, S.RECTIFYING, S.VERIFYING)]
    # 逾期: rectifying past the current deadline; 按期: the accepted fix by the original one
    overdue = sum(
        1
        for s in chosen
        if s.status is S.RECTIFYING and s.deadline and local(s.extended or s.deadline, 18) < NOW
    )
    on_time = sum(1 for s in closed if local(s.fixed, 12) <= local(s.deadline, 18))
    # 待验收 now, and 验收超时: the fix submitted more than VERIFY_WITHIN_HOURS (72) ago
    awaiting = [s for s in chosen if s.status is S.VERIFYING]
    late = sum(1 for s in awaiting if s.fixed and local(s.fixed, 12) < NOW - timedelta(hours=72))
    hours = sorted((local(s.closed, 15) - local(s.created)).total_seconds() / 3600 for s in closed)
    p90 = next(h for i, h in enumerate(hours, 1) if i * 10 >= len(hours) * 9) if hours else None
    # reported as the upper edge of its histogram bucket (the last, open bucket: its lower edge)
    p90_edge = next((e for e in HOUR_EDGES if p90 <= e), HOUR_EDGES[-1]) if hours else None
    return {
        "reported": len(chosen),
        "rejected": rejected,
        "valid": valid,
        "closed": len(closed),
        "open": len(open_),
        "overdue": overdue,
        "awaiting_verification": len(awaiting),
        "verification_late": late,
        "closed_on_time": on_time,
        "rectification_rate": round(len(closed) / valid, 4) if valid else None,
        "on_time_rate": round(on_time / valid, 4) if valid else None,
        "mean_hours_to_close": round(sum(hours) / len(hours), 2) if hours else None,
        "p90_hours_to_close": p90_edge,
        "reopen_count": sum(s.reopens for s in chosen),
        "enterprises_checked": checked,
        "enterprises_active": active,
        "coverage": round(checked / active, 4) if active else None,
    }


STREET_A = [s for s in SPECS if s.enterprise != "enterprise_b"]
STREET_B = [s for s in SPECS if s.enterprise == "enterprise_b"]


def get(client, headers, path):
    response = client.get(path, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_district_summary_matches_plain_counting(client, data, auth_header):
    body = get(client, auth_header(data.district_supervisor), f"/api/v1/stats/summary?{OCTOBER}")
    assert body["scope"]["region_name"] == "测试区"
    assert body["scope"]["from"] == "2026-10-01" and body["scope"]["to"] == "2026-10-31"
    assert body["figures"] == expected(SPECS, active=3, checked=1)


def test_a_street_supervisor_sees_their_street_only(client, data, auth_header):
    headers = auth_header(data.street_supervisor)
    own = get(client, headers, f"/api/v1/stats/summary?{OCTOBER}")
    assert own["figures"] == expected(STREET_A, active=2, checked=1)
    other = client.get(
        f"/api/v1/stats/summary?region_id={data.street_b.id}&{OCTOBER}", headers=headers
    )
    assert_error(other, 404)
    for path in ("ranking", "trend", "major-hazards", "export.csv", "export.xlsx"):
        response = client.get(
            f"/api/v1/stats/{path}?region_id={data.street_b.id}&{OCTOBER}", headers=headers
        )
        assert_error(response, 404)


def test_an_inspector_and_an_officer_get_their_own_scope(client, data, auth_header):
    inspector = get(client, auth_header(data.inspector), f"/api/v1/stats/summary?{OCTOBER}")
    assert inspector["figures"]["reported"] == expected(STREET_A, 2, 1)["reported"]
    officer = get(client, auth_header(data.officer), f"/api/v1/stats/summary?{OCTOBER}")
    only_a = [s for s in SPECS if s.enterprise == "enterprise_a"]
    assert officer["figures"]["reported"] == expected(only_a, 1, 1)["reported"]


def test_reporters_get_no_statistics(client, data, auth_header):
    assert_error(client.get("/api/v1/stats/summary", headers=auth_header(data.reporter)), 403)


def test_filters_narrow_the_figures(client, data, auth_header):
    headers = auth_header(data.district_supervisor)
    major = get(client, headers, f"/api/v1/stats/summary?level=major&{OCTOBER}")["figures"]
    assert (major["reported"], major["overdue"]) == (1, 1)
    by_enterprise = get(
        client, headers, f"/api/v1/stats/summary?enterprise_id={data.enterprise_b.id}&{OCTOBER}"
    )["figures"]
    assert by_enterprise == expected(STREET_B, active=1, checked=0)
    by_grid = get(client, headers, f"/api/v1/stats/summary?grid_id={data.grid_a.id}&{OCTOBER}")
    assert by_grid["figures"] == expected(STREET_A, active=2, checked=1)


def test_ranking_of_a_district_ranks_its_streets(client, data, auth_header):
    headers = auth_header(data.district_supervisor)
    body = get(client, headers, f"/api/v1/stats/ranking?{OCTOBER}")
    assert body["sort"] == "rectification_rate"
    rows = {r["unit_name"]: r for r in body["rows"]}
    assert set(rows) == {"甲街道", "乙街道"}
    assert rows["甲街道"]["figures"] == expected(STREET_A, active=2, checked=1)
    assert rows["乙街道"]["figures"] == expected(STREET_B, active=1, checked=0)
    # 乙: 1 closed of 1 valid beats 甲: 2 of 5
    assert [r["unit_name"] for r in body["rows"]] == ["乙街道", "甲街道"]
    assert [r["rank"] for r in body["rows"]] == [1, 2]
    by_overdue = get(client, headers, f"/api/v1/stats/ranking?sort=overdue&{OCTOBER}")
    assert [r["unit_name"] for r in by_overdue["rows"]] == ["乙街道", "甲街道"]
    # fewer late verifications rank first: 甲 has none late, 乙 one
    by_late = get(client, headers, f"/api/v1/stats/ranking?sort=verification_late&{OCTOBER}")
    assert [r["unit_name"] for r in by_late["rows"]] == ["甲街道", "乙街道"]


def test_ranking_of_a_community_ranks_its_grids(client, data, auth_header):
    body = get(
        client,
        auth_header(data.district_supervisor),
        f"/api/v1/stats/ranking?region_id={data.community_a.id}&{OCTOBER}",
    )
    assert [(r["unit_kind"], r["unit_name"]) for r in body["rows"]] == [("grid", "甲网格")]
    assert body["rows"][0]["figures"]["reported"] == expected(STREET_A, 2, 1)["reported"]


def test_monthly_trend(client, data, auth_header):
    body = get(
        client,
        auth_header(data.district_supervisor),
        "/api/v1/stats/trend?bucket=month&from=2026-09-01&to=2026-11-30",
    )
    points = {p["bucket"]: p["figures"] for p in body["points"]}
    assert set(points) == {"2026-09", "2026-10", "2026-11"}
    for month, last in (
        ("2026-09", "2026-09-30"),
        ("2026-10", "2026-10-31"),
        ("2026-11", "2026-11-30"),
    ):
        want = expected(SPECS, 0, 0, first=f"{month}-01", last=last)
        for name in (
            "reported",
            "rejected",
            "closed",
            "overdue",
            "awaiting_verification",
            "verification_late",
            "closed_on_time",
            "rectification_rate",
            "p90_hours_to_close",
        ):
            assert points[month][name] == want[name], (month, name)


def test_weekly_trend_starts_on_mondays(client, data, auth_header):
    body = get(client, auth_header(data.district_supervisor), f"/api/v1/stats/trend?{OCTOBER}")
    buckets = [p["bucket"] for p in body["points"]]
    assert buckets == sorted(buckets)
    assert all(date.fromisoformat(b).weekday() == 0 for b in buckets)
    assert buckets[0] == "2026-09-28"  # 2026-10-02 falls in the week of Monday 28 September
    by_week: dict[str, int] = {}
    for spec in SPECS:
        day = date.fromisoformat(spec.created[:10])  # the China date
        if "2026-10-01" <= spec.created[:10] <= "2026-10-31":
            monday = str(day - timedelta(days=day.weekday()))
            by_week[monday] = by_week.get(monday, 0) + 1
    assert {p["bucket"]: p["figures"]["reported"] for p in body["points"]} == by_week
    assert by_week["2026-10-05"] >= 1 and by_week["2026-10-12"] >= 2  # Sunday 23:30, Monday 00:30


def test_major_hazard_ledger(client, data, auth_header):
    body = get(
        client, auth_header(data.district_supervisor), f"/api/v1/stats/major-hazards?{OCTOBER}"
    )
    assert len(body["items"]) == 1
    item = body["items"][0]
    assert item["supervised"] is True and item["overdue"] is True
    assert item["status"] == "rectifying" and item["enterprise_name"] == "甲企业"


def test_the_period_is_checked(client, data, auth_header):
    response = client.get(
        "/api/v1/stats/summary?from=2026-10-31&to=2026-10-01",
        headers=auth_header(data.district_supervisor),
    )
    assert "to" in assert_error(response, 422)["errors"]


def test_default_period_is_this_month(client, data, auth_header):
    body = get(client, auth_header(data.district_supervisor), "/api/v1/stats/summary")
    assert body["scope"]["from"] == "2026-11-01" and body["scope"]["to"] == "2026-11-30"
    november = expected(SPECS, 0, 0, first="2026-11-01", last="2026-11-30")
    assert body["figures"]["reported"] == november["reported"] == 2


def test_xlsx_export_has_the_three_sheets_in_chinese(client, data, auth_header, db):
    response = client.get(
        f"/api/v1/stats/export.xlsx?{OCTOBER}", headers=auth_header(data.district_supervisor)
    )
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(response.data), read_only=True)
    assert workbook.sheetnames == ["汇总", "排名", "双重预防", "隐患清单"]
    first = 5  # below the title, the scope and period line, a blank line and the header
    summary = {r[0]: r[1] for r in workbook["汇总"].iter_rows(min_row=first, values_only=True)}
    want = expected(SPECS, active=3, checked=1)
    assert summary["上报隐患数"] == want["reported"]
    assert summary["当前逾期数"] == want["overdue"]
    assert summary["当前待验收数"] == want["awaiting_verification"] == 2
    assert summary["验收超时数"] == want["verification_late"] == 1
    assert summary["按期销号数"] == want["closed_on_time"]
    # A number Excel formats as a percentage (the CSV writes "42.86%").
    assert summary["整改率"] == want["rectification_rate"]
    ranking = list(workbook["排名"].iter_rows(min_row=first - 1, values_only=True))
    assert ranking[0][:3] == ("排名", "区域/网格代码", "名称")
    assert [row[2] for row in ranking[1:]] == ["乙街道", "甲街道"]
    hazards = list(workbook["隐患清单"].iter_rows(min_row=first - 1, values_only=True))
    assert hazards[0][0] == "隐患编号"
    assert len(hazards) - 1 == want["reported"]
    text = str(hazards)
    assert data.reporter.display_name not in text and "举报人" not in str(hazards[0])
    workbook.close()


def test_csv_export_is_utf8_with_bom_and_three_sections(client, data, auth_header):
    response = client.get(
        f"/api/v1/stats/export.csv?{OCTOBER}", headers=auth_header(data.district_supervisor)
    )
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    titles = [r[0] for r in rows if r and r[0].startswith("【")]
    assert titles == ["【汇总】", "【排名】", "【双重预防】", "【隐患清单】"]
    start = rows.index(["【隐患清单】"])
    listed = rows[start + 2 :]
    assert rows[start + 1][0] == "隐患编号"
    assert len(listed) == expected(SPECS, 3, 1)["reported"]
    status = rows[start + 1].index("状态")
    assert {r[status] for r in listed} <= {"已上报", "整改中", "待验收", "已销号", "不属实"}
    summary = {r[0]: r[1] for r in rows[2 : rows.index([])]}
    assert summary["上报隐患数"] == str(expected(SPECS, 3, 1)["reported"])


QUERIES = [
    OCTOBER,
    "from=2026-09-01&to=2026-11-30",
    "from=2026-09-15&to=2026-11-10",  # days, a whole month, days
    "from=2026-10-02&to=2026-10-30",  # inside one month: days only
    f"level=major&{OCTOBER}",
    "",  # the current month
]


def _every_answer(client, data, headers) -> dict:
    ids = {"street": data.street_a.id, "community": data.community_a.id, "city": data.city.id}
    answers = {}
    for query in QUERIES:
        scopes = ["", *(f"region_id={i}&" for i in ids.values()), f"grid_id={data.grid_a.id}&"]
        for scope in scopes:
            for path in (
                "summary",
                "ranking",
                "ranking?sort=overdue&",
                "trend?bucket=week&",
                "trend?bucket=month&",
                "major-hazards",
                "export.csv",
            ):
                sep = "" if path.endswith("&") else "?"
                url = f"/api/v1/stats/{path}{sep}{scope}{query}"
                response = client.get(url, headers=headers)
                answers[url] = (response.status_code, response.get_data(as_text=True))
    return answers


@pytest.mark.parametrize(
    "who", ["admin", "district_supervisor", "street_supervisor", "inspector", "officer"]
)
def test_the_rollup_and_the_live_count_give_the_same_answers(
    client, data, auth_header, monkeypatch, who
):
    headers = auth_header(getattr(data, who))
    from_rollup = _every_answer(client, data, headers)
    monkeypatch.setattr(statistics, "USE_ROLLUP", False)
    live = _every_answer(client, data, headers)
    assert from_rollup.keys() == live.keys()
    for url, answer in from_rollup.items():
        assert answer == live[url], url


def test_whole_regions_are_served_by_the_rollup_and_the_rest_live(ctx, data):
    district = Actor(
        user_id=data.district_supervisor.id,
        role=Role.SUPERVISOR,
        region_id=data.district.id,
        region_path=data.district.path,
    )
    october = StatsQuery(date_from=date(2026, 10, 1), date_to=date(2026, 10, 31))
    assert statistics.summary(ctx, district, october).source == "rollup"
    assert statistics.ranking(ctx, district, october).source == "rollup"
    assert statistics.trend(ctx, district, october).source == "rollup"
    street = StatsQuery(region_id=data.street_a.id, date_from=october.date_from)
    assert statistics.summary(ctx, district, street).source == "rollup"
    # a street's ranking is of communities, below the rollup's units
    assert statistics.ranking(ctx, district, street).source == "live"
    by_grid = StatsQuery(grid_id=data.grid_a.id, date_from=october.date_from)
    assert statistics.summary(ctx, district, by_grid).source == "live"
    inspector = Actor(
        user_id=data.inspector.id, role=Role.INSPECTOR, grid_ids=frozenset({data.grid_a.id})
    )
    assert statistics.summary(ctx, inspector, october).source == "live"
    admin = Actor(user_id=data.admin.id, role=Role.ADMIN)
    assert statistics.summary(ctx, admin, october).source == "rollup"


def test_whole_months_are_read_from_the_monthly_rows_and_other_days_from_the_daily(ctx, db, data):
    admin = Actor(user_id=data.admin.id, role=Role.ADMIN)
    october = StatsQuery(date_from=date(2026, 10, 1), date_to=date(2026, 10, 31))
    inside = StatsQuery(date_from=date(2026, 10, 2), date_to=date(2026, 10, 30))
    spanning = StatsQuery(date_from=date(2026, 9, 30), date_to=date(2026, 11, 1))
    before = {q: statistics.summary(ctx, admin, q).figures.reported for q in (october, inside)}
    before[spanning] = statistics.summary(ctx, admin, spanning).figures.reported
    # Mark October's monthly rows (the tables agree, so any change shows which was read).
    in_october = hazard_monthly.c.month == date(2026, 10, 1)
    rows = db.scalar(select(func.count()).select_from(hazard_monthly).where(in_october))
    db.execute(
        update(hazard_monthly).where(in_october).values(reported=hazard_monthly.c.reported + 100)
    )
    db.commit()
    marked = 100 * rows
    assert rows >= 2
    assert statistics.summary(ctx, admin, october).figures.reported == before[october] + marked
    assert statistics.summary(ctx, admin, inside).figures.reported == before[inside]
    # 30 September and 1 November from the days, October from its monthly rows
    assert statistics.summary(ctx, admin, spanning).figures.reported == before[spanning] + marked
    rollup.rebuild(db)  # leave the tables as the workflow keeps them
    db.commit()
