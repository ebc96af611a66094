"""Supervisor statistics over 1,000,000 hazards on PostgreSQL, against `SELECT count(*)`.

Creates its own database on the server DATABASE_URL names (default `mashangcha_bench`),
applies the migrations, loads one city → 6 districts → 15 streets → 10 communities →
2 grids, 50 enterprises per street, hazards over the last 12 months with events and
check-ins in proportion (COPY), rebuilds the daily rollup (COPY bypasses the workflow
that keeps it), then times `summary`, `ranking` and `trend` through the service layer
for a district and a street, as admin and as that region's supervisor, next to a
same-run `SELECT count(*) FROM hazards`; each line says which path answered (rollup or
live).
Target (SPEC §6, issue 6): p95 <= 50 ms for summary and ranking of a district.

--tree province (issue 20) loads a province instead: 13 cities (each a top-level region, as
region trees start at a city) of 6 districts each, the same streets, communities, grids and
enterprises per street below them (78 districts, 1,170 streets, 58,500 enterprises), and
times the whole province (as admin: the summary of every region, the ranking of its cities),
its busiest city and that city's busiest district; the target is judged for the province and
the district ("a province answers its summary and ranking like a district does", SPEC §11).

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/postgres \
        .venv/bin/python bench/stats_bench.py [--hazards 1000000] [--keep] [--explain]
    … bench/stats_bench.py --tree province --hazards 10000000 --database province_bench --keep

--keep reuses an already loaded bench database (and leaves it there afterwards; a
missing or stale rollup is rebuilt); without it the database is rebuilt and dropped at
the end.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

# Run as a script from anywhere: make the repository root importable.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psycopg
from benchdb import CATEGORIES, DESCRIPTIONS, bench_database, drop_database, libpq
from sqlalchemy import Engine, event, text

from service.access.scoping import Actor
from service.bootstrap import install_listeners
from service.core import migrations
from service.core.clock import china_date
from service.core.context import Context
from service.core.db import make_engine, make_session_factory
from service.core.settings import Settings
from service.directory.credit_code import check_char
from service.hazards.models import OPEN_STATUS_SQL
from service.statistics import figures as stats_service
from service.statistics import rollup
from service.statistics.figures import Bucket, StatsQuery, ranking, summary, trend
from uploads_schema.vocabulary import Role

TARGET_P95_MS = 50.0
DEFAULT_DATABASE = "mashangcha_bench"

CITY = ("320400000000", "常州市")
DISTRICTS = [
    ("320402000000", "天宁区"),
    ("320404000000", "钟楼区"),
    ("320411000000", "新北区"),
    ("320412000000", "武进区"),
    ("320413000000", "金坛区"),
    ("320481000000", "溧阳市"),
]
# --tree province: the 13 cities of a province (江苏省), each a top-level region (a region
# tree starts at a city), 6 districts each; 常州 keeps its real districts.
PROVINCE_CITIES = [
    ("320100000000", "南京市"),
    ("320200000000", "无锡市"),
    ("320300000000", "徐州市"),
    CITY,
    ("320500000000", "苏州市"),
    ("320600000000", "南通市"),
    ("320700000000", "连云港市"),
    ("320800000000", "淮安市"),
    ("320900000000", "盐城市"),
    ("321000000000", "扬州市"),
    ("321100000000", "镇江市"),
    ("321200000000", "泰州市"),
    ("321300000000", "宿迁市"),
]
STREETS_PER_DISTRICT = 15
COMMUNITIES_PER_STREET = 10
GRIDS_PER_COMMUNITY = 2
ENTERPRISES_PER_STREET = 50
DAYS = 365

INDUSTRIES = [
    "hazardous_chemicals",
    "industry_trade",
    "industry_trade",
    "industry_trade",
    "dust_explosion",
    "confined_space",
    "construction",
    "fire_key_unit",
    "other",
]
PLAN_JSON = (
    '{"责任人": "厂长", "措施": "停产整改", "资金": 50000, "时限": "30天", "预案": "已制定"}'
)

# Pseudo hashes: the bench does not build real hash chains (see the printed note).
HEXES = [f"{random.Random(i).getrandbits(256):064x}" for i in range(1024)]


# ── the database ──────────────────────────────────────────────────────────────────


def refresh_rollup(engine: Engine, *, force: bool) -> str:
    """Rebuild the rollup tables when forced (after COPY) or when they disagree with the
    hazards."""
    factory = make_session_factory(engine)
    started = time.perf_counter()
    if not force:
        with factory() as session:
            found = rollup.differences(session)
        if not found:
            return f"rollup checked in {time.perf_counter() - started:.1f} s: in step"
        started = time.perf_counter()
    with factory() as session:
        rows = rollup.rebuild(session)
        session.commit()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM (ANALYZE) hazard_daily, hazard_monthly"))
    why = "after COPY" if force else f"stale ({len(found)} differences)"
    return f"rollup rebuilt {why}: {rows:,} rows in {time.perf_counter() - started:.1f} s"


def _loaded_count(url: str) -> int | None:
    try:
        with psycopg.connect(libpq(url)) as conn:
            row = conn.execute("SELECT count(*) FROM hazards").fetchone()
            return int(row[0]) if row else None
    except psycopg.Error:
        return None


def _city_count(url: str) -> int | None:
    with psycopg.connect(libpq(url)) as conn:
        row = conn.execute("SELECT count(*) FROM regions WHERE parent_id IS NULL").fetchone()
        return int(row[0]) if row else None


# ── the data set ──────────────────────────────────────────────────────────────────

NULL = "\\N"


@dataclass
class Tree:
    """What was loaded: ids and paths for the generators and the measured scopes."""

    # id, code, name, level, parent id, path
    regions: list[tuple[int, str, str, str, int | None, str]] = field(default_factory=list)
    # id, code, community id, community path
    grids: list[tuple[int, str, int, str]] = field(default_factory=list)
    # id, grid id, path, lat, lng, 6-digit district code
    enterprises: list[tuple[int, int, str, float, float, str]] = field(default_factory=list)
    inspector_of_grid: dict[int, int] = field(default_factory=dict)
    supervisor_of_region: dict[int, int] = field(default_factory=dict)
    city_names: dict[str, str] = field(default_factory=dict)  # by the code's first 4 digits


def ts(moment: datetime) -> str:
    return moment.isoformat(sep=" ")


def opt(moment: datetime | None) -> str:
    return NULL if moment is None else moment.isoformat(sep=" ")


def copy_lines(cur: psycopg.Cursor[Any], table: str, columns: str, lines: Iterable[str]) -> int:
    """Stream tab-separated lines into `table` with COPY; returns the row count."""
    count = 0
    with cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        chunk: list[str] = []
        for line in lines:
            chunk.append(line)
            if len(chunk) == 10_000:
                copy.write("".join(chunk))
                count += len(chunk)
                chunk.clear()
        copy.write("".join(chunk))
        count += len(chunk)
    return count


def cities_of(tree_kind: str) -> list[tuple[str, str, list[tuple[str, str]]]]:
    """The top-level cities and their districts: one city, or a province's thirteen."""
    if tree_kind == "city":
        return [(*CITY, DISTRICTS)]
    return [
        (
            code,
            name,
            DISTRICTS
            if code == CITY[0]
            else [(f"{code[:4]}{d:02d}000000", f"{name}第{d}区") for d in range(2, 8)],
        )
        for code, name in PROVINCE_CITIES
    ]


def build_tree(rng: random.Random, tree_kind: str = "city") -> Tree:
    """Cities → districts → streets → communities → grids; enterprises spread over grids."""
    tree = Tree()
    for city_code, city_name, districts in cities_of(tree_kind):
        city_id, city_path = len(tree.regions) + 1, f"/{city_code}/"
        tree.regions.append((city_id, city_code, city_name, "city", None, city_path))
        tree.city_names[city_code[:4]] = city_name
        _build_city(tree, rng, city_id, city_path, districts)
    return tree


def _build_city(
    tree: Tree, rng: random.Random, city_id: int, city_path: str, districts: list[tuple[str, str]]
) -> None:
    for d_code, d_name in districts:
        d_id, d_path = len(tree.regions) + 1, f"{city_path}{d_code}/"
        tree.regions.append((d_id, d_code, d_name, "district", city_id, d_path))
        for s in range(1, STREETS_PER_DISTRICT + 1):
            s_code = f"{d_code[:6]}{s:03d}000"
            s_id, s_path = len(tree.regions) + 1, f"{d_path}{s_code}/"
            tree.regions.append((s_id, s_code, f"{d_name}第{s}街道", "street", d_id, s_path))
            street_grids = []
            for c in range(1, COMMUNITIES_PER_STREET + 1):
                c_code = f"{s_code[:9]}{c:03d}"
                c_id, c_path = len(tree.regions) + 1, f"{s_path}{c_code}/"
                tree.regions.append(
                    (c_id, c_code, f"{d_name}第{s}街道第{c}社区", "community", s_id, c_path)
                )
                for g in range(1, GRIDS_PER_COMMUNITY + 1):
                    grid = (len(tree.grids) + 1, f"{c_code}-{g:02d}", c_id, c_path)
                    tree.grids.append(grid)
                    street_grids.append(grid)
            for _ in range(ENTERPRISES_PER_STREET):
                g_id, _, _, g_path = rng.choice(street_grids)
                lat, lng = 31.4 + rng.random() * 0.6, 119.3 + rng.random() * 0.8
                e_id = len(tree.enterprises) + 1
                tree.enterprises.append((e_id, g_id, g_path, lat, lng, d_code[:6]))


def load(
    url: str, n_hazards: int, now: datetime, seed: int, tree_kind: str = "city"
) -> dict[str, float]:
    """Load the whole data set in one transaction; returns seconds (and rows) per step."""
    rng = random.Random(seed)
    tree = build_tree(rng, tree_kind)
    out: dict[str, float] = {}
    big_tables = ["hazards", "hazard_events", "checkins"]
    with psycopg.connect(libpq(url)) as conn, conn.cursor() as cur:
        cur.execute("SET maintenance_work_mem = '256MB'")
        row = cur.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()
        if row and row[0]:
            # No per-row foreign-key triggers: the generated data is consistent by construction.
            cur.execute("SET session_replication_role = replica")
        # Secondary indexes are built once after the load rather than row by row.
        secondary = cur.execute(
            """
            SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
            FROM pg_index i
            WHERE i.indrelid::regclass::text = ANY(%s)
              AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
            """,
            (big_tables,),
        ).fetchall()
        for name, _ in secondary:
            cur.execute(f"DROP INDEX {name}")

        clock = time.perf_counter()
        _load_directory(cur, tree, now)
        out["directory"], clock = time.perf_counter() - clock, time.perf_counter()
        plans: list[tuple[int, int, datetime, datetime, int]] = []
        out["hazards_rows"] = copy_lines(
            cur,
            "hazards",
            HAZARD_COLUMNS,
            _hazard_lines(tree, n_hazards, now, rng, plans),
        )
        out["hazards"], clock = time.perf_counter() - clock, time.perf_counter()
        out["events_rows"] = copy_lines(cur, "hazard_events", EVENT_COLUMNS, _event_lines(plans))
        del plans
        out["events"], clock = time.perf_counter() - clock, time.perf_counter()
        out["checkins_rows"] = copy_lines(
            cur, "checkins", CHECKIN_COLUMNS, _checkin_lines(tree, n_hazards // 5, now, rng)
        )
        out["checkins"], clock = time.perf_counter() - clock, time.perf_counter()
        for _, definition in secondary:
            cur.execute(definition)
        for table in ("regions", "grids", "users", "enterprises", "qr_codes", *big_tables):
            cur.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                f" (SELECT coalesce(max(id), 1) FROM {table}))"
            )
        conn.commit()
        out["indexes"], clock = time.perf_counter() - clock, time.perf_counter()
    with psycopg.connect(libpq(url), autocommit=True) as conn:
        # The steady state of a live database: statistics and visibility map up to date.
        conn.execute("VACUUM (FREEZE, ANALYZE)")
    out["vacuum_analyze"] = time.perf_counter() - clock
    return out


def _load_directory(cur: psycopg.Cursor[Any], tree: Tree, now: datetime) -> None:
    created = ts(now - timedelta(days=DAYS + 30))
    copy_lines(
        cur,
        "regions",
        "id, code, name, level, parent_id, path, created_at",
        (
            f"{i}\t{code}\t{name}\t{level}\t{NULL if parent is None else parent}\t{path}\t"
            f"{created}\n"
            for i, code, name, level, parent, path in tree.regions
        ),
    )
    copy_lines(
        cur,
        "grids",
        "id, code, name, region_id, region_path, created_at",
        (f"{i}\t{code}\t{code}网格\t{r}\t{p}\t{created}\n" for i, code, r, p in tree.grids),
    )
    users = [("admin", "系统管理员", "admin", NULL)]
    for region_id, _, name, level, _, _ in tree.regions:
        if level != "community":
            tree.supervisor_of_region[region_id] = len(users) + 1
            users.append((f"sup{region_id}", f"{name}监管员", "supervisor", str(region_id)))
    for grid_id, code, _, _ in tree.grids:
        tree.inspector_of_grid[grid_id] = len(users) + 1
        users.append((f"insp{grid_id}", f"{code}网格员", "inspector", NULL))
    copy_lines(
        cur,
        "users",
        "id, username, display_name, phone, role, region_id, active, token_version, created_at",
        (
            f"{i}\t{username}\t{display}\t\t{role}\t{region}\tt\t0\t{created}\n"
            for i, (username, display, role, region) in enumerate(users, start=1)
        ),
    )
    copy_lines(
        cur,
        "grid_inspectors",
        "grid_id, user_id",
        (f"{g}\t{u}\n" for g, u in tree.inspector_of_grid.items()),
    )

    def enterprise_line(e: tuple[int, int, str, float, float, str]) -> str:
        e_id, g_id, path, lat, lng, district6 = e
        first17 = f"91{district6}{e_id:09d}"
        industry = INDUSTRIES[e_id % len(INDUSTRIES)]
        color = ("red", "orange", "yellow", "yellow", "blue", "blue")[e_id % 6]
        active = "f" if e_id % 25 == 0 else "t"  # 4% closed down or moved away
        city = tree.city_names[district6[:4]]
        return (
            f"{e_id}\t{first17}{check_char(first17)}\tt\t{city}第{e_id}号企业有限公司\t"
            f"{city}某路{e_id}号\t{lat:.6f}\t{lng:.6f}\t{industry}\t{color}\t{g_id}\t{path}\t"
            f"{active}\t{created}\t{created}\n"
        )

    copy_lines(
        cur,
        "enterprises",
        "id, credit_code, credit_code_valid, name, address, lat, lng, industry, risk_color,"
        " grid_id, region_path, active, created_at, updated_at",
        (enterprise_line(e) for e in tree.enterprises),
    )
    copy_lines(
        cur,
        "qr_codes",
        "id, token, enterprise_id, status, created_at",
        (f"{e[0]}\tbench{e[0]:012d}\t{e[0]}\tactive\t{created}\n" for e in tree.enterprises),
    )


HAZARD_COLUMNS = (
    "id, number, enterprise_id, qrcode_id, grid_id, region_path, source, origin, category,"
    " description, level, status, version, event_seq, last_event_hash, reporter_id, anonymous,"
    " lat, lng, deadline, original_deadline, plan, supervised, reopen_count, rejected_reason,"
    " rejected_by_id, fix_note, fix_submitted_at, closed_at, closed_by_id, escalation_level,"
    " created_at, updated_at"
)

# Event histories, by shape: (action, from status, to status) in order.
R, A, V, C, X = "reported", "rectifying", "verifying", "closed", "rejected"
REPORT, ASSIGN, PLAN = ("report", NULL, R), ("assign", R, A), ("file_plan", A, A)
EXTEND = (("request_extension", A, A), ("approve_extension", A, A))
FIX, PASS = ("submit_fix", A, V), ("pass", V, C)
HISTORIES: dict[tuple[str, bool, bool, bool, bool], tuple[tuple[str, str, str], ...]] = {}
for _status in (R, A, V, C, X):
    for _major in (False, True):
        for _extended in (False, True):
            for _reopened in (False, True):
                for _overdue in (False, True):
                    if _status == X:
                        steps: tuple[tuple[str, str, str], ...] = (REPORT, ("reject", R, X))
                    elif _status == R:
                        steps = (REPORT,)
                    else:
                        steps = (REPORT, ASSIGN)
                        steps += (PLAN,) if _major else ()
                        steps += EXTEND if _extended else ()
                        steps += (("mark_overdue", A, A),) if _overdue else ()
                        if _status in (V, C):
                            steps += (FIX,)
                        if _status == C:
                            steps += (PASS,)
                            if _reopened:
                                steps += (("reopen", C, A), FIX, PASS)
                    HISTORIES[_status, _major, _extended, _reopened, _overdue] = steps
HISTORY_KEYS = list(HISTORIES)
HISTORY_INDEX = {key: i for i, key in enumerate(HISTORY_KEYS)}


def _hazard_lines(
    tree: Tree,
    n: int,
    now: datetime,
    rng: random.Random,
    plans: list[tuple[int, int, datetime, datetime, int]],
) -> Iterator[str]:
    """Hazards in report order; appends (id, history, start, end, actor) for the events."""
    window = DAYS * 86400
    start = now - timedelta(seconds=window)
    offsets = sorted(rng.random() * window for _ in range(n))
    weights = [min(rng.paretovariate(1.2), 30.0) for _ in tree.enterprises]  # a few bad actors
    picks = rng.choices(tree.enterprises, weights=weights, k=n)
    day_names: dict[int, str] = {}
    numbers: dict[tuple[str, str], int] = {}
    base_epoch = int(start.timestamp())
    for hazard_id, (offset, enterprise) in enumerate(zip(offsets, picks, strict=True), start=1):
        e_id, grid_id, path, lat, lng, district6 = enterprise
        created = start + timedelta(seconds=offset)
        local_day = (base_epoch + int(offset) + 8 * 3600) // 86400
        day = day_names.get(local_day)
        if day is None:
            day = day_names[local_day] = datetime.fromtimestamp(local_day * 86400, UTC).strftime(
                "%Y%m%d"
            )
        seq = numbers[district6, day] = numbers.get((district6, day), 0) + 1
        major = rng.random() < 0.10
        inspector = tree.inspector_of_grid[grid_id]
        source = ("self_check", "inspection", "inspection", "public_tip", "self_check")[
            hazard_id % 5
        ]
        deadline = original = closed_at = fix_at = None
        reopens, extended, overdue, escalation = 0, False, False, 0
        rejected_reason = rejected_by = closed_by = NULL
        roll = rng.random()
        if roll < 0.08:
            status, end = X, created + timedelta(hours=1 + rng.random() * 47)
            rejected_reason, rejected_by = "重复上报", str(inspector)
        else:
            hours = rng.lognormvariate(5.3 if major else 4.4, 0.9)  # median 8 / 3.4 days
            stuck = rng.random() < 0.21  # waiting on money, equipment or a shutdown
            close = created + timedelta(hours=hours)
            if not stuck and close < now:
                status, end, closed_at = C, close, close
                fix_at = close - timedelta(hours=2)
                closed_by = str(inspector)
                reopens = 1 if rng.random() < 0.04 else 0
            else:
                end = now
                sub = rng.random()
                status = R if sub < 0.15 else (A if sub < 0.75 else V)
                if status == V:
                    fix_at = min(close, now - timedelta(hours=1))
            if status != R:
                original = created + timedelta(days=30 if major else 7)
                extended = rng.random() < 0.06
                deadline = original + timedelta(days=15) if extended else original
                if status != C and deadline < now:
                    overdue = True
                    escalation = 2 if now - deadline > timedelta(hours=72) else 1
        history = HISTORY_INDEX[status, major, extended, reopens > 0, overdue]
        events = len(HISTORIES[HISTORY_KEYS[history]])
        plans.append((hazard_id, history, created, end, inspector))
        updated = end if status in (C, X) else created
        yield (
            f"{hazard_id}\tYH{district6}-{day}-{seq:04d}\t{e_id}\t{e_id}\t{grid_id}\t{path}\t"
            f"{source}\t{'scan' if hazard_id % 10 < 7 else 'app'}\t"
            f"{CATEGORIES[hazard_id % len(CATEGORIES)]}\t"
            f"{DESCRIPTIONS[hazard_id % len(DESCRIPTIONS)]}\t"
            f"{'major' if major else 'general'}\t{status}\t{events + 1}\t{events}\t"
            f"{HEXES[(hazard_id * 8 + events) % 1024]}\t"
            f"{inspector if source == 'inspection' else NULL}\t"
            f"{'t' if source == 'public_tip' else 'f'}\t{lat:.6f}\t{lng:.6f}\t"
            f"{opt(deadline)}\t{opt(original)}\t{PLAN_JSON if major else NULL}\t"
            f"{'t' if major and hazard_id % 2 else 'f'}\t{reopens}\t{rejected_reason}\t"
            f"{rejected_by}\t{'已整改' if fix_at else NULL}\t{opt(fix_at)}\t{opt(closed_at)}\t"
            f"{closed_by}\t{escalation}\t{ts(created)}\t{ts(updated)}\n"
        )


EVENT_COLUMNS = (
    "id, hazard_id, seq, action, from_status, to_status, actor_id, actor_role, note, data,"
    " created_at, prev_hash, hash"
)


def _event_lines(plans: list[tuple[int, int, datetime, datetime, int]]) -> Iterator[str]:
    """Minimal events: real actions and times, pseudo hashes that do not form a chain."""
    event_id = 0
    for hazard_id, history, created, end, inspector in plans:
        steps = HISTORIES[HISTORY_KEYS[history]]
        step = (end - created) / len(steps)
        prev = "0" * 64
        for seq, (action, before, after) in enumerate(steps, start=1):
            event_id += 1
            digest = HEXES[(hazard_id * 8 + seq) % 1024]
            actor, role = (NULL, NULL) if seq == 1 else (inspector, "inspector")
            yield (
                f"{event_id}\t{hazard_id}\t{seq}\t{action}\t{before}\t{after}\t{actor}\t{role}\t"
                f"\t{{}}\t{ts(created + step * (seq - 1))}\t{prev}\t{digest}\n"
            )
            prev = digest


CHECKIN_COLUMNS = (
    "id, qrcode_id, enterprise_id, grid_id, region_path, inspector_id, lat, lng, accuracy_m,"
    " distance_m, flagged, flag_reason, created_at"
)


def _checkin_lines(tree: Tree, n: int, now: datetime, rng: random.Random) -> Iterator[str]:
    """Inspectors' check-ins over the year; about one enterprise in eight is never visited."""
    visited = [e for e in tree.enterprises if e[0] % 8]
    window = DAYS * 86400
    start = now - timedelta(seconds=window)
    for checkin_id, offset in enumerate(sorted(rng.random() * window for _ in range(n)), 1):
        e_id, grid_id, path, lat, lng, _ = rng.choice(visited)
        far = rng.random() < 0.03
        yield (
            f"{checkin_id}\t{e_id}\t{e_id}\t{grid_id}\t{path}\t{tree.inspector_of_grid[grid_id]}\t"
            f"{lat + 0.0003:.6f}\t{lng - 0.0002:.6f}\t{10 + rng.random() * 40:.1f}\t"
            f"{900.0 if far else rng.random() * 200:.1f}\t{'t' if far else 'f'}\t"
            f"{'too_far' if far else NULL}\t{ts(start + timedelta(seconds=offset))}\n"
        )


# ── the measurements ──────────────────────────────────────────────────────────────


def timed(work: Callable[[], object], runs: int, warmup: int) -> list[float]:
    """Milliseconds of each of `runs` calls, after `warmup` untimed ones."""
    for _ in range(warmup):
        work()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def p50_p95(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[max(0, round(0.95 * len(ordered)) - 1)]


@dataclass
class Scope:
    kind: str  # "province", "city", "district" or "street"
    region_id: int | None  # None: every region there is (the province, asked as admin)
    name: str
    path: str
    supervisor_id: int | None


def scopes(engine: Engine, tree_kind: str) -> list[Scope]:
    """The measured scopes: a city's busiest district and its busiest street; for a province,
    the whole province, its busiest city and that city's busiest district (by hazards, read
    from the rollup: counting 10M hazards per region would take minutes)."""
    found = []
    prefix = "/"
    if tree_kind == "province":
        found.append(Scope("province", None, "全省", "/", None))
        kinds = ("city", "district")
    else:
        prefix = f"/{CITY[0]}/"
        kinds = ("district", "street")
    with engine.connect() as conn:
        for kind in kinds:
            row = conn.execute(
                text(
                    "SELECT r.id, r.name, r.path, u.id FROM regions r"
                    " JOIN users u ON u.region_id = r.id AND u.role = 'supervisor'"
                    " WHERE r.level = :kind AND r.path LIKE :prefix"
                    " ORDER BY (SELECT coalesce(sum(m.reported), 0) FROM hazard_monthly m"
                    "           WHERE m.unit_path LIKE r.path || '%') DESC, r.code"
                    " LIMIT 1"
                ),
                {"kind": kind, "prefix": f"{prefix}%"},
            ).one()
            found.append(Scope(kind, row[0], row[1], row[2], row[3]))
            prefix = row[2]
    return found


def periods(end: date) -> list[tuple[str, date, date]]:
    """Last full month, last three full months (a quarter) and the trailing twelve months."""
    last_day = end.replace(day=1) - timedelta(days=1)
    month_start = last_day.replace(day=1)
    quarter_start = month_start
    for _ in range(2):
        quarter_start = (quarter_start - timedelta(days=1)).replace(day=1)
    return [
        ("month", month_start, last_day),
        ("quarter", quarter_start, last_day),
        ("12 months", end - timedelta(days=364), end),
    ]


class StatementLog:
    """Records the SQL the service runs, to EXPLAIN it afterwards."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.recording = False
        self.statements: list[tuple[str, Any]] = []
        event.listen(engine, "before_cursor_execute", self._record)

    def _record(self, _conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if self.recording:
            self.statements.append((statement, parameters))

    def explain(self, work: Callable[[], object]) -> None:
        self.statements.clear()
        self.recording = True
        try:
            work()
        finally:
            self.recording = False
        raw = self.engine.raw_connection()
        try:
            cursor = raw.cursor()
            for statement, parameters in self.statements:
                if statement.lstrip().upper().startswith("SET"):
                    cursor.execute(statement, parameters)  # the service's own settings, as run
                    continue
                print("\n" + statement.strip())
                print(f"-- parameters: {parameters}")
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
                for (line,) in cursor.fetchall():
                    print("   " + line)
            raw.rollback()
        finally:
            raw.close()


def main() -> None:
    """Load (or reuse) the data set, time the statistics, print ratios and the target."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hazards", type=int, default=1_000_000)
    parser.add_argument("--keep", action="store_true", help="reuse and keep the bench database")
    parser.add_argument("--database", default=DEFAULT_DATABASE)
    parser.add_argument("--runs", type=int, default=50, help="timed calls per case")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--seed", type=int, default=20261124)
    parser.add_argument(
        "--tree",
        choices=("city", "province"),
        default="city",
        help="one city of 6 districts, or a province of 13 cities and 78 districts",
    )
    parser.add_argument("--explain", action="store_true", help="EXPLAIN district summary/ranking")
    parser.add_argument(
        "--live", action="store_true", help="count the hazards, not the rollup (the old path)"
    )
    args = parser.parse_args()
    stats_service.USE_ROLLUP = not args.live
    server_url = os.environ.get("DATABASE_URL", "")
    if not server_url.startswith("postgresql"):
        raise SystemExit("DATABASE_URL must name a PostgreSQL server (postgresql+psycopg://…)")

    url, reused = bench_database(
        server_url,
        args.database,
        args.keep,
        lambda u: _loaded_count(u) == args.hazards and _city_count(u) == len(cities_of(args.tree)),
    )
    migrations.upgrade(url)  # with --keep, also brings an older load up to the newest indexes
    if reused:
        print(f"reusing {args.database} with {args.hazards:,} hazards (--keep)")
        with psycopg.connect(libpq(url), autocommit=True) as conn:
            conn.execute("ANALYZE")
    else:
        now = datetime.now(UTC).replace(microsecond=0)
        started = time.perf_counter()
        steps = load(url, args.hazards, now, args.seed, args.tree)
        total = time.perf_counter() - started
        print(
            f"loaded {int(steps['hazards_rows']):,} hazards, {int(steps['events_rows']):,} events,"
            f" {int(steps['checkins_rows']):,} check-ins in {total:.1f} s"
            f" (directory {steps['directory']:.1f} s, hazards {steps['hazards']:.1f} s,"
            f" events {steps['events']:.1f} s, check-ins {steps['checkins']:.1f} s,"
            f" indexes {steps['indexes']:.1f} s, VACUUM ANALYZE {steps['vacuum_analyze']:.1f} s)"
        )
        print("note: hazard_events rows are minimal; their hashes do not form a verifiable chain")

    install_listeners()
    engine = make_engine(url)
    try:
        print(refresh_rollup(engine, force=not reused))
        run(engine, url, args)
    finally:
        engine.dispose()
        if not args.keep:
            drop_database(server_url, args.database)


def run(engine: Engine, url: str, args: argparse.Namespace) -> None:
    """Describe the data, time every case against the baseline, judge the target."""
    with engine.connect() as conn:
        version = conn.execute(text("SHOW server_version")).scalar()
        row = conn.execute(
            text(
                "WITH t AS (SELECT max(created_at) AS now FROM hazards)"
                " SELECT count(*), avg((status = 'closed')::int), avg((status = 'rejected')::int),"
                f" avg(({OPEN_STATUS_SQL})::int),"
                " avg((status = 'rectifying' AND deadline < t.now)::int),"
                " avg((level = 'major')::int), max(t.now) FROM hazards, t"
            )
        ).one()
        size = conn.execute(text("SELECT pg_database_size(current_database())")).scalar()
    total, closed, rejected, open_, overdue, major, data_end = row
    print(f"database size {size / 2**30:.1f} GiB (tables and indexes, rollup included)")
    print(
        f"PostgreSQL {version}, {os.cpu_count()} cpus; {total:,} hazards: closed {closed:.1%},"
        f" rejected {rejected:.1%}, open {open_:.1%} (overdue {overdue:.1%}), major {major:.1%}"
    )

    clock_now = data_end + timedelta(minutes=1)
    ctx = Context(
        settings=Settings(database_url=url),
        session_factory=make_session_factory(engine),
        clock=lambda: clock_now,
    )
    end_day = china_date(clock_now)
    measured = scopes(engine, args.tree)
    admin = Actor(user_id=1, role=Role.ADMIN)

    def count_hazards() -> None:
        with engine.connect() as conn:
            conn.execute(text("SELECT count(*) FROM hazards")).scalar()

    load_before = os.getloadavg()[0]  # other work on the machine skews every number
    baseline = timed(count_hazards, args.runs, args.warmup)

    functions: list[tuple[str, Callable[[Context, Actor, StatsQuery], object]]] = [
        ("summary", summary),
        ("ranking", ranking),
        ("trend/week", lambda c, a, q: trend(c, a, q, Bucket.WEEK)),
    ]
    rows: list[tuple[str, str, str, float, float]] = []
    for scope in measured:
        print(f"{scope.kind}: {scope.name} ({scope.path})")
        for period, first, last in periods(end_day):
            askers = [
                (
                    "admin",
                    admin,
                    StatsQuery(region_id=scope.region_id, date_from=first, date_to=last),
                )
            ]
            if scope.supervisor_id is not None:
                supervisor = Actor(
                    user_id=scope.supervisor_id,
                    role=Role.SUPERVISOR,
                    region_id=scope.region_id,
                    region_path=scope.path,
                )
                askers.append(("supervisor", supervisor, StatsQuery(date_from=first, date_to=last)))
            for who, actor, query in askers:
                for name, function in functions:
                    source = getattr(function(ctx, actor, query), "source", "?")
                    samples = timed(
                        lambda f=function, a=actor, q=query: f(ctx, a, q), args.runs, args.warmup
                    )
                    label = f"{scope.kind} {name} {period} as {who} [{source}]"
                    rows.append((scope.kind, name, period, *p50_p95(samples)))
                    print_row(label, samples, baseline)
    baseline_after = timed(count_hazards, args.runs, args.warmup)

    print_row("baseline SELECT count(*) FROM hazards", baseline, baseline)
    print_row("baseline again, after the cases", baseline_after, baseline)
    judged = ("province", "district") if args.tree == "province" else ("district",)
    for kind_judged in judged:
        for period, *_ in periods(end_day):
            worst = max(
                p95
                for kind, name, when, _, p95 in rows
                if kind == kind_judged and name in ("summary", "ranking") and when == period
            )
            print(
                f"target p95 <= {TARGET_P95_MS:.0f} ms, {kind_judged} summary and ranking,"
                f" {period}: {'met' if worst <= TARGET_P95_MS else 'MISSED'}"
                f" (worst p95 {worst:.1f} ms)"
            )
    print(
        f"load average (1 min) before/after the cases: {load_before:.1f} / {os.getloadavg()[0]:.1f}"
    )

    if args.explain:
        print(
            "note: first-execution (custom) plans; psycopg prepares a statement after 5"
            " executions, and PostgreSQL may then switch to a generic plan"
        )
        log = StatementLog(engine)
        _, first, last = periods(end_day)[1]
        district = next(scope for scope in measured if scope.kind == "district")
        query = StatsQuery(region_id=district.region_id, date_from=first, date_to=last)
        for name, function in functions[:2]:
            print(f"\n=== EXPLAIN district {name}, quarter, as admin ===")
            log.explain(lambda f=function: f(ctx, admin, query))


def print_row(label: str, samples: list[float], baseline: list[float]) -> None:
    p50, p95 = p50_p95(samples)
    base50, base95 = p50_p95(baseline)
    print(
        f"{label:53} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms"
        f"   x{p50 / base50:5.2f} / x{p95 / base95:5.2f} of count(*)"
    )


if __name__ == "__main__":
    main()
