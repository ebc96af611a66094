"""双重预防 on PostgreSQL: generating a week of inspection tasks, and 任务完成率 over many task
rows, each next to a same-run `SELECT count(*)` baseline.

Creates its own database on the server DATABASE_URL names (default
`mashangcha_inspections_bench`), applies the migrations, loads the statistics bench's
directory (one city, 6 districts, 4,500 enterprises), `--points` risk points spread over the
enterprises with two district-shared checklists each attached weekly (COPY), then

1. times `flask inspections generate --days 7` at a Monday 00:00 (China time): one task per
   point × checklist for that week, beside `SELECT count(*) FROM inspection_tasks` after;
2. loads `--tasks` more task rows (daily windows of one checklist over the days before, in
   every state, by COPY), rebuilds the daily rollup (COPY bypasses the task writes), and
   times 任务完成率 (the task part of `/stats/prevention` and of `include=prevention`) for
   each district over the last 90 days through today, as admin and as the district's
   supervisor, beside `SELECT count(*) FROM inspection_tasks`.

With `--keep` the database stays, and a later run with `--keep` reuses its load: it deletes
this week's generated tasks and times generation again, into the full table. Generation
also prints the CPU time the database server spent on it (read from /proc: the server must
run on this machine), which the shared machine's load does not inflate.

Targets (issue 19): (1) ≤ 10 s for 100,000 points × 2 checklists; (2) p95 ≤ 50 ms with
≥ 10,000,000 task rows in the table.

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/inspections_bench.py [--points 100000] [--tasks 10000000]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import psycopg
from benchdb import bench_database, drop_database, libpq
from sqlalchemy import text
from stats_bench import CITY, _load_directory, build_tree, copy_lines, p50_p95, timed, ts

from service.access.scoping import Actor
from service.core import migrations
from service.core.clock import CHINA
from service.core.context import Context
from service.core.db import make_engine, make_session_factory
from service.core.settings import Settings
from service.inspections import rollup, tasks
from service.statistics import prevention
from service.statistics.figures import StatsQuery, _request
from uploads_schema.vocabulary import Role

GENERATE_BUDGET_S = 10.0
TARGET_P95_MS = 50.0
DEFAULT_DATABASE = "mashangcha_inspections_bench"
DAYS_BACK = 120


def load(url: str, n_points: int, seed: int) -> tuple[Any, int]:
    """The directory, points, two shared checklists and their weekly attachments."""
    rng = random.Random(seed)
    tree = build_tree(rng)
    now = datetime.now(UTC)
    with psycopg.connect(libpq(url)) as conn, conn.cursor() as cur:
        _load_directory(cur, tree, now)
        created = ts(now)
        enterprises = [e[0] for e in tree.enterprises if e[0] % 25 != 0]  # active ones
        copy_lines(
            cur,
            "points",
            "id, enterprise_id, name, kind, location, department, responsible_person,"
            " risk_level, active, created_at",
            (
                f"{p}\t{enterprises[p % len(enterprises)]}\t风险点{p}\tequipment\t\t\t\t"
                f"{('red', 'orange', 'yellow', 'blue')[p % 4]}\tt\t{created}\n"
                for p in range(1, n_points + 1)
            ),
        )
        city_path = f"/{CITY[0]}/"
        copy_lines(
            cur,
            "checklists",
            "id, name, region_path, active, created_at",
            (f"{c}\t通用清单{c}\t{city_path}\tt\t{created}\n" for c in (1, 2)),
        )
        copy_lines(
            cur,
            "checklist_items",
            "checklist_id, position, content, basis, method, active",
            (f"{c}\t{i}\t检查项{i}\t\t\tt\n" for c in (1, 2) for i in range(5)),
        )
        copy_lines(
            cur,
            "point_checklists",
            "id, point_id, checklist_id, frequency, assignee_role, active, created_at",
            (
                f"{(p - 1) * 2 + c}\t{p}\t{c}\tweek\tenterprise_officer\tt\t{created}\n"
                for p in range(1, n_points + 1)
                for c in (1, 2)
            ),
        )
        for table in ("points", "checklists", "checklist_items", "point_checklists"):
            cur.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"
            )
        conn.commit()
    return tree, n_points


def load_history(url: str, tree: Any, n_points: int, n_tasks: int, monday: datetime) -> int:
    """`n_tasks` daily tasks of checklist 1 on the days before `monday`, in every state."""
    enterprise = {e[0]: e for e in tree.enterprises}
    actives = [e[0] for e in tree.enterprises if e[0] % 25 != 0]
    per_point = max(1, min(DAYS_BACK, n_tasks // n_points))
    points = min(n_points, -(-n_tasks // per_point))
    rng = random.Random(7)

    def lines() -> Any:
        made = 0
        for p in range(1, points + 1):
            e_id, g_id, path = enterprise[actives[p % len(actives)]][:3]
            for d in range(1, per_point + 1):
                if made == n_tasks:
                    return
                made += 1
                start = monday - timedelta(days=d)
                end = start + timedelta(days=1)
                roll = rng.random()
                if roll < 0.8:
                    state, done = "done", ts(start + timedelta(hours=9))
                elif roll < 0.9:
                    state, done = "done", ts(end + timedelta(hours=3))
                else:
                    state, done = "pending", "\\N"
                yield (
                    f"{(p - 1) * 2 + 1}\t{p}\t1\t{e_id}\t{g_id}\t{path}\tday\t{ts(start)}\t"
                    f"{ts(end)}\trole:enterprise_officer\tenterprise_officer\t{state}\t{done}\t"
                    f"f\t{ts(start)}\n"
                )

    with psycopg.connect(libpq(url)) as conn, conn.cursor() as cur:
        count = copy_lines(
            cur,
            "inspection_tasks",
            "attachment_id, point_id, checklist_id, enterprise_id, grid_id, region_path,"
            " frequency, window_start, window_end, assignee_key, assignee_role, status,"
            " done_at, flagged, created_at",
            lines(),
        )
        conn.commit()
    with psycopg.connect(libpq(url), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE inspection_tasks")
    return count


def rebuild_rollup(ctx: Context) -> int:
    """COPY bypasses the task writes: refill the daily rollup from the tasks."""
    with ctx.uow() as uow:
        rows = rollup.rebuild(uow.session)
        uow.commit()
    with psycopg.connect(libpq(str(ctx.settings.database_url)), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE task_daily")  # the refill's dead rows, as autovacuum would
    return rows


def history_loaded(url: str) -> int:
    """The task rows of a kept load from before this week (0 when there is none)."""
    try:
        with psycopg.connect(libpq(url)) as conn:
            return int(conn.execute("SELECT count(*) FROM inspection_tasks").fetchone()[0])
    except psycopg.Error:
        return 0


def backend_cpu_s(ctx: Context) -> float:
    """CPU seconds the database server has spent for this process's connections so far
    (the server runs on this machine): a figure the shared machine's load does not inflate."""
    total = 0.0
    with ctx.read() as uow:
        pids = uow.session.execute(
            text(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                " AND backend_type = 'client backend'"
            )
        ).scalars()
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def count_star(ctx: Context) -> None:
    with ctx.read() as uow:
        uow.session.execute(text("SELECT count(*) FROM inspection_tasks")).scalar()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--tasks", type=int, default=10_000_000)
    parser.add_argument("--database", default=DEFAULT_DATABASE)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="leave the database afterwards")
    args = parser.parse_args()
    server_url = os.environ.get("DATABASE_URL", "")
    if not server_url.startswith("postgresql"):
        raise SystemExit("DATABASE_URL must name a PostgreSQL server (postgresql+psycopg://…)")
    url, reused = bench_database(
        server_url, args.database, args.keep, lambda u: history_loaded(u) >= args.tasks
    )
    migrations.upgrade(url)
    engine = make_engine(url)
    try:
        settings = Settings(app_env="bench", database_url=url, secret_key="b" * 40)
        ctx = Context(settings=settings, session_factory=make_session_factory(engine))
        today = datetime.now(CHINA).date()
        monday = datetime.combine(
            today - timedelta(days=today.weekday()), datetime.min.time(), CHINA
        )
        if reused:
            # The kept load: generation is timed again into the full table.
            tree, n_points = build_tree(random.Random(19)), args.points
            with psycopg.connect(libpq(url), autocommit=True) as conn:
                supervisors = conn.execute(
                    "SELECT region_id, id FROM users WHERE role = 'supervisor'"
                ).fetchall()
                tree.supervisor_of_region.update(dict(supervisors))
                conn.execute("DELETE FROM inspection_tasks WHERE window_start >= %s", (monday,))
                conn.execute("VACUUM ANALYZE inspection_tasks")
            rebuild_rollup(ctx)
            rows = history_loaded(url)
            print(f"reusing {n_points:,} points and {rows:,} task rows of a kept load")
        else:
            started = time.perf_counter()
            tree, n_points = load(url, args.points, 19)
            elapsed = time.perf_counter() - started
            print(f"loaded {n_points:,} points × 2 checklists in {elapsed:.1f} s")

        cpu = backend_cpu_s(ctx)
        started = time.perf_counter()
        created = tasks.generate(ctx, days=7, now=monday)
        generate_s = time.perf_counter() - started
        cpu = backend_cpu_s(ctx) - cpu
        (base,) = timed(lambda: count_star(ctx), 1, 1)
        again = time.perf_counter()
        repeated = tasks.generate(ctx, days=7, now=monday)
        again_s = time.perf_counter() - again
        verdict = "OK" if generate_s <= GENERATE_BUDGET_S else "OVER BUDGET"
        print(
            f"generate a week: {created:,} tasks in {generate_s:.2f} s (budget "
            f"{GENERATE_BUDGET_S:.0f} s: {verdict}; database CPU {cpu:.2f} s); again: "
            f"{repeated} new in {again_s:.2f} s; count(*) of the table {base:.1f} ms"
        )

        if not reused:
            started = time.perf_counter()
            rows = load_history(url, tree, n_points, args.tasks, monday)
            print(f"loaded {rows:,} more task rows in {time.perf_counter() - started:.1f} s")
            started = time.perf_counter()
            units = rebuild_rollup(ctx)
            print(
                f"rebuilt the daily rollup: {units:,} rows in {time.perf_counter() - started:.1f} s"
            )
        baseline = timed(lambda: count_star(ctx), args.runs, args.warmup)
        base50, base95 = p50_p95(baseline)
        print(
            f"{'SELECT count(*) FROM inspection_tasks':56}"
            f" p50 {base50:7.1f} ms  p95 {base95:7.1f} ms"
        )
        # The last 90 days through today: whole days from the rollup, today's ended
        # windows live.
        query = StatsQuery(date_from=today - timedelta(days=89), date_to=today)
        worst = 0.0
        districts = [r for r in tree.regions if r[3] == "district"]
        for region_id, _, name, _, _, _ in districts[:3]:
            for who, actor in (
                ("admin", Actor(user_id=1, role=Role.ADMIN)),
                (
                    "supervisor",
                    Actor(
                        user_id=tree.supervisor_of_region[region_id],
                        role=Role.SUPERVISOR,
                        region_id=region_id,
                        region_path=next(r[5] for r in tree.regions if r[0] == region_id),
                    ),
                ),
            ):
                asked = StatsQuery(**{**query.__dict__, "region_id": region_id})

                def completion(actor: Actor = actor, asked: StatsQuery = asked) -> None:
                    with _request(ctx, actor, asked) as r:
                        prevention._task_counts(r, use_rollup=r.rollup_serves())

                samples = timed(completion, args.runs, args.warmup)
                p50, p95 = p50_p95(samples)
                worst = max(worst, p95)
                print(
                    f"任务完成率 {name} quarter as {who:10}".ljust(56)
                    + f" p50 {p50:7.1f} ms  p95 {p95:7.1f} ms   x{p50 / base50:5.2f} of count(*)"
                )
        verdict = "OK" if worst <= TARGET_P95_MS else "OVER TARGET"
        print(f"worst p95 {worst:.1f} ms (target {TARGET_P95_MS:.0f} ms: {verdict})")

    finally:
        engine.dispose()
        if not args.keep:
            drop_database(server_url, args.database)


if __name__ == "__main__":
    main()
