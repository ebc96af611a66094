"""Authenticated API reads under gunicorn on PostgreSQL, against a bare Flask endpoint.

Creates its own database on the server DATABASE_URL names (default
`mashangcha_api_bench`), applies the migrations and the demo seed, then loads generated
hazards (COPY) across the demo enterprises in realistic states, each with 1–2 photos and
2–4 hash-chained events. It starts the real app (`wsgi:app`, production settings) and
`bench/bare_app.py` under the same gunicorn settings (`gunicorn.conf.py`: 2 workers ×
GUNICORN_THREADS gthread threads) and drives each with wrk (16 connections, a Lua
script for the bearer header and random ids / pages):

- the bare endpoint `GET /ping` (baseline),
- `GET /api/v1/hazards/{id}`, a random hazard of the district, as the district supervisor,
- `GET /api/v1/hazards?page=N`, a random page of the first --pages, same supervisor.

Targets (SPEC §6, issue 8), on 2 cores: single read >= 0.35 x the bare req/s with
p99 <= 20 ms; list page p99 <= 40 ms. Next to req/s, p50 and p99 it prints the CPU
the server and its database backends spent per request (from /proc), and warns when
other processes took CPU during a run: on a shared machine those numbers are low.

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/postgres \
        .venv/bin/python bench/api_bench.py [--hazards 100000] [--duration 15] [--keep]

Only the server of DATABASE_URL is used. --keep reuses an already loaded bench database
(and leaves it there afterwards); without it the database is rebuilt and dropped at the
end. --profile DIR records the app's workers with py-spy. wrk comes from Debian and is
installed with apt-get when missing.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

# Run as a script from anywhere: make the repository root importable.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psycopg
from benchdb import CATEGORIES, DESCRIPTIONS, bench_database, drop_database, libpq
from sqlalchemy import select, text

from service.access.auth import issue_token
from service.bootstrap import install_listeners, storage_for
from service.core import migrations
from service.core.clock import china_date
from service.core.context import Context
from service.core.db import make_engine, make_session_factory
from service.core.settings import Settings
from service.demo import seed
from service.directory.models import Enterprise, User
from service.hazards import workflow
from service.media.models import Media
from uploads_schema.vocabulary import Role

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATABASE = "mashangcha_api_bench"
PUBLIC_BASE_URL = "https://mashangcha.example.gov.cn"
NULL = "\\N"

READ_RATIO_TARGET = 0.35
READ_P99_TARGET_MS = 20.0
LIST_P99_TARGET_MS = 40.0

STATUS_MIX = {"closed": 55, "rectifying": 15, "verifying": 8, "reported": 12, "rejected": 10}
SOURCE_MIX = {"inspection": 40, "self_check": 35, "public_tip": 25}
PHOTO_ATTRS = ("key", "thumb_key", "sha256", "size_bytes", "width", "height", "thumb_width")
PHOTO_ATTRS += ("thumb_height",)
PLAN = {
    "responsible_person": "生产厂长",
    "measures": "停产整改，更换防护设施",
    "funds": "50000元",
    "deadline": "30天",
    "contingency_plan": "已制定专项应急预案",
}

WRK_SCRIPT = r"""
-- mode, first, last, token come after `--` on the wrk command line.
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("seed", counter)
end
function init(args)
  mode, first, last = args[1], tonumber(args[2]), tonumber(args[3])
  if args[4] then wrk.headers["Authorization"] = "Bearer " .. args[4] end
  math.randomseed(os.time() * 1000 + (seed or 0))
end
function request()
  local n = math.random(first, last)
  if mode == "read" then return wrk.format(nil, "/api/v1/hazards/" .. n) end
  if mode == "list" then return wrk.format(nil, "/api/v1/hazards?page=" .. n) end
  return wrk.format(nil, "/ping")
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '\nRESULT {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,' ..
    '"non2xx":%d,"socket_errors":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.status, e.connect + e.read + e.write + e.timeout))
end
"""


# ── the database ──────────────────────────────────────────────────────────────────


def _generated_count(url: str) -> int | None:
    try:
        with psycopg.connect(libpq(url)) as conn:
            found = conn.execute("SELECT last_id - first_id + 1 FROM api_bench_load").fetchone()
            return int(found[0]) if found else None
    except psycopg.Error:
        return None


def esc(value: str) -> str:
    """A value for COPY's text format."""
    return (
        value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    )


def cell(value: object) -> str:
    if value is None:
        return NULL
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dict | list):
        return esc(json.dumps(value, ensure_ascii=False))
    return esc(str(value))


def row(*values: object) -> str:
    return "\t".join(cell(v) for v in values) + "\n"


def copy_rows(cur: psycopg.Cursor[Any], table: str, columns: str, lines: Iterable[str]) -> int:
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


# ── the data set ──────────────────────────────────────────────────────────────────


@dataclass
class World:
    """What the demo seed made, as the generator needs it."""

    enterprises: list[tuple[int, int, str]]  # id, grid id, region path
    officer_of: dict[int, int]  # enterprise id → an officer's user id
    users: dict[str, int]  # demo username → id
    photos: list[tuple[Any, ...]]  # PHOTO_ATTRS of the seeded photos; rows share their keys


def seed_world(ctx: Context) -> World:
    """The demo seed, plus one officer per enterprise so every hazard can be assigned."""
    seed(ctx)
    with ctx.uow() as uow:
        s = uow.session
        enterprises = [
            (e.id, e.grid_id, e.region_path) for e in s.scalars(select(Enterprise).order_by("id"))
        ]
        officers = {
            u.enterprise_id: u.id
            for u in s.scalars(select(User).where(User.role == Role.ENTERPRISE_OFFICER))
        }
        for enterprise_id, _, _ in enterprises:
            if enterprise_id not in officers:
                user = User(
                    username=f"bench_officer_{enterprise_id}",
                    display_name=f"安全员{enterprise_id}",
                    role=Role.ENTERPRISE_OFFICER,
                    enterprise_id=enterprise_id,
                    token_version=0,
                    grids=[],
                )
                s.add(user)
                s.flush()
                officers[enterprise_id] = user.id
        users = {u.username: u.id for u in s.scalars(select(User)) if u.username}
        photos = [
            tuple(getattr(m, name) for name in PHOTO_ATTRS)
            for m in s.scalars(select(Media).order_by(Media.id))
        ]
        uow.commit()
    if not photos:
        raise SystemExit("the demo seed made no photos (storage not configured?)")
    return World(enterprises, officers, users, photos)


def pick(rng: random.Random, mix: dict[str, int]) -> str:
    return rng.choices(list(mix), weights=list(mix.values()))[0]


@dataclass
class Tables:
    hazards: list[str]
    events: list[str]
    media: list[str]
    hazard_media: list[str]
    counters: dict[str, int]


def generate(world: World, count: int, start_ids: dict[str, int], rng: random.Random) -> Tables:
    """`count` hazards over the last year, numbered per district and day like the real ones."""
    now = datetime.now(UTC).replace(microsecond=0)
    moments = sorted(
        now - timedelta(seconds=rng.randrange(86_400, 365 * 86_400)) for _ in range(count)
    )
    out = Tables([], [], [], [], Counter())
    hazard_id, event_id = start_ids["hazards"], start_ids["hazard_events"]
    media_id, link_id = start_ids["media"], start_ids["hazard_media"]
    u = world.users
    for created in moments:
        enterprise_id, grid_id, region_path = rng.choice(world.enterprises)
        officer = world.officer_of[enterprise_id]
        status, source = pick(rng, STATUS_MIX), pick(rng, SOURCE_MIX)
        major = rng.random() < 0.05
        anonymous = source == "public_tip" and rng.random() < 0.5
        reporter = {
            "inspection": rng.choice([u["inspector"], u["street"], u["district"]]),
            "self_check": officer,
            "public_tip": None if anonymous else u["worker"],
        }[source]
        verifier = u["district"] if major else u["inspector"]
        # Numbered like real ones; every day is before today, so no real report collides.
        day = china_date(created).strftime("%Y%m%d")
        scope = f"{region_path.strip('/').split('/')[1][:6]}-{day}"
        out.counters[scope] += 1
        number = f"YH{scope}-{out.counters[scope]:04d}"

        span = min(now - created, timedelta(days=40)).total_seconds()
        steps = {"reported": 2, "rejected": 2, "rectifying": 2, "verifying": 3, "closed": 4}[status]
        if status == "rectifying" and rng.random() < 0.5:
            steps = 3  # an extension request pending
        later = (created + timedelta(seconds=int(rng.uniform(60, span))) for _ in range(steps - 1))
        times = [created, *sorted(later)]
        deadline = created + timedelta(days=rng.choice([7, 15, 30]))
        before_media, after_media = media_id, media_id + 1
        events: list[tuple[str, str | None, str, int | None, str, dict[str, Any]]] = [
            ("report", None, "reported", reporter, "", {"media_ids": [before_media]})
        ]
        h: dict[str, Any] = {"plan": dict(PLAN) if major else None}
        if status == "reported":
            h["plan"] = dict(PLAN)
            events.append(("file_plan", "reported", "reported", officer, "", {"plan": PLAN}))
        elif status == "rejected":
            reason = "现场核实不属实"
            h.update(rejected_reason=reason, rejected_by_id=u["inspector"])
            events.append(("reject", "reported", "rejected", u["inspector"], reason, {}))
        else:
            assign = {
                "assignee_id": officer,
                "deadline": deadline.isoformat(),
                "level": "major" if major else "general",
            }
            events.append(("assign", "reported", "rectifying", verifier, "", assign))
            h.update(assignee_id=officer, deadline=deadline, original_deadline=deadline)
            if status == "rectifying" and steps == 3:
                until = deadline + timedelta(days=7)
                h.update(extension_until=until, extension_reason="设备到货延迟")
                events.append(
                    (
                        "request_extension",
                        "rectifying",
                        "rectifying",
                        officer,
                        "设备到货延迟",
                        {"until": until.isoformat()},
                    )
                )
            if status in ("verifying", "closed"):
                note = "已整改完毕，附整改后照片"
                h.update(fix_note=note, fix_submitted_at=times[2])
                events.append(
                    (
                        "submit_fix",
                        "rectifying",
                        "verifying",
                        officer,
                        note,
                        {"media_ids": [after_media]},
                    )
                )
            if status == "closed":
                h.update(closed_at=times[3], closed_by_id=verifier)
                events.append(
                    ("pass", "verifying", "closed", verifier, "验收合格", {"media_ids": []})
                )

        prev = workflow.GENESIS_HASH
        for seq, ((action, frm, to, actor_id, note, data), at) in enumerate(
            zip(events, times, strict=True), start=1
        ):
            role = _role_of(actor_id, u, world.officer_of)
            fields = workflow._hashed_fields(  # the app's own hashing: the chains verify
                SimpleNamespace(
                    action=workflow.HazardAction(action),
                    from_status=workflow.HazardStatus(frm) if frm else None,
                    to_status=workflow.HazardStatus(to),
                    actor_id=actor_id,
                    actor_role=role,
                    note=note,
                    data=data,
                    created_at=at,
                )
            )
            digest = workflow.event_hash(prev, hazard_id, seq, fields)
            out.events.append(
                row(
                    event_id,
                    hazard_id,
                    seq,
                    action,
                    frm,
                    to,
                    actor_id,
                    role,
                    note,
                    data,
                    at,
                    prev,
                    digest,
                )
            )
            event_id += 1
            prev = digest

        photo_roles = [("before", before_media, 1, reporter)]
        if status in ("verifying", "closed"):
            photo_roles.append(("after", after_media, 3, officer))
        for role_name, mid, event_seq, uploader in photo_roles:
            key, thumb, sha, size, w, hgt, tw, th = rng.choice(world.photos)
            out.media.append(
                row(
                    mid, "photo", "attached", uploader, sha, key, thumb,
                    "image/jpeg", "image/jpeg", size, w, hgt, tw, th, None, None, None,
                    times[event_seq - 1], times[event_seq - 1],
                )
            )  # fmt: skip
            out.hazard_media.append(row(link_id, hazard_id, mid, role_name, 0, event_seq))
            link_id += 1
        media_id += 2

        out.hazards.append(
            row(
                hazard_id, number, enterprise_id, None, None, grid_id, region_path, source,
                "scan" if source == "public_tip" else "app", rng.choice(CATEGORIES),
                rng.choice(DESCRIPTIONS), "major" if major else "general", status,
                len(events), len(events), prev, reporter, anonymous,
                hashlib.sha256(f"bench-receipt-{hazard_id}".encode()).hexdigest()
                if anonymous else None,
                None, None, h.get("assignee_id"), h.get("deadline"), h.get("original_deadline"),
                h.get("extension_until"), h.get("extension_reason"), h["plan"], major, 0,
                h.get("rejected_reason"), h.get("rejected_by_id"), h.get("fix_note"),
                h.get("fix_submitted_at"), h.get("closed_at"), h.get("closed_by_id"),
                0, created, times[-1],
            )
        )  # fmt: skip
        hazard_id += 1
    return out


HAZARD_COLUMNS = (
    "id, number, enterprise_id, point_id, qrcode_id, grid_id, region_path, source, origin, "
    "category, description, level, status, version, event_seq, last_event_hash, reporter_id, "
    "anonymous, receipt_key_hash, lat, lng, assignee_id, deadline, original_deadline, "
    "extension_until, extension_reason, plan, supervised, reopen_count, rejected_reason, "
    "rejected_by_id, fix_note, fix_submitted_at, closed_at, closed_by_id, escalation_level, "
    "created_at, updated_at"
)
EVENT_COLUMNS = (
    "id, hazard_id, seq, action, from_status, to_status, actor_id, actor_role, note, data, "
    "created_at, prev_hash, hash"
)
MEDIA_COLUMNS = (
    "id, kind, status, uploader_id, sha256, key, thumb_key, content_type, source_type, "
    "size_bytes, width, height, thumb_width, thumb_height, captured_at, gps_lat, gps_lng, "
    "created_at, attached_at"
)
LINK_COLUMNS = "id, hazard_id, media_id, role, position, event_seq"


def _role_of(user_id: int | None, users: dict[str, int], officers: dict[int, int]) -> str:
    if user_id is None:
        return "system"
    if user_id in officers.values():
        return Role.ENTERPRISE_OFFICER.value
    if user_id in (users["district"], users["street"]):
        return Role.SUPERVISOR.value
    if user_id == users["inspector"]:
        return Role.INSPECTOR.value
    return Role.REPORTER.value


def load(url: str, world: World, count: int) -> None:
    """COPY the generated hazards with their events and photos, then ANALYZE."""
    started = time.perf_counter()
    tables = ("hazards", "hazard_events", "media", "hazard_media")
    with psycopg.connect(libpq(url)) as conn, conn.cursor() as cur:
        start_ids = {}
        for table in tables:
            cur.execute(f"SELECT coalesce(max(id), 0) + 1 FROM {table}")
            start_ids[table] = cur.fetchone()[0]  # type: ignore[index]
        data = generate(world, count, start_ids, random.Random(20261124))
        copy_rows(cur, "media", MEDIA_COLUMNS, data.media)
        copy_rows(cur, "hazards", HAZARD_COLUMNS, data.hazards)
        copy_rows(cur, "hazard_events", EVENT_COLUMNS, data.events)
        copy_rows(cur, "hazard_media", LINK_COLUMNS, data.hazard_media)
        copy_rows(
            cur, "hazard_counters", "scope, value", (row(k, v) for k, v in data.counters.items())
        )
        for table in tables:
            cur.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"
            )
        # Which ids the bench made: the reuse check and the random ids come from here.
        cur.execute("CREATE TABLE api_bench_load (first_id integer, last_id integer)")
        cur.execute(
            "INSERT INTO api_bench_load VALUES (%s, %s)",
            (start_ids["hazards"], start_ids["hazards"] + count - 1),
        )
        conn.commit()
        conn.autocommit = True
        cur.execute("VACUUM ANALYZE")
    print(
        f"loaded {count:,} hazards, {len(data.events):,} events, {len(data.media):,} photos "
        f"in {time.perf_counter() - started:.1f} s"
    )


# ── servers and load ──────────────────────────────────────────────────────────────


def ensure_wrk() -> str:
    """wrk's path; installs Debian's package when it is missing (like `make fonts`)."""
    path = shutil.which("wrk")
    if path:
        return path
    print("installing wrk (Debian package) for the load generator")
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    install = [*sudo, "apt-get", "install", "-y", "-q", "wrk"]
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    if subprocess.run(install, **quiet).returncode != 0:  # type: ignore[call-overload]
        subprocess.run([*sudo, "apt-get", "update", "-q"], **quiet)  # type: ignore[call-overload]
        subprocess.run(install, **quiet)  # type: ignore[call-overload]
    path = shutil.which("wrk")
    if not path:
        raise SystemExit("wrk is needed: install it with `apt-get install wrk` and run again")
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    base_url: str


def start_gunicorn(name: str, app: str, env: dict[str, str], log: Path, ready_path: str) -> Server:
    """gunicorn with the production config file, on a free loopback port."""
    port = free_port()
    command = [
        str(Path(sys.executable).with_name("gunicorn")),
        "--config",
        "gunicorn.conf.py",
        "--no-control-socket",
        "--bind",
        f"127.0.0.1:{port}",
        app,
    ]
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT
    )
    server = Server(name, process, f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{name} did not start; see {log}")
        try:
            with urllib.request.urlopen(server.base_url + ready_path, timeout=2) as response:
                if response.status == 200:
                    return server
        except OSError:
            time.sleep(0.2)
    stop(server)
    raise SystemExit(f"{name} did not answer within 60 s; see {log}")


def stop(server: Server) -> None:
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGTERM)
        try:
            server.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.process.kill()


@dataclass
class Result:
    name: str
    rps: float
    p50_ms: float
    p99_ms: float
    non2xx: int
    socket_errors: int
    requests: int
    seconds: float
    app_cpu: float = 0.0  # CPU seconds of the server's processes during the run
    db_cpu: float = 0.0  # … of the PostgreSQL backends serving the bench database
    other_cpu: float = 0.0  # … of every process that is not part of this bench


TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Proc:
    ppid: int
    cpu: float  # seconds, user + system, all threads
    command: str


def processes() -> dict[int, Proc]:
    """Every process with its parent, CPU time so far and command line (from /proc)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            command = (
                (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
            )
        except OSError:
            continue  # exited meanwhile
        cpu = (int(stat[11]) + int(stat[12])) / TICKS
        found[int(entry.name)] = Proc(int(stat[1]), cpu, command)
    return found


def descendants(root: int, table: dict[int, Proc]) -> set[int]:
    found, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, p in table.items() if p.ppid == parent and pid not in found]
        found.update(children)
        frontier.extend(children)
    return found


def account(result: Result, before: dict[int, Proc], server: Server, database: str) -> None:
    """Split the CPU used during a run: the server, its database backends, everyone else."""
    after = processes()
    app = descendants(server.process.pid, after)
    mine = descendants(os.getpid(), after)
    for pid, proc in after.items():
        spent = proc.cpu - (before[pid].cpu if pid in before else 0.0)
        if pid in app:
            result.app_cpu += spent
        elif f" {database} " in proc.command:
            result.db_cpu += spent
        elif pid not in mine:
            result.other_cpu += spent


def run_wrk(
    wrk: str,
    script: Path,
    name: str,
    base_url: str,
    args: list[str],
    duration: int,
    connections: int,
    threads: int,
) -> Result:
    command = [
        wrk,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{duration}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        base_url,
        "--",
        *args,
    ]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    line = next(x for x in output.splitlines() if x.startswith("RESULT "))
    r = json.loads(line.removeprefix("RESULT "))
    return Result(
        name=name,
        rps=r["requests"] / (r["duration_us"] / 1e6),
        p50_ms=r["p50_us"] / 1000,
        p99_ms=r["p99_us"] / 1000,
        non2xx=r["non2xx"],
        socket_errors=r["socket_errors"],
        requests=r["requests"],
        seconds=r["duration_us"] / 1e6,
    )


def check_answers(server: Server, token: str, hazard_id: int) -> None:
    """One request per endpoint before timing: 200, with the photos and a full page."""
    for path in (f"/api/v1/hazards/{hazard_id}", "/api/v1/hazards?page=2"):
        request = urllib.request.Request(
            server.base_url + path, headers={"Authorization": f"Bearer {token}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            body = json.loads(response.read())
        item = body["items"][0] if "items" in body else body
        if "items" in body and len(body["items"]) != 20:
            raise SystemExit(f"{path}: expected a full page, got {len(body['items'])} items")
        if not item["photos"]["before"]:
            raise SystemExit(f"{path}: the hazard has no photos")


def workers_of(server: Server) -> list[int]:
    """The gunicorn worker pids of a server (children of its arbiter)."""
    children = Path(f"/proc/{server.process.pid}/task/{server.process.pid}/children")
    return [int(pid) for pid in children.read_text().split()]


def start_profilers(server: Server, folder: Path, key: str, seconds: int) -> list[Any]:
    """py-spy on every worker for the timed run; collapsed stacks (flamegraph input) land
    in `folder`, one file per endpoint and worker."""
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(py_spy).exists():
        raise SystemExit("--profile needs py-spy: .venv/bin/pip install py-spy")
    folder.mkdir(parents=True, exist_ok=True)
    spies = []
    for pid in workers_of(server):
        output = folder / f"{key}-{pid}.txt"
        command = [py_spy, "record", "--nonblocking", "--format", "raw", "--duration"]
        command += [str(seconds), "--pid", str(pid), "--output", str(output)]
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        spies.append(subprocess.Popen(command, **quiet))  # type: ignore[call-overload]
    return spies


# ── main ──────────────────────────────────────────────────────────────────────────


def main() -> None:
    """Load the data, start both servers, drive them with wrk and print ratios and targets."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hazards", type=int, default=100_000)
    parser.add_argument("--duration", type=int, default=15, help="seconds per endpoint")
    parser.add_argument("--warmup", type=int, default=3, help="seconds per endpoint, untimed")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument(
        "--threads", type=int, default=None, help="gunicorn threads (GUNICORN_THREADS default)"
    )
    parser.add_argument("--pages", type=int, default=50, help="list pages drawn from 1..N")
    parser.add_argument("--database", default=DEFAULT_DATABASE)
    parser.add_argument("--keep", action="store_true", help="reuse and keep the bench database")
    parser.add_argument(
        "--only", choices=["bare", "read", "list"], action="append", help="run only these"
    )
    parser.add_argument(
        "--rounds", type=int, default=1, help="repeat bare, read, list; print each one's median"
    )
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="record the app's workers with py-spy during the timed runs (collapsed stacks)",
    )
    args = parser.parse_args()

    server_url = os.environ.get("DATABASE_URL", "")
    if not server_url.startswith("postgresql"):
        raise SystemExit("set DATABASE_URL to a PostgreSQL server (postgresql+psycopg://…)")
    wrk = ensure_wrk()
    threads = args.threads or int(os.environ.get("GUNICORN_THREADS", "4"))

    url, reused = bench_database(
        server_url, args.database, args.keep, lambda u: _generated_count(u) == args.hazards
    )
    work = Path(tempfile.mkdtemp(prefix="api_bench_"))
    media_root = ROOT / "var" / "api_bench_media"
    secret = secrets.token_urlsafe(32)
    settings = Settings(
        app_env="production",
        database_url=url,
        secret_key=secret,
        public_base_url=PUBLIC_BASE_URL,
        storage_backend="local",
        media_root=str(media_root),
    )
    install_listeners()
    engine = make_engine(url)
    ctx = Context(settings, make_session_factory(engine), storage=storage_for(settings))
    if reused:
        print(f"reusing {args.database} with {args.hazards:,} generated hazards")
    else:
        print(f"building {args.database}: migrations, demo seed, {args.hazards:,} hazards")
        migrations.upgrade(url)
        # The demo seed refuses production settings (its accounts share a published
        # password); the bench's servers run production, its data is the demo's all the same.
        seeding = Context(settings.with_overrides(app_env="test"), ctx.session_factory,
                          storage=ctx.storage)  # fmt: skip
        world = seed_world(seeding)
        load(url, world, args.hazards)
    with ctx.read() as uow:
        s = uow.session
        district = s.scalar(select(User).where(User.username == "district"))
        assert district is not None
        token = issue_token(ctx, district)
        first, last = s.execute(text("SELECT first_id, last_id FROM api_bench_load")).one()
    engine.dispose()

    env = {
        **{k: v for k, v in os.environ.items() if k not in ("GUNICORN_CMD_ARGS", "REDIS_URL")},
        "APP_ENV": "production",
        "DATABASE_URL": url,
        "SECRET_KEY": secret,
        "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
        "STORAGE_BACKEND": "local",
        "MEDIA_ROOT": str(media_root),
        "WECHAT_APPID": "wx-bench",
        "WECHAT_SECRET": "bench-secret",
        "LOG_FORMAT": "json",
        "RATELIMIT_SCAN": "1000000/second",
        "RATELIMIT_LOGIN": "1000000/second",
        "RATELIMIT_UPLOAD": "1000000/second",
        "WEB_CONCURRENCY": str(args.workers),
        "GUNICORN_THREADS": str(threads),
    }
    script = work / "bench.lua"
    script.write_text(WRK_SCRIPT)
    log = work / "gunicorn.log"
    servers: list[Server] = []
    try:
        bare = start_gunicorn("bare Flask", "bench.bare_app:app", env, log, "/ping")
        servers.append(bare)
        app = start_gunicorn("app", "wsgi:app", env, log, "/api/v1/healthz")
        servers.append(app)
        check_answers(app, token, first)
        print(
            f"gunicorn: {args.workers} workers x {threads} threads (gthread); wrk: "
            f"{args.connections} connections, {args.wrk_threads} threads, {args.duration} s each, "
            f"{args.rounds} round(s)"
        )
        runs = [
            ("bare", "bare Flask GET /ping", bare, ["bare", "1", "1"]),
            ("read", "GET /api/v1/hazards/{id}", app, ["read", str(first), str(last), token]),
            ("list", "GET /api/v1/hazards?page=N", app, ["list", "1", str(args.pages), token]),
        ]
        rounds: dict[str, list[Result]] = {}
        for round_ in range(args.rounds):
            for key, name, server, wrk_args in runs:
                if args.only and key not in args.only:
                    continue
                common = (wrk, script, name, server.base_url, wrk_args)
                run_wrk(*common, args.warmup, args.connections, args.wrk_threads)
                spies = []
                if args.profile and server is app and round_ == 0:
                    spies = start_profilers(server, args.profile, key, args.duration)
                before = processes()
                result = run_wrk(*common, args.duration, args.connections, args.wrk_threads)
                account(result, before, server, args.database)
                rounds.setdefault(key, []).append(result)
                for spy in spies:
                    spy.wait()
        # Each endpoint's median run by req/s: one noisy round on a shared machine does not
        # decide the table.
        results = {k: sorted(rs, key=lambda r: r.rps)[len(rs) // 2] for k, rs in rounds.items()}
    finally:
        for server in servers:
            stop(server)
        if not args.keep:
            drop_database(server_url, args.database)

    report(results)
    shutil.rmtree(work, ignore_errors=True)


def report(results: dict[str, Result]) -> None:
    """The table, the ratios to the bare endpoint and whether the targets are met."""
    bare = results.get("bare")
    print(
        f"\n{'endpoint':<30}{'req/s':>8}{'p50 ms':>8}{'p99 ms':>8}{'× bare':>8}{'errors':>7}"
        f"{'app CPU':>9}{'db CPU':>8}  (CPU: ms per request)"
    )
    for r in results.values():
        ratio = f"{r.rps / bare.rps:.2f}" if bare else "-"
        errors = r.non2xx + r.socket_errors
        app_ms, db_ms = (1000 * cpu / max(r.requests, 1) for cpu in (r.app_cpu, r.db_cpu))
        print(
            f"{r.name:<30}{r.rps:>8.0f}{r.p50_ms:>8.1f}{r.p99_ms:>8.1f}{ratio:>8}{errors:>7}"
            f"{app_ms:>9.2f}{db_ms:>8.2f}"
        )
    for r in results.values():
        busy = r.other_cpu / r.seconds
        if busy > 0.1:
            print(f"  warning: other processes used {busy:.1f} CPUs during {r.name}: numbers low")
    checks = []
    if "read" in results and bare:
        read = results["read"]
        ratio = read.rps / bare.rps
        checks.append(
            (f"single read >= {READ_RATIO_TARGET} x bare ({ratio:.3f})", ratio >= READ_RATIO_TARGET)
        )
        checks.append(
            (
                f"single read p99 <= {READ_P99_TARGET_MS:.0f} ms ({read.p99_ms:.1f})",
                read.p99_ms <= READ_P99_TARGET_MS,
            )
        )
    if "list" in results:
        p99 = results["list"].p99_ms
        checks.append(
            (f"list page p99 <= {LIST_P99_TARGET_MS:.0f} ms ({p99:.1f})", p99 <= LIST_P99_TARGET_MS)
        )
    for r in results.values():
        if r.non2xx or r.socket_errors:
            checks.append((f"{r.name}: every answer 2xx", False))
    for label, ok in checks:
        print(f"  {'met    ' if ok else 'NOT MET'}  {label}")


if __name__ == "__main__":
    main()
