"""The authorization matrix: every route × every role × an object inside / outside its scope.

`MATRIX` holds, for every (method, rule) of `app.url_map`, one row per probed object and
one expected status per role (columns in `ROLES` order). The expectations are the
documented rules (README "Using the API" … "Statistics", SPEC §1): out-of-scope ids are
404 exactly like unknown ids; a write the role may never do is 403 (checked before
scope); public endpoints answer everyone alike. Every body is valid and every hazard is
in the state its transition needs, so a status reflects authorization, not validation.

Speed: the objects are built once per module through the API (uploads, reports,
transitions, QR codes, check-ins) inside an outer transaction that is rolled back at the
end; each test runs in its own SAVEPOINT, and each single request in a nested one, so a
write never changes what the next role or test sees. One test per route loops over its
cells and reports all mismatches at once as a table.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from openpyxl import load_workbook
from sqlalchemy.orm import sessionmaker

from miniprogram_api import create_app
from service.access.auth import issue_token
from service.bootstrap import storage_for
from service.core.context import Context
from service.core.settings import Settings
from service.directory import credit_code
from service.documents.models import FiledDocument
from service.jobs.models import Job, JobState
from tests.api.hazard_helpers import PLAN, in_days
from tests.api.matrix_world import ROLES, Matrix, build_matrix
from tests.factories import PASSWORD
from tests.hostile import plain_jpeg
from uploads_schema.vocabulary import DocumentKind

# Routes outside the matrix: Flask's `static`, and the OpenAPI document, the docs UI, its
# start-up script and assets — public, static, holding no data
# (tests/api/test_errors_and_docs.py).
UNPROBED = {
    ("GET", "/static/<path:filename>"),
    ("GET", "/api/openapi.json"),
    ("GET", "/api/docs"),
    ("GET", "/api/docs/start.js"),
    ("GET", "/api/docs-assets/<path:filename>"),
}

# --- module-wide world, per-test and per-request savepoints ------------------------------


@pytest.fixture(scope="module")
def matrix_connection(engine):  # type: ignore[no-untyped-def]
    conn = engine.connect()
    outer = conn.begin()
    yield conn
    outer.rollback()
    conn.close()


@pytest.fixture(scope="module")
def matrix(matrix_connection, database_url, fake_wechat, tmp_path_factory, web_dist) -> Matrix:  # type: ignore[no-untyped-def]
    settings = Settings(
        app_env="test",
        database_url=database_url,
        secret_key="matrix-secret-key-that-is-long-enough-42",
        public_base_url="https://mashangcha.test",
        wechat_appid="wx-test-appid",
        wechat_secret="wx-test-secret",
        wechat_api_base=fake_wechat.url,
        wechat_timeout_seconds=3.0,
        media_root=str(tmp_path_factory.mktemp("matrix-media")),
        web_dist=str(web_dist),
        # The matrix sends hundreds of requests from one address: limits are tested elsewhere.
        ratelimit_scan="100000/minute",
        ratelimit_login="100000/minute",
        ratelimit_upload="100000/minute",
        jobs_immediate=True,
    )
    factory = sessionmaker(
        bind=matrix_connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    ctx = Context(settings=settings, session_factory=factory, storage=storage_for(settings))
    app = create_app(context=ctx)
    session = factory()
    try:
        return build_matrix(session, ctx, app.test_client())
    finally:
        session.close()


@contextmanager
def savepoint(connection) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """Whatever happens inside is rolled back."""
    nested = connection.begin_nested()
    try:
        yield
    finally:
        nested.rollback()


@pytest.fixture
def m(matrix: Matrix, matrix_connection) -> Iterator[Matrix]:  # type: ignore[no-untyped-def]
    """The matrix world, with this test's changes rolled back afterwards."""
    with savepoint(matrix_connection):
        yield matrix


def district_job(m: Matrix) -> int:
    """A queued job of the district supervisor's (made in the cell's savepoint)."""
    job = Job(
        kind="posters", creator_id=m.world.district_supervisor.id, creator_role="supervisor",
        creator_scope="", params={}, params_hash="0" * 64, state=JobState.QUEUED, done=0,
        message="排队中", parts_total=0, parts_done=0, attempts=0, note="",
    )  # fmt: skip
    with m.ctx.uow() as uow:
        uow.session.add(job)
        uow.commit()
    return job.id


def filed_document(x: str) -> Arg:
    """A 月度通报 filed for community X (made in the cell's savepoint)."""

    def make(m: Matrix) -> int:
        region = m.region(x)
        document = FiledDocument(
            region_id=region.id, kind=DocumentKind.MONTHLY, period=f"2026-{next(_n)}",
            region_path=region.path, title="月度通报", name="月度通报",
            pdf_key="documents/matrix.pdf", pdf_size=1,
            docx_key="documents/matrix.docx", docx_size=1,
        )  # fmt: skip
        with m.ctx.uow() as uow:
            uow.session.add(document)
            uow.commit()
        return document.id

    return make


# --- the table -------------------------------------------------------------------------


@dataclass(frozen=True)
class Caller:
    """The role a cell is probed as, for building bodies that need the caller's uploads."""

    m: Matrix
    role: str

    def photo(self) -> int:
        """A fresh pending photo of the caller; anonymous callers cannot upload at all."""
        if self.role == "anonymous":
            return self.m.media["pending_reporter2"]
        return self.m.upload(self.m.headers[self.role])


Arg = Callable[[Matrix], object]
Body = Callable[[Matrix, Caller], dict[str, Any]]
Check = Callable[[Matrix, str, Any], str | None]


@dataclass(frozen=True)
class Row:
    """One probed object: the expected status per role, and how to build the request."""

    expect: str  # one status per column of ROLES, separated by spaces
    arg: Arg | None = None  # fills the rule's <…> placeholder (a tuple: its two, in order)
    query: Callable[[Matrix], dict[str, Any]] | None = None
    body: Body | None = None
    multipart: bool = False
    check: Check | None = None  # more than the status: what the answer may reveal

    def statuses(self) -> tuple[int, ...]:
        codes = tuple(int(s) for s in self.expect.split())
        assert len(codes) == len(ROLES), self.expect
        return codes


def every(status: int) -> str:
    return " ".join([str(status)] * len(ROLES))


_n = itertools.count(1)


def hazard(name: str) -> Arg:
    return lambda m: m.hazards[name]


def media(name: str) -> Arg:
    return lambda m: m.media[name]


def code(x: str) -> Arg:
    return lambda m: m.codes[x]["id"]


def token(x: str) -> Arg:
    return lambda m: m.codes[x]["token"]


def community(x: str) -> Callable[[Matrix], dict[str, Any]]:
    return lambda m: {"region_id": m.region(x).id}


def own_pending(m: Matrix, role: str) -> int:
    return m.media["pending_reporter" if role == "anonymous" else f"pending_{role}"]


# Hazards by the names in Matrix.hazards: what each role manages (its enterprise, grid or
# subtree) and what it may see (that, plus its own reports).
_A = {f"{s}_a" for s in ("tip", "rect", "ext", "verif", "closed")} | {"major_verif_a"}
_B = {f"{s}_b" for s in ("tip", "rect", "ext", "verif", "closed")}
_C = {f"{s}_c" for s in ("tip", "rect", "ext", "verif", "closed")}
_AT_A = _A | {"insp_a", "anon_a"}
MAJOR = {"rect_a", "rect_b", "rect_c", "major_verif_a"}
MANAGED_HAZARDS = {
    "reporter": set(),
    "officer": _AT_A,
    "inspector": _AT_A,
    "street_supervisor": _AT_A,
    "district_supervisor": _AT_A | _B,
    "admin": _AT_A | _B | _C | {"officer_tip_c"},
}
VISIBLE_HAZARDS = MANAGED_HAZARDS | {
    "reporter": _A,  # their own, non-anonymous reports only
    "officer": _AT_A | {"officer_tip_c"},  # and their own report at C
}
# Enterprises (by letter) whose QR codes and check-ins each role may list.
VISIBLE_ENTERPRISES = {
    "reporter": set(),
    "officer": {"a"},
    "inspector": {"a"},
    "street_supervisor": {"a"},
    "district_supervisor": {"a", "b"},
    "admin": {"a", "b", "c"},
}
# Who may check in where: the grid's inspector and the supervisors above it.
CHECKS_IN = {
    "a": {"inspector", "street_supervisor", "district_supervisor"},
    "b": {"district_supervisor"},
    "c": set(),
}


def _items(response: Any) -> list[dict[str, Any]]:
    return response.get_json()["items"]  # type: ignore[no-any-return]


def lists_hazards(m: Matrix, role: str, response: Any) -> str | None:
    return _shows_hazards(m, role, {h["id"] for h in _items(response)})


def _shows_hazards(m: Matrix, role: str, got: set[int]) -> str | None:
    want = {m.hazards[name] for name in VISIBLE_HAZARDS[role]}
    names = {v: k for k, v in m.hazards.items()}
    if got != want:
        extra = sorted(names.get(i, str(i)) for i in got - want)
        missing = sorted(names.get(i, str(i)) for i in want - got)
        return f"listed hazards: extra {extra}, missing {missing}"
    return None


def maps_hazards(m: Matrix, role: str, response: Any) -> str | None:
    """The GeoJSON holds exactly the hazards the list shows the role (all have a place)."""
    return _shows_hazards(m, role, {f["id"] for f in response.get_json()["features"]})


def lists_codes(m: Matrix, role: str, response: Any) -> str | None:
    got = {c["enterprise_id"] for c in _items(response)}
    want = {m.enterprise(x).id for x in VISIBLE_ENTERPRISES[role]}
    return None if got == want else f"QR codes of enterprises {sorted(got)}, want {sorted(want)}"


def lists_checkins(m: Matrix, role: str, response: Any) -> str | None:
    got = {c["enterprise_id"] for c in _items(response)}
    want = {m.enterprise(x).id for x in VISIBLE_ENTERPRISES[role] & {"a", "c"}}
    return None if got == want else f"check-ins at {sorted(got)}, want {sorted(want)}"


_NUMBER = re.compile(r"YH\d{6}-\d{8}-\d{4}")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _text(response: Any) -> str:
    if response.mimetype == XLSX:
        book = load_workbook(io.BytesIO(response.data), read_only=True)
        cells = (c for sheet in book for line in sheet.iter_rows(values_only=True) for c in line)
        return "\n".join(str(c) for c in cells if c is not None)
    return response.get_data(as_text=True)  # type: ignore[no-any-return]


def reports_hazards(pool: set[str] | None = None) -> Check:
    """Statistics list hazards of the caller's scope: none outside, none of its own missing."""

    def check(m: Matrix, role: str, response: Any) -> str | None:
        names = {number: name for name, number in m.numbers.items()}
        got = {names.get(n, n) for n in _NUMBER.findall(_text(response))}
        within = pool if pool is not None else set(m.hazards)
        outside = sorted(got - VISIBLE_HAZARDS[role] & within | got - within)
        missing = sorted(MANAGED_HAZARDS[role] & within - got)
        return f"hazards outside scope {outside}, missing {missing}" if outside or missing else None

    return check


def ranks_units_in_scope(m: Matrix, role: str, response: Any) -> str | None:
    """Ranked units are regions or grids the same caller may look up (others answer 404)."""
    outside = []
    for row in response.get_json()["rows"]:
        kind = "regions" if row["unit_kind"] == "region" else "grids"
        looked_up = m.client.get(f"/api/v1/{kind}/{row['unit_id']}", headers=m.headers[role])
        if looked_up.status_code != 200:
            outside.append(f"{row['unit_name']} ({kind} {row['unit_id']})")
    return f"ranks units outside the caller's scope: {outside}" if outside else None


def scan_offers(x: str) -> Check:
    """A scan grants no rights: `checkin` is offered exactly to who may check in there."""

    def check(m: Matrix, role: str, response: Any) -> str | None:
        offered = "checkin" in response.get_json()["actions"]
        want = role in CHECKS_IN[x]
        return None if offered == want else f"checkin offered={offered}, want {want}"

    return check


def signed_link(m: Matrix, *, altered: bool = False) -> tuple[str, dict[str, str]]:
    parts = urlsplit(m.signed_url)
    query = dict(parse_qsl(parts.query))
    if altered:
        query["sig"] = ("0" if query["sig"][0] != "0" else "1") + query["sig"][1:]
    return parts.path.removeprefix("/media-files/"), query


def report_body(**where: Any) -> Body:
    def body(m: Matrix, caller: Caller) -> dict[str, Any]:
        target = {key: (value(m) if callable(value) else value) for key, value in where.items()}
        return {
            "category": "fire",
            "description": "灭火器过期未检",
            "media_ids": [caller.photo()],
            **target,
        }

    return body


def assign_to(x: str) -> Body:
    return lambda m, _: {"assignee_id": m.officer_of(x).id, "deadline": in_days(7)}


def import_file(m: Matrix, _: Caller) -> dict[str, Any]:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["统一社会信用代码", "企业名称", "地址", "纬度", "经度", "行业", "风险等级", "网格编码"]
    )
    writer.writerow(
        [
            credit_code.generate(),
            f"导入企业{next(_n)}",
            "路1号",
            "31.7",
            "119.9",
            "工贸",
            "黄",
            m.world.grid_a.code,
        ]
    )
    return {"file": (io.BytesIO(out.getvalue().encode()), "enterprises.csv")}


def staff_file(m: Matrix, _: Caller) -> dict[str, Any]:
    row = f"matrix-staff-{next(_n)},新网格员,网格员,{m.world.grid_a.code}"
    text = f"用户名,姓名,角色,网格编码\n{row}\n"
    return {"file": (io.BytesIO(text.encode()), "staff.csv")}


def photo_file(m: Matrix, _: Caller) -> dict[str, Any]:
    n = next(_n)
    return {"file": (io.BytesIO(plain_jpeg(200 + n % 50, 150)), "photo.jpg")}


def fixed(m: Matrix, caller: Caller) -> dict[str, Any]:
    return {"note": "已更换电缆并加装防护罩", "media_ids": [caller.photo()]}


def constant(body: dict[str, Any] | Callable[[], dict[str, Any]]) -> Body:
    """The same body for every caller (a callable is called per request: fresh deadlines)."""
    return lambda m, _: body() if callable(body) else dict(body)


FIX = fixed
VERIFY = constant({"passed": True, "note": "复查合格"})
REJECT = constant({"reason": "现场核实不属实"})
REOPEN = constant(lambda: {"reason": "复查发现隐患反弹", "deadline": in_days(10)})
ASK_MORE_TIME = constant(lambda: {"deadline": in_days(21), "reason": "配件尚未到货"})
APPROVE = constant({"approve": True})
FILE_PLAN = constant(PLAN)

# --- 双重预防 ---------------------------------------------------------------------------


def risk_point(x: str) -> Arg:
    return lambda m: m.points[x]


def checklist(name: str) -> Arg:
    return lambda m: m.checklists[name]


def task(x: str) -> Arg:
    return lambda m: m.tasks[x]


def lists_at_enterprises(m: Matrix, role: str, response: Any) -> str | None:
    """Points and tasks are listed at the enterprises the caller sees, none elsewhere."""
    got = {item["enterprise_id"] for item in _items(response)}
    want = {m.enterprise(x).id for x in VISIBLE_ENTERPRISES[role]}
    return None if got == want else f"listed at enterprises {sorted(got)}, want {sorted(want)}"


def due_tasks(count_for: dict[str, int]) -> Check:
    """The tasks due at a point for the caller: only the assignee's."""

    def check(m: Matrix, role: str, response: Any) -> str | None:
        got, want = len(response.get_json()), count_for.get(role, 0)
        return None if got == want else f"{got} tasks due, want {want}"

    return check


_names = itertools.count(1)


def new_point(x: str) -> Body:
    return lambda m, _: {"enterprise_id": m.enterprise(x).id, "name": f"新风险点{next(_names)}"}


def all_pass(x: str) -> Body:
    return lambda m, _: {
        "answers": [{"item_id": i, "outcome": "pass"} for i in m.task_items[x]],
        "lat": 31.7,
        "lng": 119.9,
    }


NEW_LIST = {"name": "新清单", "items": [{"content": "安全出口标志完好"}]}
SEE_A = "401 404 200 200 200 200 200"
SEE_B = "401 404 404 404 404 200 200"
SEE_C = "401 404 404 404 404 404 200"
MANAGE_A = "401 403 {ok} 403 403 403 {ok}"
MANAGE_ELSEWHERE = "401 403 404 403 403 403 {ok}"


V1 = "/api/v1"
H = f"{V1}/hazards/<int:hazard_id>"
P = f"{V1}/points/<int:point_id>"
STATS = (
    "summary",
    "ranking",
    "trend",
    "major-hazards",
    "major-hazards.xlsx",
    "export.xlsx",
    "export.csv",
    "bulletins/monthly.pdf",
    "bulletins/monthly.docx",
    "bulletins/weekly.pdf",
    "bulletins/weekly.docx",
    "bulletins/quarterly.pdf",
    "bulletins/quarterly.docx",
    "prevention",
    "prevention/enterprises",
    "prevention/regions",
)
RANKED = {"ranking": ranks_units_in_scope, "prevention/regions": ranks_units_in_scope}
STATS_CHECKS: dict[str, Check] = RANKED | {
    "major-hazards": reports_hazards(MAJOR),
    "major-hazards.xlsx": reports_hazards(MAJOR),
    "export.xlsx": reports_hazards(),
    "export.csv": reports_hazards(),
    "prevention/enterprises": lists_at_enterprises,
}

# Columns:                       anon rep  off  insp ssup dsup adm
MATRIX: dict[tuple[str, str], dict[str, Row]] = {
    # --- public: probes, signed photo links, the camera landing page, logins ---------
    ("GET", f"{V1}/healthz"): {"-": Row(every(200))},
    ("GET", f"{V1}/readyz"): {"-": Row(every(200))},
    ("GET", "/media-files/<path:key>"): {
        # The signed link is the capability; whoever holds it gets the bytes until expiry.
        "signed link": Row(
            every(200), arg=lambda m: signed_link(m)[0], query=lambda m: signed_link(m)[1]
        ),
        "altered link": Row(
            every(403),
            arg=lambda m: signed_link(m, altered=True)[0],
            query=lambda m: signed_link(m, altered=True)[1],
        ),
    },
    ("GET", "/q/<token>"): {
        "code A": Row(every(200), arg=token("a")),
        "revoked code": Row(every(410), arg=token("revoked")),
    },
    # The pages for phones: public files; what they show comes from the API above.
    ("GET", "/h5"): {"-": Row(every(308))},
    ("GET", "/h5/"): {"-": Row(every(200))},
    ("GET", "/h5/<path:rest>"): {"a page": Row(every(200), arg=lambda m: "receipts/K")},
    # The console: public files too; every figure and page it shows is the API's answer.
    ("GET", "/console"): {"-": Row(every(308))},
    ("GET", "/console/"): {"-": Row(every(200))},
    ("GET", "/console/<path:rest>"): {"a page": Row(every(200), arg=lambda m: "hazards/7")},
    ("GET", "/assets/<path:filename>"): {
        "built file": Row(every(200), arg=lambda m: "h5-Tst0Hash.js"),
        "missing file": Row(every(404), arg=lambda m: "h5-Gone.js"),
    },
    ("GET", "/web-static/<name>"): {
        "page style": Row(every(200), arg=lambda m: "page.css"),
        "anything else": Row(every(404), arg=lambda m: "secret_key"),
    },
    ("POST", f"{V1}/auth/login"): {
        "valid credentials": Row(
            every(200),
            body=lambda m, _: {
                "username": m.world.street_supervisor.username,
                "password": PASSWORD,
            },
        ),
    },
    ("POST", f"{V1}/auth/wechat-login"): {
        "valid code": Row(every(200), body=lambda m, _: {"code": f"ok-matrix-{next(_n)}"}),
    },
    ("POST", f"{V1}/auth/refresh"): {
        # The refresh token in the body is the credential; the caller's header is irrelevant.
        "refresh token": Row(
            every(200),
            body=lambda m, _: {
                "refresh_token": issue_token(m.ctx, m.world.street_supervisor, "refresh")
            },
        ),
        "access token instead": Row(
            every(401),
            body=lambda m, _: {"refresh_token": issue_token(m.ctx, m.world.street_supervisor)},
        ),
    },
    ("POST", f"{V1}/auth/change-password"): {
        # Everyone with a password changes their own; the token says whose.
        "own password": Row(
            "401 200 200 200 200 200 200",
            body=lambda m, _: {"old_password": PASSWORD, "new_password": "Matrix-new-pass-1"},
        ),
    },
    ("POST", f"{V1}/auth/dev-login"): {
        # Off unless AUTH_DEV_LOGIN=1: then the route does not exist, for admins too.
        "disabled": Row(every(404), body=lambda m, _: {"role": "admin"}),
    },
    # --- directory: reads scoped, changes for admins only (README "Scope") ------------
    ("GET", f"{V1}/regions"): {"scope": Row("401 200 200 200 200 200 200")},
    ("POST", f"{V1}/regions"): {
        "new community": Row(
            "401 403 403 403 403 403 201",
            body=lambda m, _: {
                "code": f"{880000000000 + next(_n)}",
                "name": "新社区",
                "level": "community",
                "parent_id": m.world.street_a.id,
            },
        ),
    },
    ("GET", f"{V1}/regions/<int:region_id>"): {
        "community A": Row("401 404 404 200 200 200 200", arg=lambda m: m.region("a").id),
        "community B": Row("401 404 404 404 404 200 200", arg=lambda m: m.region("b").id),
        "community C": Row("401 404 404 404 404 404 200", arg=lambda m: m.region("c").id),
    },
    ("PATCH", f"{V1}/regions/<int:region_id>"): {
        f"community {x.upper()}": Row(
            "401 403 403 403 403 403 200",
            arg=lambda m, x=x: m.region(x).id,
            body=lambda m, _: {"name": "改名社区"},
        )
        for x in "abc"
    },
    ("GET", f"{V1}/grids"): {
        "scope": Row("401 200 200 200 200 200 200"),
        "in community A": Row("401 404 404 200 200 200 200", query=community("a")),
        "in community B": Row("401 404 404 404 404 200 200", query=community("b")),
        "in community C": Row("401 404 404 404 404 404 200", query=community("c")),
    },
    ("POST", f"{V1}/grids"): {
        "new grid": Row(
            "401 403 403 403 403 403 201",
            body=lambda m, _: {
                "code": f"G-M{next(_n)}",
                "name": "新网格",
                "region_id": m.region("a").id,
            },
        ),
    },
    ("GET", f"{V1}/grids/<int:grid_id>"): {
        "grid A": Row("401 404 404 200 200 200 200", arg=lambda m: m.grid("a").id),
        "grid B": Row("401 404 404 404 404 200 200", arg=lambda m: m.grid("b").id),
        "grid C": Row("401 404 404 404 404 404 200", arg=lambda m: m.grid("c").id),
    },
    ("PATCH", f"{V1}/grids/<int:grid_id>"): {
        f"grid {x.upper()}": Row(
            "401 403 403 403 403 403 200",
            arg=lambda m, x=x: m.grid(x).id,
            body=lambda m, _: {"name": "改名网格"},
        )
        for x in "abc"
    },
    ("GET", f"{V1}/enterprises"): {
        "scope": Row("401 200 200 200 200 200 200"),
        "in community A": Row("401 404 404 200 200 200 200", query=community("a")),
        "in community B": Row("401 404 404 404 404 200 200", query=community("b")),
        "in community C": Row("401 404 404 404 404 404 200", query=community("c")),
    },
    ("POST", f"{V1}/enterprises"): {
        "new enterprise": Row(
            "401 403 403 403 403 403 201",
            body=lambda m, _: {
                "credit_code": credit_code.generate(),
                "name": f"新企业{next(_n)}",
                "industry": "industry_trade",
                "risk_color": "yellow",
                "grid_id": m.grid("a").id,
            },
        ),
    },
    ("POST", f"{V1}/enterprises/import"): {
        "one good row": Row("401 403 403 403 403 403 200", body=import_file, multipart=True),
    },
    ("GET", f"{V1}/enterprises/<int:enterprise_id>"): {
        "enterprise A": Row("401 404 200 200 200 200 200", arg=lambda m: m.enterprise("a").id),
        "enterprise B": Row("401 404 404 404 404 200 200", arg=lambda m: m.enterprise("b").id),
        "enterprise C": Row("401 404 404 404 404 404 200", arg=lambda m: m.enterprise("c").id),
    },
    ("PATCH", f"{V1}/enterprises/<int:enterprise_id>"): {
        f"enterprise {x.upper()}": Row(
            "401 403 403 403 403 403 200",
            arg=lambda m, x=x: m.enterprise(x).id,
            body=lambda m, _: {"address": "新地址1号"},
        )
        for x in "abc"
    },
    ("GET", f"{V1}/users"): {"scope": Row("401 200 200 200 200 200 200")},
    ("POST", f"{V1}/users"): {
        "new officer": Row(
            "401 403 403 403 403 403 201",
            body=lambda m, _: {
                "username": f"matrix-user-{next(_n)}",
                "display_name": "新安全员",
                "role": "enterprise_officer",
                "enterprise_id": m.enterprise("a").id,
            },
        ),
    },
    ("POST", f"{V1}/users/import"): {
        "one inspector": Row("401 403 403 403 403 403 200", body=staff_file, multipart=True),
    },
    ("POST", f"{V1}/users/<int:user_id>/reset-password"): {
        f"officer of {x.upper()}": Row(
            "401 403 403 403 403 403 200", arg=lambda m, x=x: m.officer_of(x).id
        )
        for x in "ac"
    },
    ("POST", f"{V1}/users/<int:user_id>/unlock"): {
        f"officer of {x.upper()}": Row(
            "401 403 403 403 403 403 200", arg=lambda m, x=x: m.officer_of(x).id
        )
        for x in "ac"
    },
    ("GET", f"{V1}/users/me"): {"self": Row("401 200 200 200 200 200 200")},
    ("GET", f"{V1}/users/<int:user_id>"): {
        "officer of A": Row("401 404 200 404 200 200 200", arg=lambda m: m.world.officer.id),
        "officer of B": Row("401 404 404 404 404 200 200", arg=lambda m: m.officer_b.id),
        "officer of C": Row("401 404 404 404 404 404 200", arg=lambda m: m.officer_c.id),
        # Reporters are nobody's staff: only admins (and they themselves) see them.
        "another reporter": Row("401 404 404 404 404 404 200", arg=lambda m: m.reporter2.id),
    },
    ("PATCH", f"{V1}/users/<int:user_id>"): {
        "officer of A": Row(
            "401 403 403 403 403 403 200",
            arg=lambda m: m.world.officer.id,
            body=lambda m, _: {"phone": "13800000000"},
        ),
        "officer of C": Row(
            "401 403 403 403 403 403 200",
            arg=lambda m: m.officer_c.id,
            body=lambda m, _: {"phone": "13800000000"},
        ),
    },
    # --- QR codes: issue/revoke/rotate for admins; reads within the enterprise scope ---
    ("POST", f"{V1}/enterprises/<int:enterprise_id>/qrcodes"): {
        f"enterprise {x.upper()}": Row(
            "401 403 403 403 403 403 201",
            arg=lambda m, x=x: m.enterprise(x).id,
            body=lambda m, _: {"point_name": "二号仓库"},
        )
        for x in "abc"
    },
    ("GET", f"{V1}/qrcodes"): {
        "scope": Row("401 200 200 200 200 200 200", check=lists_codes),
        "in community A": Row("401 404 404 200 200 200 200", query=community("a")),
        "in community B": Row("401 404 404 404 404 200 200", query=community("b")),
        "in community C": Row("401 404 404 404 404 404 200", query=community("c")),
    },
    **{
        ("GET", f"{V1}/qrcodes/<int:code_id>{suffix}"): {
            "code of A": Row("401 404 200 200 200 200 200", arg=code("a")),
            "code of B": Row("401 404 404 404 404 200 200", arg=code("b")),
            "code of C": Row("401 404 404 404 404 404 200", arg=code("c")),
        }
        for suffix in ("", ".png", ".svg", "/poster.png")
    },
    **{
        ("POST", f"{V1}/qrcodes/<int:code_id>/{verb}"): {
            f"code of {x.upper()}": Row(f"401 403 403 403 403 403 {status}", arg=code(x))
            for x in "abc"
        }
        for verb, status in (("revoke", 200), ("rotate", 201))
    },
    ("GET", f"{V1}/qrcodes/posters.pdf"): {
        # Admins and supervisors only (others 403 whatever the region); region in scope.
        "community A": Row("401 403 403 403 200 200 200", query=community("a")),
        "community B": Row("401 403 403 403 404 200 200", query=community("b")),
        "community C": Row("401 403 403 403 404 404 200", query=community("c")),
    },
    # --- jobs: their creator's only (everyone else 404, an admin too) -----------------
    ("GET", f"{V1}/jobs"): {"own jobs": Row("401 200 200 200 200 200 200")},
    ("GET", f"{V1}/jobs/<int:job_id>"): {
        "district supervisor's job": Row("401 404 404 404 404 200 404", arg=district_job),
    },
    ("POST", f"{V1}/jobs/<int:job_id>/cancel"): {
        "district supervisor's job": Row("401 404 404 404 404 200 404", arg=district_job),
    },
    # --- filed documents (文书): supervisors' subtree, admins all; others 403 -----------
    ("GET", f"{V1}/documents"): {"filed documents": Row("401 403 403 403 200 200 200")},
    **{
        ("GET", f"{V1}/documents/<int:document_id>/file.{ext}"): {
            "document of community A": Row("401 403 403 403 302 302 302", arg=filed_document("a")),
            "document of community B": Row("401 403 403 403 404 302 302", arg=filed_document("b")),
            "document of community C": Row("401 403 403 403 404 404 302", arg=filed_document("c")),
        }
        for ext in ("pdf", "docx")
    },
    # --- scanning: public context; check-ins for the grid's inspector and above --------
    ("GET", f"{V1}/scan/<token>"): {
        **{
            f"code of {x.upper()}": Row(every(200), arg=token(x), check=scan_offers(x))
            for x in "abc"
        },
        "revoked code": Row(every(410), arg=token("revoked")),
    },
    ("POST", f"{V1}/scan/<token>/checkins"): {
        # "others 403": the token is public, so there is nothing to hide behind a 404.
        "code of A": Row(
            "401 403 403 201 201 201 403",
            arg=token("a"),
            body=lambda m, _: {"lat": 31.7, "lng": 119.9, "accuracy": 10},
        ),
        "code of B": Row(
            "401 403 403 403 403 201 403",
            arg=token("b"),
            body=lambda m, _: {"lat": 31.7, "lng": 119.9, "accuracy": 10},
        ),
        "code of C": Row(
            "401 403 403 403 403 403 403",
            arg=token("c"),
            body=lambda m, _: {"lat": 31.7, "lng": 119.9, "accuracy": 10},
        ),
    },
    ("POST", f"{V1}/scan/<token>/hazards"): {
        # Public, but photos must be the caller's own uploads and uploading needs a token,
        # so a caller without one cannot send a valid body (422 media_invalid, not 401).
        # Administrators do not report hazards (403).
        **{
            f"code of {x.upper()}": Row(
                "422 201 201 201 201 201 403", arg=token(x), body=report_body()
            )
            for x in "abc"
        },
        "revoked code": Row(
            "410 410 410 410 410 410 403", arg=token("revoked"), body=report_body()
        ),
    },
    ("POST", f"{V1}/scan/<token>/media"): {
        # Public: anyone may send a photo from an active code (bound to it and to the scan
        # session); nobody from a revoked one.
        **{
            f"code of {x.upper()}": Row(every(201), arg=token(x), body=photo_file, multipart=True)
            for x in "abc"
        },
        "revoked code": Row(every(410), arg=token("revoked"), body=photo_file, multipart=True),
    },
    ("GET", f"{V1}/vocabulary"): {"-": Row(every(200))},
    ("GET", f"{V1}/receipts/<key>"): {
        "receipt key": Row(every(200), arg=lambda m: m.receipt_key),
        "unknown key": Row(every(404), arg=lambda m: "x" * 24),
    },
    ("GET", f"{V1}/checkins"): {
        "scope": Row("401 200 200 200 200 200 200", check=lists_checkins),
        "in community A": Row("401 404 404 200 200 200 200", query=community("a")),
        "in community B": Row("401 404 404 404 404 200 200", query=community("b")),
        "in community C": Row("401 404 404 404 404 404 200", query=community("c")),
    },
    # --- photos: the uploader, an admin, or whoever may see the hazard ---------------
    ("POST", f"{V1}/media"): {
        "a photo": Row("401 201 201 201 201 201 201", body=photo_file, multipart=True),
    },
    **{
        ("GET", f"{V1}/media/<int:media_id>{suffix}"): {
            "own pending upload": Row("401 302 302 302 302 302 302", arg=None),
            "another's pending upload": Row(
                "401 404 404 404 404 404 302", arg=media("pending_reporter2")
            ),
            "photo of hazard A": Row("401 302 302 302 302 302 302", arg=media("photo_tip_a")),
            "photo of hazard B": Row("401 404 404 404 404 302 302", arg=media("photo_tip_b")),
            "photo of hazard C": Row("401 404 404 404 404 404 302", arg=media("photo_tip_c")),
            # Anonymous: the photo lost its uploader, so its reporter cannot reach it either.
            "photo of anonymous report A": Row(
                "401 404 302 302 302 302 302", arg=media("photo_anon_a")
            ),
        }
        for suffix in ("", "/thumbnail")
    },
    # --- hazards ------------------------------------------------------------------------
    ("GET", f"{V1}/hazards"): {
        "scope": Row(
            "401 200 200 200 200 200 200", check=lists_hazards, query=lambda m: {"page_size": 100}
        ),
        "in community A": Row("401 404 404 200 200 200 200", query=community("a")),
        "in community B": Row("401 404 404 404 404 200 200", query=community("b")),
        "in community C": Row("401 404 404 404 404 404 200", query=community("c")),
    },
    ("POST", f"{V1}/hazards"): {
        "scanned code of A": Row(
            "401 201 201 201 201 201 403",
            body=report_body(qr_token=lambda m: m.codes["a"]["token"]),
        ),
        "scanned code of C": Row(
            "401 201 201 201 201 201 403",
            body=report_body(qr_token=lambda m: m.codes["c"]["token"]),
        ),
        # Without a scan, staff name an enterprise in their scope.
        "enterprise A": Row(
            "401 404 201 201 201 201 403",
            body=report_body(enterprise_id=lambda m: m.enterprise("a").id),
        ),
        "enterprise B": Row(
            "401 404 404 404 404 201 403",
            body=report_body(enterprise_id=lambda m: m.enterprise("b").id),
        ),
        "enterprise C": Row(
            "401 404 404 404 404 404 403",
            body=report_body(enterprise_id=lambda m: m.enterprise("c").id),
        ),
    },
    **{
        ("GET", f"{H}{suffix}"): {
            "reporter's tip at A": Row("401 200 200 200 200 200 200", arg=hazard("tip_a")),
            "another's tip at B": Row("401 404 404 404 404 200 200", arg=hazard("tip_b")),
            "another's tip at C": Row("401 404 404 404 404 404 200", arg=hazard("tip_c")),
            "inspector's finding at A": Row("401 404 200 200 200 200 200", arg=hazard("insp_a")),
            "anonymous report at A": Row("401 404 200 200 200 200 200", arg=hazard("anon_a")),
            "officer's own tip at C": Row(
                "401 404 200 404 404 404 200", arg=hazard("officer_tip_c")
            ),
        }
        for suffix in ("", "/events")
    },
    # Per-hazard documents: scoped like the hazard, 409 before their stage.
    ("GET", f"{H}/documents/notice.pdf"): {
        "assigned at A": Row("401 200 200 200 200 200 200", arg=hazard("rect_a")),
        "assigned at B": Row("401 404 404 404 404 200 200", arg=hazard("rect_b")),
        "assigned at C": Row("401 404 404 404 404 404 200", arg=hazard("rect_c")),
        "not yet assigned at A": Row("401 409 409 409 409 409 409", arg=hazard("tip_a")),
    },
    ("GET", f"{H}/documents/review.pdf"): {
        "verified at A": Row("401 200 200 200 200 200 200", arg=hazard("closed_a")),
        "verified at B": Row("401 404 404 404 404 200 200", arg=hazard("closed_b")),
        "not yet verified at A": Row("401 409 409 409 409 409 409", arg=hazard("verif_a")),
    },
    # Transitions (README table): officer — assign its enterprise's self-checks and tips,
    # plan, fix, ask for time; inspector (own grid) — assign its findings, reject, verify
    # and decide extensions of 一般 hazards; supervisor (subtree) — all but fixing, incl.
    # reopening; the assignee — fix, ask for time. Admins administer, they do not
    # transition hazards. Reporters may see their own reports, never act on them.
    ("POST", f"{H}/assign"): {
        "tip at A": Row("401 403 200 403 200 200 403", arg=hazard("tip_a"), body=assign_to("a")),
        "tip at B": Row("401 404 404 404 404 200 403", arg=hazard("tip_b"), body=assign_to("b")),
        "tip at C": Row("401 404 404 404 404 404 403", arg=hazard("tip_c"), body=assign_to("c")),
        "inspector's finding at A": Row(
            "401 404 403 200 200 200 403", arg=hazard("insp_a"), body=assign_to("a")
        ),
        # Enterprise A's officer reported at C: they may follow their report, not run C's fix.
        "officer's own tip at C": Row(
            "401 404 403 404 404 404 403", arg=hazard("officer_tip_c"), body=assign_to("c")
        ),
    },
    ("POST", f"{H}/plan"): {
        "tip at A": Row("401 403 200 403 200 200 403", arg=hazard("tip_a"), body=FILE_PLAN),
        "tip at B": Row("401 404 404 404 404 200 403", arg=hazard("tip_b"), body=FILE_PLAN),
        "tip at C": Row("401 404 404 404 404 404 403", arg=hazard("tip_c"), body=FILE_PLAN),
        "officer's own tip at C": Row(
            "401 404 403 404 404 404 403", arg=hazard("officer_tip_c"), body=FILE_PLAN
        ),
    },
    ("POST", f"{H}/submit-fix"): {
        "rectifying at A": Row("401 403 200 403 403 403 403", arg=hazard("rect_a"), body=FIX),
        "rectifying at B": Row("401 404 404 404 404 403 403", arg=hazard("rect_b"), body=FIX),
        "rectifying at C": Row("401 404 404 404 404 404 403", arg=hazard("rect_c"), body=FIX),
    },
    ("POST", f"{H}/verify"): {
        "verifying at A": Row("401 403 403 200 200 200 403", arg=hazard("verif_a"), body=VERIFY),
        "verifying at B": Row("401 404 404 404 404 200 403", arg=hazard("verif_b"), body=VERIFY),
        "verifying at C": Row("401 404 404 404 404 404 403", arg=hazard("verif_c"), body=VERIFY),
        # Only a supervisor verifies a 重大 hazard.
        "重大 verifying at A": Row(
            "401 403 403 403 200 200 403", arg=hazard("major_verif_a"), body=VERIFY
        ),
    },
    ("POST", f"{H}/reject"): {
        "tip at A": Row("401 403 403 200 200 200 403", arg=hazard("tip_a"), body=REJECT),
        "tip at B": Row("401 404 404 404 404 200 403", arg=hazard("tip_b"), body=REJECT),
        "tip at C": Row("401 404 404 404 404 404 403", arg=hazard("tip_c"), body=REJECT),
    },
    ("POST", f"{H}/reopen"): {
        "closed at A": Row("401 403 403 403 200 200 403", arg=hazard("closed_a"), body=REOPEN),
        "closed at B": Row("401 404 404 404 404 200 403", arg=hazard("closed_b"), body=REOPEN),
        "closed at C": Row("401 404 404 404 404 404 403", arg=hazard("closed_c"), body=REOPEN),
    },
    ("POST", f"{H}/extend"): {
        "ask: rectifying at A": Row(
            "401 403 200 403 403 403 403", arg=hazard("rect_a"), body=ASK_MORE_TIME
        ),
        "ask: rectifying at B": Row(
            "401 404 404 404 404 403 403", arg=hazard("rect_b"), body=ASK_MORE_TIME
        ),
        "ask: rectifying at C": Row(
            "401 404 404 404 404 404 403", arg=hazard("rect_c"), body=ASK_MORE_TIME
        ),
        "decide: asked at A": Row("401 403 403 200 200 200 403", arg=hazard("ext_a"), body=APPROVE),
        "decide: asked at B": Row("401 404 404 404 404 200 403", arg=hazard("ext_b"), body=APPROVE),
        "decide: asked at C": Row("401 404 404 404 404 404 403", arg=hazard("ext_c"), body=APPROVE),
    },
    # --- 双重预防: points, checklists and shifts managed by the enterprise; tasks done by
    # their assignee (here the enterprise's officers); everything seen as the enterprise ---
    ("GET", f"{V1}/points"): {
        "scope": Row("401 200 200 200 200 200 200", check=lists_at_enterprises),
        "in community A": Row("401 404 404 200 200 200 200", query=community("a")),
        "in community B": Row("401 404 404 404 404 200 200", query=community("b")),
        "in community C": Row("401 404 404 404 404 404 200", query=community("c")),
    },
    ("POST", f"{V1}/points"): {
        "at A": Row(MANAGE_A.format(ok=201), body=new_point("a")),
        "at B": Row(MANAGE_ELSEWHERE.format(ok=201), body=new_point("b")),
        "at C": Row(MANAGE_ELSEWHERE.format(ok=201), body=new_point("c")),
    },
    **{
        ("GET", f"{P}{suffix}"): {
            "point at A": Row(SEE_A, arg=risk_point("a")),
            "point at B": Row(SEE_B, arg=risk_point("b")),
            "point at C": Row(SEE_C, arg=risk_point("c")),
        }
        for suffix in ("", "/assessments", "/checklists")
    },
    ("PATCH", P): {
        "point at A": Row(
            MANAGE_A.format(ok=200), arg=risk_point("a"), body=constant({"location": "东厂区"})
        ),
        "point at B": Row(
            MANAGE_ELSEWHERE.format(ok=200),
            arg=risk_point("b"),
            body=constant({"location": "东厂区"}),
        ),
        "point at C": Row(
            MANAGE_ELSEWHERE.format(ok=200),
            arg=risk_point("c"),
            body=constant({"location": "东厂区"}),
        ),
    },
    ("POST", f"{P}/assessments"): {
        f"point at {x.upper()}": Row(
            (MANAGE_A if x == "a" else MANAGE_ELSEWHERE).format(ok=201),
            arg=risk_point(x),
            body=constant({"method": "lec", "inputs": {"l": 3, "e": 6, "c": 7}}),
        )
        for x in "abc"
    },
    ("POST", f"{P}/checklists"): {
        f"point at {x.upper()}": Row(
            (MANAGE_A if x == "a" else MANAGE_ELSEWHERE).format(ok=201),
            arg=risk_point(x),
            body=lambda m, _, x=x: {
                "checklist_id": m.checklists[f"spare_{x}"],
                "frequency": "week",
                "assignee_role": "enterprise_officer",
            },
        )
        for x in "abc"
    },
    ("DELETE", f"{P}/checklists/<int:attachment_id>"): {
        f"attachment at {x.upper()}": Row(
            (MANAGE_A if x == "a" else MANAGE_ELSEWHERE).format(ok=200),
            arg=lambda m, x=x: (m.points[x], m.attachments[x]),
        )
        for x in "abc"
    },
    ("GET", f"{V1}/checklists"): {
        "scope": Row("401 200 200 200 200 200 200"),
        "usable at A": Row(SEE_A, query=lambda m: {"enterprise_id": m.enterprise("a").id}),
        "usable at B": Row(SEE_B, query=lambda m: {"enterprise_id": m.enterprise("b").id}),
        "usable at C": Row(SEE_C, query=lambda m: {"enterprise_id": m.enterprise("c").id}),
    },
    ("POST", f"{V1}/checklists"): {
        "A's own": Row(
            MANAGE_A.format(ok=201),
            body=lambda m, _: NEW_LIST | {"enterprise_id": m.enterprise("a").id},
        ),
        "C's own": Row(
            MANAGE_ELSEWHERE.format(ok=201),
            body=lambda m, _: NEW_LIST | {"enterprise_id": m.enterprise("c").id},
        ),
        "shared in community A": Row(
            "401 403 403 403 201 201 201",
            body=lambda m, _: NEW_LIST | {"region_id": m.region("a").id},
        ),
        "shared in community C": Row(
            "401 403 403 403 404 404 201",
            body=lambda m, _: NEW_LIST | {"region_id": m.region("c").id},
        ),
    },
    ("GET", f"{V1}/checklists/<int:checklist_id>"): {
        "A's own": Row(SEE_A, arg=checklist("a")),
        "B's own": Row(SEE_B, arg=checklist("b")),
        "C's own": Row(SEE_C, arg=checklist("c")),
        "shared by the district": Row("401 404 200 200 200 200 200", arg=checklist("shared")),
    },
    ("PATCH", f"{V1}/checklists/<int:checklist_id>"): {
        "A's own": Row(MANAGE_A.format(ok=200), arg=checklist("a"), body=constant({"name": "改"})),
        "B's own": Row(
            "401 403 404 403 404 403 200", arg=checklist("b"), body=constant({"name": "改"})
        ),
        "C's own": Row(
            "401 403 404 403 404 404 200", arg=checklist("c"), body=constant({"name": "改"})
        ),
        "shared by the district": Row(
            "401 403 403 403 403 200 200", arg=checklist("shared"), body=constant({"name": "改"})
        ),
    },
    ("GET", f"{V1}/enterprises/<int:enterprise_id>/shifts"): {
        "A": Row(SEE_A, arg=lambda m: m.enterprise("a").id),
        "B": Row(SEE_B, arg=lambda m: m.enterprise("b").id),
        "C": Row(SEE_C, arg=lambda m: m.enterprise("c").id),
    },
    ("PUT", f"{V1}/enterprises/<int:enterprise_id>/shifts"): {
        f"{x.upper()}": Row(
            (MANAGE_A if x == "a" else MANAGE_ELSEWHERE).format(ok=200),
            arg=lambda m, x=x: m.enterprise(x).id,
            body=constant({"starts": ["08:00", "20:00"]}),
        )
        for x in "abc"
    },
    ("GET", f"{V1}/tasks"): {
        "scope": Row(
            "401 200 200 200 200 200 200",
            check=lists_at_enterprises,
            query=lambda m: {"page_size": 100},
        ),
    },
    ("GET", f"{V1}/tasks/<int:task_id>"): {
        "task at A": Row(SEE_A, arg=task("a")),
        "task at B": Row(SEE_B, arg=task("b")),
        "task at C": Row(SEE_C, arg=task("c")),
    },
    ("POST", f"{V1}/tasks/<int:task_id>/submit"): {
        # Reporters and admins never do tasks (403); others only their own (A's officers).
        "task at A": Row("401 403 200 403 403 403 403", arg=task("a"), body=all_pass("a")),
        "task at B": Row("401 403 404 404 404 403 403", arg=task("b"), body=all_pass("b")),
        "task at C": Row("401 403 404 404 404 404 403", arg=task("c"), body=all_pass("c")),
    },
    ("GET", f"{V1}/scan/<token>/tasks"): {
        "point of A": Row(
            "401 200 200 200 200 200 200",
            arg=lambda m: m.point_tokens["a"],
            check=due_tasks({"officer": 1}),
        ),
        "point of C": Row(
            "401 200 200 200 200 200 200", arg=lambda m: m.point_tokens["c"], check=due_tasks({})
        ),
        "enterprise code of A": Row("401 404 404 404 404 404 404", arg=token("a")),
        "revoked code": Row("401 410 410 410 410 410 410", arg=token("revoked")),
    },
    # --- 一张图: the lists' scopes as GeoJSON -------------------------------------------
    ("GET", f"{V1}/geo/basemap"): {"settings": Row("401 200 200 200 200 200 200")},
    ("GET", f"{V1}/geo/hazards.geojson"): {
        "scope": Row("401 200 200 200 200 200 200", check=maps_hazards),
        "in community A": Row("401 404 404 200 200 200 200", query=community("a")),
        "in community B": Row("401 404 404 404 404 200 200", query=community("b")),
        "in community C": Row("401 404 404 404 404 404 200", query=community("c")),
    },
    ("GET", f"{V1}/geo/enterprises.geojson"): {
        "scope": Row("401 200 200 200 200 200 200"),
        "in community A": Row("401 404 404 200 200 200 200", query=community("a")),
        "in community B": Row("401 404 404 404 404 200 200", query=community("b")),
        "in community C": Row("401 404 404 404 404 404 200", query=community("c")),
    },
    # --- statistics and exports: staff only (reporters 403), regions in scope ---------
    **{
        ("GET", f"{V1}/stats/{name}"): {
            "own scope": Row("401 403 200 200 200 200 200", check=STATS_CHECKS.get(name)),
            "community A": Row(
                "401 403 404 200 200 200 200", query=community("a"), check=RANKED.get(name)
            ),
            "community B": Row(
                "401 403 404 404 404 200 200", query=community("b"), check=RANKED.get(name)
            ),
            "community C": Row(
                "401 403 404 404 404 404 200", query=community("c"), check=RANKED.get(name)
            ),
        }
        for name in STATS
    },
}


def test_every_route_has_a_row_in_the_matrix(matrix: Matrix) -> None:
    app = matrix.client.application
    routes = {
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert set(MATRIX) == routes - UNPROBED, (
        f"no row for {sorted(routes - UNPROBED - set(MATRIX))}; "
        f"rows for missing routes {sorted(set(MATRIX) - routes)}"
    )
    assert routes >= UNPROBED


_PLACEHOLDER = re.compile(r"<(?:[a-z]+:)?[a-z_]+>")


def _request(m: Matrix, route: tuple[str, str], row: Row, role: str) -> Any:
    method, rule = route
    path = rule
    if _PLACEHOLDER.search(rule):
        value = row.arg(m) if row.arg is not None else own_pending(m, role)
        # A rule with two placeholders takes a tuple, filled in order.
        for part in value if isinstance(value, tuple) else (value,):
            path = _PLACEHOLDER.sub(str(part), path, count=1)
    kwargs: dict[str, Any] = {"headers": m.headers[role]}
    if row.query is not None:
        kwargs["query_string"] = row.query(m)
    if row.body is not None:
        body = row.body(m, Caller(m, role))
        if row.multipart:
            kwargs.update(data=body, content_type="multipart/form-data")
        else:
            kwargs["json"] = body
    return m.client.open(path, method=method, **kwargs)


def _problem(m: Matrix, row: Row, role: str, expected: int, response: Any) -> str | None:
    if response.status_code != expected:
        body = response.get_json(silent=True) or {}
        return f"got {response.status_code} {body.get('code', '')}".rstrip()
    if response.status_code >= 400 and response.mimetype == "application/json":
        body = response.get_json()
        if set(body) != {"status", "code", "message", "message_en", "errors"}:
            return f"error body not in the SPEC §5 shape: {body}"
    if row.check is not None and response.status_code < 300:
        return row.check(m, role, response)
    return None


@pytest.mark.parametrize("route", sorted(MATRIX), ids=" ".join)
def test_route_matrix(route: tuple[str, str], m: Matrix, matrix_connection) -> None:  # type: ignore[no-untyped-def]
    mismatches = []
    for label, row in MATRIX[route].items():
        for role, expected in zip(ROLES, row.statuses(), strict=True):
            with savepoint(matrix_connection):
                response = _request(m, route, row, role)
                problem = _problem(m, row, role, expected, response)
                response.close()  # a sent file stays open until the response is closed
            if problem:
                mismatches.append((label, role, expected, problem))
    assert not mismatches, _table(route, mismatches)


def _table(route: tuple[str, str], mismatches: list[tuple[str, str, int, str]]) -> str:
    width = max(len(label) for label, *_ in mismatches)
    lines = [f"{' '.join(route)}: {len(mismatches)} cell(s) differ from the documented outcome"]
    lines += [
        f"  {label:<{width}}  {role:<19}  want {expected}  {problem}"
        for label, role, expected, problem in mismatches
    ]
    return "\n".join(lines)


# --- 举报人信息保护 and reporters' privacy, beyond the status codes ------------------------


def _strings(value: Any) -> Iterator[str]:
    """Every string anywhere in a JSON document."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def test_a_reporter_never_reaches_another_reporters_hazards(m: Matrix, matrix_connection) -> None:  # type: ignore[no-untyped-def]
    theirs = {
        "reporter2": (m.extra_headers["reporter2"], ("tip_b", "rect_b", "closed_b", "tip_c")),
        "reporter": (m.headers["reporter"], ("tip_a", "rect_a", "closed_a", "verif_a")),
    }
    for me, other in (("reporter", "reporter2"), ("reporter2", "reporter")):
        headers = theirs[me][0]
        own_ids = {m.hazards[n] for n in (_A if me == "reporter" else _B | _C)}
        listed = m.client.get("/api/v1/hazards?page_size=100", headers=headers)
        assert {h["id"] for h in listed.json["items"]} == own_ids, me
        for name in theirs[other][1]:
            number = m.numbers[name]
            hazard_id = m.hazards[name]
            # Not by id, not by its number or words, not through its photos.
            for path in (f"/api/v1/hazards/{hazard_id}", f"/api/v1/hazards/{hazard_id}/events"):
                assert m.client.get(path, headers=headers).status_code == 404, (me, path)
            found = m.client.get(f"/api/v1/hazards?q={number}", headers=headers)
            assert found.status_code == 200 and found.json["items"] == [], (me, number)
            photo = m.media[f"photo_{name}"]
            for path in (f"/api/v1/media/{photo}", f"/api/v1/media/{photo}/thumbnail"):
                assert m.client.get(path, headers=headers).status_code == 404, (me, path)
            for verb, body in (("reject", {"reason": "x"}), ("verify", {"passed": True})):
                with savepoint(matrix_connection):
                    response = m.client.post(
                        f"/api/v1/hazards/{hazard_id}/{verb}", json=body, headers=headers
                    )
                assert response.status_code == 404, (me, verb, name)
        # Filtering by the other's enterprise lists nothing rather than their hazards.
        where = m.enterprise("b" if me == "reporter" else "a").id
        filtered = m.client.get(f"/api/v1/hazards?enterprise_id={where}", headers=headers)
        assert filtered.status_code == 200 and filtered.json["items"] == [], me


def _export_text(m: Matrix, headers: dict[str, str], kind: str) -> str:
    response = m.client.get(f"/api/v1/stats/export.{kind}", headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return _text(response)


def test_an_enterprise_officer_never_sees_a_reporter(m: Matrix) -> None:
    officer = m.headers["officer"]
    # Whoever reported: a worker (non-anonymously), the grid inspector, anonymously.
    reported_by = {name: m.world.reporter.id for name in _A} | {"insp_a": m.world.inspector.id}
    names = {
        value
        for user in (m.world.reporter, m.world.inspector, m.reporter2)
        for value in (user.display_name, user.username, user.openid)
        if value
    }
    visible = [n for n in VISIBLE_HAZARDS["officer"] if n != "officer_tip_c"]

    listed = m.client.get("/api/v1/hazards?page_size=100", headers=officer)
    assert listed.status_code == 200
    by_id = {h["id"]: h for h in listed.json["items"]}
    for name in visible:
        hazard_id = m.hazards[name]
        one = m.client.get(f"/api/v1/hazards/{hazard_id}", headers=officer)
        events = m.client.get(f"/api/v1/hazards/{hazard_id}/events", headers=officer)
        assert one.status_code == events.status_code == 200, name
        for body in (one.json, by_id[hazard_id]):
            assert body["reporter"] is None, (name, body["reporter"])
            assert not names & set(_strings(body)), name
        report = events.json["events"][0]
        assert report["action"] == "report" and report["actor_id"] is None, (name, report)
        if name in reported_by:
            actors = {e["actor_id"] for e in events.json["events"]}
            assert reported_by[name] not in actors, (name, actors)
        assert not names & set(_strings(events.json)), name

    for kind in ("csv", "xlsx"):
        text = _export_text(m, officer, kind)
        assert m.numbers["tip_a"] in text  # the hazards are there …
        assert not [n for n in names if n in text], kind  # … their reporters are not

    # The positive control: the office does see who reported.
    seen = m.client.get(f"/api/v1/hazards/{m.hazards['tip_a']}", headers=m.headers["inspector"])
    assert seen.json["reporter"]["id"] == m.world.reporter.id


def test_the_matrix_world_is_arranged_as_the_rows_assume(m: Matrix) -> None:
    admin = m.headers["admin"]
    for name, hazard_id in m.hazards.items():
        response = m.client.get(f"/api/v1/hazards/{hazard_id}", headers=admin)
        assert response.json["status"] == m.status[name], name
        assert (response.json["level"] == "major") is (name in MAJOR), name
    assert set(m.hazards) == VISIBLE_HAZARDS["admin"]
