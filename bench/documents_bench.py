"""Benchmark the regulator documents against their budgets (README, "Performance").

- a 200,000-row 台账 XLSX (a district's year): time and peak RSS, ≤ 30 s and ≤ 200 MB;
- a district's 月度通报, PDF and DOCX: ≤ 5 s each;
- 1,000 vector posters: ≤ 20 s.

Run: .venv/bin/python bench/documents_bench.py [--rows 200000] [--keep]
The data set goes into a SQLite file (bench/var/documents-bench.db, reused with --keep),
loaded in a child process so this process's peak RSS is the export's own.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

# Run as a script from anywhere: make the repository root importable.
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_DB = ROOT / "bench" / "var" / "documents-bench.db"
XLSX_TARGET_S, XLSX_TARGET_MB = 30.0, 200.0
BULLETIN_TARGET_S = 5.0
POSTERS_TARGET_S = 20.0
YEAR = 2026


def rss_mb() -> float:
    """Peak resident memory of this process so far (Linux reports kB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load(url: str, rows: int, seed: int) -> None:
    """A district of 8 streets, 40 grids, 2,000 enterprises and `rows` hazards over a year,
    every stage of the workflow represented, then the rollup rebuilt."""
    from sqlalchemy import insert

    from bench.benchdb import DESCRIPTIONS
    from service.bootstrap import build_context
    from service.core import migrations
    from service.core.settings import Settings
    from service.hazards.models import Hazard, HazardEvent
    from service.statistics import rollup
    from tests.factories import make_enterprise, make_grid, make_region, make_user
    from uploads_schema.vocabulary import (
        HazardAction,
        HazardCategory,
        HazardLevel,
        HazardOrigin,
        HazardSource,
        HazardStatus,
        Role,
    )

    migrations.upgrade(url)
    ctx = build_context(Settings(database_url=url, app_env="test", secret_key="b" * 40))
    rng = random.Random(seed)
    with ctx.uow() as uow:
        s = uow.session
        city = make_region(s, name="常州市", code="320400000000")
        district = make_region(s, parent=city, name="武进区", code="320412000000")
        grids, enterprises = [], []
        for i in range(8):
            street = make_region(s, parent=district, name=f"第{i + 1}街道")
            community = make_region(s, parent=street, name=f"第{i + 1}社区")
            for j in range(5):
                grids.append(make_grid(s, community, name=f"{i + 1}-{j + 1}网格"))
        for k in range(2000):
            grid = grids[k % len(grids)]
            enterprises.append(make_enterprise(s, grid, name=f"常州某某制造有限公司{k}"))
        officer = make_user(s, Role.ENTERPRISE_OFFICER, display_name="王经理")
        inspector = make_user(s, Role.INSPECTOR, display_name="李网格员")
        uow.commit()
        district_id = district.id
        plan = {
            "responsible_person": "张伟",
            "measures": "更换设备",
            "funds": "2 万元",
            "deadline": "2026-12-20T15:59:59.999000+00:00",
            "contingency_plan": "停产警戒",
        }
        statuses = [HazardStatus.CLOSED] * 6 + [HazardStatus.RECTIFYING] * 2 + [
            HazardStatus.VERIFYING, HazardStatus.REPORTED, HazardStatus.REJECTED
        ]  # fmt: skip
        start = datetime(YEAR, 1, 1, tzinfo=UTC)
        hazards, events, next_id = [], [], 1
        for n in range(rows):
            e = enterprises[rng.randrange(len(enterprises))]
            created = start + timedelta(seconds=rng.randrange(364 * 86400))
            status = statuses[rng.randrange(len(statuses))]
            assigned = status not in (HazardStatus.REPORTED, HazardStatus.REJECTED)
            deadline = created + timedelta(days=7) if assigned else None
            closed = (
                created + timedelta(days=rng.randrange(1, 10))
                if status is HazardStatus.CLOSED
                else None
            )
            major = rng.random() < 0.02
            hazards.append({
                "id": next_id, "number": f"YH320412-{created:%Y%m%d}-{n:06d}",
                "enterprise_id": e.id, "grid_id": e.grid_id, "region_path": e.region_path,
                "source": HazardSource.INSPECTION, "origin": HazardOrigin.SCAN,
                "category": list(HazardCategory)[n % len(HazardCategory)],
                "description": DESCRIPTIONS[n % len(DESCRIPTIONS)],
                "level": HazardLevel.MAJOR if major else HazardLevel.GENERAL, "status": status,
                "assignee_id": officer.id if assigned else None, "deadline": deadline,
                "original_deadline": deadline, "plan": plan if major else None,
                "supervised": major, "fix_note": "已整改" if closed else None,
                "fix_submitted_at": closed - timedelta(hours=2) if closed else None,
                "closed_at": closed, "closed_by_id": inspector.id if closed else None,
                "created_at": created, "updated_at": closed or created,
            })  # fmt: skip
            if closed:
                events.append({
                    "hazard_id": next_id, "seq": 4, "action": HazardAction.PASS,
                    "from_status": HazardStatus.VERIFYING, "to_status": HazardStatus.CLOSED,
                    "actor_id": inspector.id, "actor_role": "inspector", "note": "验收合格",
                    "data": {}, "created_at": closed, "prev_hash": "0" * 64, "hash": "0" * 64,
                })  # fmt: skip
            next_id += 1
            if len(hazards) == 5000:
                s.execute(insert(Hazard), hazards)
                if events:
                    s.execute(insert(HazardEvent), events)
                hazards, events = [], []
        if hazards:
            s.execute(insert(Hazard), hazards)
        if events:
            s.execute(insert(HazardEvent), events)
        rollup.rebuild(s)  # the inserts bypassed the ORM's rollup listener
        uow.commit()
    print(f"loaded {rows:,} hazards under district {district_id}")


def main() -> None:
    """Load (or reuse) the data set; time each document; print figures beside budgets."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--database", default=str(DEFAULT_DB))
    parser.add_argument("--keep", action="store_true", help="reuse and keep the data set")
    parser.add_argument("--posters", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=20261204)
    parser.add_argument("--load-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--font", default=os.environ.get("QR_FONT_PATH", ""))
    args = parser.parse_args()
    db = Path(args.database)
    url = f"sqlite:///{db}"
    if args.load_only:
        load(url, args.rows, args.seed)
        return
    if not (args.keep and db.exists()):
        db.parent.mkdir(parents=True, exist_ok=True)
        db.unlink(missing_ok=True)
        started = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                __file__,
                "--load-only",
                "--rows",
                str(args.rows),
                "--database",
                str(db),
            ],
            check=True,
        )
        print(f"load: {time.perf_counter() - started:.1f} s (child process)")
    try:
        measure(url, args)
    finally:
        if not args.keep:
            db.unlink(missing_ok=True)


def measure(url: str, args: argparse.Namespace) -> None:
    from qr import (
        PosterFooter,
        PosterSpec,
        format_short_id,
        new_token,
        scan_url,
        write_vector_posters_pdf,
    )
    from service.access.scoping import Actor
    from service.bootstrap import build_context
    from service.core.settings import Settings
    from service.documents import bulletins
    from service.statistics import exports
    from service.statistics.figures import StatsQuery
    from uploads_schema.vocabulary import Role

    overrides = {"qr_font_path": args.font} if args.font else {}
    settings = Settings(
        database_url=url, app_env="test", secret_key="b" * 40, office_name="武进区应急管理局",
        hotline="0519-86661234", **overrides,
    )  # fmt: skip
    ctx = build_context(settings)
    admin = Actor(user_id=0, role=Role.ADMIN)
    print(f"cpus: {os.cpu_count()}, python {sys.version.split()[0]}, SQLite")
    results = []

    # 台账: a district's year.
    baseline_mb = rss_mb()
    query = StatsQuery(date_from=date(YEAR, 1, 1), date_to=date(YEAR, 12, 31))
    done = []
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "ledger.xlsx"
        started, cpu = time.perf_counter(), time.process_time()
        with path.open("wb") as out:
            exports.write_xlsx(ctx, admin, query, out, progress=lambda d, t: done.append(d))
        seconds, cpu_s = time.perf_counter() - started, time.process_time() - cpu
        size_mb = path.stat().st_size / 1e6
    peak = rss_mb()
    rows = done[-1] if done else 0
    print(
        f"台账 XLSX, {rows:,} hazard rows: {seconds:.1f} s (CPU {cpu_s:.1f} s), {size_mb:.1f} MB,"
        f" peak RSS {peak:.0f} MB (+{peak - baseline_mb:.0f} MB over the imports)"
    )
    results.append(("台账 XLSX time", seconds, XLSX_TARGET_S, "s"))
    results.append(("台账 XLSX peak RSS", peak, XLSX_TARGET_MB, "MB"))

    # 月度通报 of the district, both formats.
    month = date(YEAR, 11, 1)
    for fmt in ("pdf", "docx"):
        started, cpu = time.perf_counter(), time.process_time()
        bulletin = bulletins.monthly_bulletin(ctx, admin, None, month)
        writer = bulletins.bulletin_pdf if fmt == "pdf" else bulletins.bulletin_docx
        data = writer(ctx, bulletin)
        seconds, cpu_s = time.perf_counter() - started, time.process_time() - cpu
        # SQLite answers in this process, so its time is in the CPU figure too.
        size_kb = len(data) / 1e3
        print(f"月度通报 {fmt.upper()}: {seconds:.2f} s (CPU {cpu_s:.2f} s), {size_kb:.0f} kB")
        results.append((f"月度通报 {fmt.upper()}", seconds, BULLETIN_TARGET_S, "s"))

    # Posters.
    specs = (
        PosterSpec(scan_url(settings.public_base_url, new_token()), f"常州某某制造有限公司{i}",
                   "一号车间", format_short_id(i))
        for i in range(args.posters)
    )  # fmt: skip
    footer = PosterFooter(settings.office_name, settings.hotline)
    started, cpu = time.perf_counter(), time.process_time()
    with tempfile.TemporaryFile() as out:
        pages = write_vector_posters_pdf(specs, out, font_path=settings.qr_font_path, footer=footer)
    seconds, cpu_s = time.perf_counter() - started, time.process_time() - cpu
    print(f"{pages:,} vector posters: {seconds:.1f} s (CPU {cpu_s:.1f} s)")
    results.append((f"{pages:,} vector posters", seconds, POSTERS_TARGET_S, "s"))

    print("(wall times; on a busy machine compare the CPU times with the budgets)")
    for label, value, budget, unit in results:
        verdict = "met" if value <= budget else "MISSED"
        print(f"{label:24} {value:8.1f} {unit:2}  budget ≤ {budget:.0f} {unit}: {verdict}")


if __name__ == "__main__":
    main()
