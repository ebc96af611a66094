"""The benchmarks' own PostgreSQL databases (created, reused with --keep, dropped) and the
sample texts their generated hazards share."""

from __future__ import annotations

from collections.abc import Callable

import psycopg
from sqlalchemy.engine import make_url

from uploads_schema.vocabulary import HazardCategory

CATEGORIES = [c.value for c in HazardCategory]
DESCRIPTIONS = [
    "消防通道被货物堵塞，疏散指示标志损坏",
    "配电箱未上锁，电线私拉乱接",
    "叉车未按期检验，操作人员无证上岗",
    "危化品仓库通风设施失效，未设防泄漏围堰",
    "有限空间作业未审批，无气体检测记录",
    "除尘系统积尘严重，未定期清扫",
    "冲床防护罩缺失，急停按钮失灵",
    "高处作业未系安全带，脚手架无防护栏",
    "车间物料堆放杂乱，安全出口被占用",
    "灭火器过期未更换",
]


def libpq(url: str) -> str:
    """A SQLAlchemy URL as a libpq connection string for psycopg."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def bench_database(
    server_url: str, name: str, keep: bool, loaded: Callable[[str], bool]
) -> tuple[str, bool]:
    """The bench database URL, and whether an existing load (`loaded(url)`) is reused.

    Only names with "bench" in them and not starting with "test" are touched, so a bench
    never drops a database the test suites or anyone else use.
    """
    if name.startswith("test") or "bench" not in name:
        raise SystemExit(f"refusing to use database {name!r}: the name must contain 'bench'")
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(libpq(server_url), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists and keep and loaded(url):
            return url, True
        if exists:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return url, False


def drop_database(server_url: str, name: str) -> None:
    """Drop a bench database."""
    with psycopg.connect(libpq(server_url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
