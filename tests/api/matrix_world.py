"""The objects the authorization matrix probes, built once through the HTTP API.

`build_world` gives city → district → streets A and B; this adds a second district with
street C (community C, grid C, enterprise C), so every subtree-scoped role, the district
supervisor included, has something outside its scope. Per enterprise X in A, B, C the
same hazard story is told up to each state a transition needs:

    tip_x       reported      (a public tip; assign, plan, reject)
    rect_x      rectifying    (重大, plan filed, assigned to X's officer; submit-fix, extend: ask)
    ext_x       rectifying    (the assignee asked for more time; extend: decide)
    verif_x     verifying     (fix submitted; verify)
    closed_x    closed        (fix verified; reopen)

A's hazards are reported by `reporter` (non-anonymously, so they are "own" to that
reporter); B's and C's by `reporter2`. Also: `major_verif_a` (a 重大 fix awaiting
verification, which only a supervisor may verify), `insp_a` (the inspector's own finding at
A), `anon_a` (reporter's anonymous report at A through the public scan endpoint, with a
receipt key) and `officer_tip_c` (A's officer reporting at enterprise C, a public tip).
"""

from __future__ import annotations

import io
import itertools
from dataclasses import dataclass, field
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from service.access.auth import issue_token
from service.core.context import Context
from service.directory.models import Enterprise, Grid, Region, User
from service.inspections import tasks
from tests.api.hazard_helpers import PLAN, in_days
from tests.factories import World, build_world, make_enterprise, make_grid, make_region, make_user
from tests.hostile import plain_jpeg
from uploads_schema.vocabulary import RegionLevel, Role

# Columns of the matrix, in order. "anonymous" sends no Authorization header.
ROLES = (
    "anonymous",
    "reporter",
    "officer",
    "inspector",
    "street_supervisor",
    "district_supervisor",
    "admin",
)
ENTERPRISES = ("a", "b", "c")
STATES = ("tip", "rect", "ext", "verif", "closed")
STATUS = {
    "tip": "reported",
    "rect": "rectifying",
    "ext": "rectifying",
    "verif": "verifying",
    "closed": "closed",
}

_shade = itertools.count(1)


@dataclass
class Matrix:
    """Ids, tokens and headers of everything the matrix probes (plain values only)."""

    world: World
    ctx: Context
    client: FlaskClient
    district_c: Region
    street_c: Region
    community_c: Region
    grid_c: Grid
    enterprise_c: Enterprise
    reporter2: User
    officer_b: User
    officer_c: User
    inspector_c: User
    headers: dict[str, dict[str, str]] = field(default_factory=dict)  # role → header
    extra_headers: dict[str, dict[str, str]] = field(default_factory=dict)  # user name → header
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)  # "a", "b", "c", "revoked"
    hazards: dict[str, int] = field(default_factory=dict)  # "tip_a", "anon_a", …
    numbers: dict[str, str] = field(default_factory=dict)  # hazard name → YH… number
    status: dict[str, str] = field(default_factory=dict)  # hazard name → status arranged
    media: dict[str, int] = field(default_factory=dict)  # "photo_tip_a", "pending_<role>", …
    receipt_key: str = ""
    signed_url: str = ""
    # 双重预防, per enterprise "a", "b", "c": a risk point with its own QR code, a daily
    # checklist attached (done by the enterprise's officers), a spare one not attached, the
    # attachment, today's task and its checklist's item ids; "shared": a list district A/B's
    # office shares.
    points: dict[str, int] = field(default_factory=dict)
    point_tokens: dict[str, str] = field(default_factory=dict)
    checklists: dict[str, int] = field(default_factory=dict)  # "a", "spare_a", …, "shared"
    attachments: dict[str, int] = field(default_factory=dict)
    tasks: dict[str, int] = field(default_factory=dict)
    task_items: dict[str, list[int]] = field(default_factory=dict)

    def user(self, role: str) -> User | None:
        """The user behind a column of the matrix (None for anonymous)."""
        return None if role == "anonymous" else getattr(self.world, role)

    def region(self, x: str) -> Region:
        """Community A, B or C."""
        return {
            "a": self.world.community_a,
            "b": self.world.community_b,
            "c": self.community_c,
        }[x]

    def grid(self, x: str) -> Grid:
        return {"a": self.world.grid_a, "b": self.world.grid_b, "c": self.grid_c}[x]

    def enterprise(self, x: str) -> Enterprise:
        return {
            "a": self.world.enterprise_a,
            "b": self.world.enterprise_b,
            "c": self.enterprise_c,
        }[x]

    def officer_of(self, x: str) -> User:
        return {"a": self.world.officer, "b": self.officer_b, "c": self.officer_c}[x]

    def upload(self, headers: dict[str, str]) -> int:
        """A fresh pending photo of the caller (each call a different image)."""
        n = next(_shade)
        data = plain_jpeg(64 + n % 97, 48 + n // 97 % 97)
        response = self.client.post(
            "/api/v1/media",
            data={"file": (io.BytesIO(data), f"m{n}.jpg")},
            headers=headers,
            content_type="multipart/form-data",
        )
        assert response.status_code == 201, response.get_json()
        return int(response.get_json()["id"])


def header(ctx: Context, user: User) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(ctx, user)}"}


def _ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.get_json())
    return response.get_json()  # type: ignore[no-any-return]


def build_matrix(session: Session, ctx: Context, client: FlaskClient) -> Matrix:
    """Build the world, then the QR codes, hazards, photos and check-ins through the API."""
    world = build_world(session)
    # Distinctive names, so a leak of a reporter's identity is a plain substring search.
    world.reporter.display_name = "举报人甲王小五"
    district_c = make_region(session, parent=world.city, name="丙区")
    street_c = make_region(session, parent=district_c, name="丙街道")
    community_c = make_region(session, parent=street_c, name="丙社区")
    grid_c = make_grid(session, community_c, name="丙网格")
    enterprise_c = make_enterprise(session, grid_c, name="丙企业")
    m = Matrix(
        world=world,
        ctx=ctx,
        client=client,
        district_c=district_c,
        street_c=street_c,
        community_c=community_c,
        grid_c=grid_c,
        enterprise_c=enterprise_c,
        reporter2=make_user(
            session, Role.REPORTER, openid="openid-reporter2", display_name="举报人乙赵小六"
        ),
        officer_b=make_user(session, Role.ENTERPRISE_OFFICER, enterprise_id=world.enterprise_b.id),
        officer_c=make_user(session, Role.ENTERPRISE_OFFICER, enterprise_id=enterprise_c.id),
        inspector_c=make_user(session, Role.INSPECTOR, grids=[grid_c]),
    )
    assert community_c.level is RegionLevel.COMMUNITY
    session.commit()

    m.headers = {"anonymous": {}} | {
        role: header(ctx, getattr(world, role)) for role in ROLES if role != "anonymous"
    }
    m.extra_headers = {
        name: header(ctx, getattr(m, name))
        for name in ("reporter2", "officer_b", "officer_c", "inspector_c")
    }
    admin = m.headers["admin"]

    # QR codes: one active code per enterprise, and a revoked one at A.
    for x in ENTERPRISES:
        m.codes[x] = _ok(
            client.post(
                f"/api/v1/enterprises/{m.enterprise(x).id}/qrcodes", json={}, headers=admin
            ),
            201,
        )
    revoked = _ok(
        client.post(
            f"/api/v1/enterprises/{world.enterprise_a.id}/qrcodes",
            json={"point_name": "旧仓库"},
            headers=admin,
        ),
        201,
    )
    _ok(client.post(f"/api/v1/qrcodes/{revoked['id']}/revoke", headers=admin))
    m.codes["revoked"] = revoked

    # The hazard story per enterprise, each state its own hazard.
    reporters = {"a": m.headers["reporter"], "b": m.extra_headers["reporter2"]}
    reporters["c"] = reporters["b"]
    officers = {
        "a": m.headers["officer"],
        "b": m.extra_headers["officer_b"],
        "c": m.extra_headers["officer_c"],
    }
    verifiers = {
        "a": m.headers["inspector"],
        "b": m.headers["district_supervisor"],
        "c": m.extra_headers["inspector_c"],
    }
    stories = [(x, state, f"{state}_{x}") for x in ENTERPRISES for state in STATES]
    for x, state, name in [*stories, ("a", "verif", "major_verif_a")]:
        major = state == "rect" or name == "major_verif_a"
        photo = m.upload(reporters[x])
        hazard = _report(m, reporters[x], m.codes[x]["token"], photo)
        m.hazards[name], m.numbers[name] = hazard["id"], hazard["number"]
        m.status[name] = STATUS[state]
        m.media[f"photo_{name}"] = photo
        if state == "tip":
            continue
        path = f"/api/v1/hazards/{hazard['id']}"
        if major:  # 五落实 first: a 重大 hazard is not assigned without its plan
            _ok(client.post(f"{path}/plan", json=PLAN, headers=officers[x]))
        _ok(
            client.post(
                f"{path}/assign",
                json={
                    "assignee_id": m.officer_of(x).id,
                    "deadline": in_days(7),
                    "level": "major" if major else "general",
                },
                headers=officers[x],
            )
        )
        if state == "ext":
            _ok(
                client.post(
                    f"{path}/extend",
                    json={"deadline": in_days(14), "reason": "设备到货延迟"},
                    headers=officers[x],
                )
            )
        if state in ("verif", "closed"):
            fix = m.upload(officers[x])
            _ok(
                client.post(
                    f"{path}/submit-fix",
                    json={"note": "已更换电缆", "media_ids": [fix]},
                    headers=officers[x],
                )
            )
        if state == "closed":
            _ok(
                client.post(
                    f"{path}/verify",
                    json={"passed": True, "note": "整改到位"},
                    headers=verifiers[x],
                )
            )

    # The inspector's own finding at A (source: inspection).
    photo = m.upload(m.headers["inspector"])
    hazard = _report(m, m.headers["inspector"], m.codes["a"]["token"], photo)
    assert hazard["source"] == "inspection", hazard
    m.hazards["insp_a"], m.numbers["insp_a"] = hazard["id"], hazard["number"]
    m.status["insp_a"] = "reported"

    # A's officer reporting at enterprise C: a public tip, visible to them as its reporter.
    photo = m.upload(m.headers["officer"])
    hazard = _report(m, m.headers["officer"], m.codes["c"]["token"], photo)
    assert hazard["source"] == "public_tip", hazard
    m.hazards["officer_tip_c"], m.numbers["officer_tip_c"] = hazard["id"], hazard["number"]
    m.status["officer_tip_c"] = "reported"

    # The reporter's anonymous report at A through the public scan endpoint.
    photo = m.upload(m.headers["reporter"])
    result = _ok(
        client.post(
            f"/api/v1/scan/{m.codes['a']['token']}/hazards",
            json={"category": "fire", "description": "消防通道堆放杂物", "media_ids": [photo]},
            headers=m.headers["reporter"],
        ),
        201,
    )
    m.hazards["anon_a"], m.numbers["anon_a"] = result["hazard"]["id"], result["hazard"]["number"]
    m.status["anon_a"] = "reported"
    m.media["photo_anon_a"] = photo
    m.receipt_key = result["receipt_key"]

    # Pending uploads: one per signed-in role (its "own"), and reporter2's (nobody else's).
    for role in ROLES[1:]:
        m.media[f"pending_{role}"] = m.upload(m.headers[role])
    m.media["pending_reporter2"] = m.upload(m.extra_headers["reporter2"])

    # Check-ins at A (the grid's inspector) and C (C's inspector).
    for x, who in (("a", m.headers["inspector"]), ("c", m.extra_headers["inspector_c"])):
        _ok(
            client.post(
                f"/api/v1/scan/{m.codes[x]['token']}/checkins",
                json={"lat": 31.7, "lng": 119.9, "accuracy": 10},
                headers=who,
            ),
            201,
        )

    # A signed local-storage link, as GET /media/{id} hands out.
    response = client.get(f"/api/v1/media/{m.media['photo_tip_a']}", headers=m.headers["admin"])
    assert response.status_code == 302, response.get_json()
    m.signed_url = response.headers["Location"]

    _build_prevention(m)
    return m


def _build_prevention(m: Matrix) -> None:
    """双重预防 objects per enterprise, through the API; tasks by the generator."""
    client, admin = m.client, m.headers["admin"]
    items = [{"content": "灭火器在有效期内"}, {"content": "疏散通道畅通"}]
    for x in ENTERPRISES:
        officer = m.headers["officer"] if x == "a" else m.extra_headers[f"officer_{x}"]
        enterprise_id = m.enterprise(x).id
        point = _ok(
            client.post(
                "/api/v1/points",
                json={"enterprise_id": enterprise_id, "name": "储罐区", "kind": "equipment"},
                headers=officer,
            ),
            201,
        )
        m.points[x] = point["id"]
        for name in (x, f"spare_{x}"):
            checklist = _ok(
                client.post(
                    "/api/v1/checklists",
                    json={"name": f"日检{name}", "items": items},
                    headers=officer,
                ),
                201,
            )
            m.checklists[name] = checklist["id"]
        m.task_items[x] = [
            i["id"]
            for i in _ok(client.get(f"/api/v1/checklists/{m.checklists[x]}", headers=officer))[
                "items"
            ]
        ]
        attached = _ok(
            client.post(
                f"/api/v1/points/{point['id']}/checklists",
                json={
                    "checklist_id": m.checklists[x],
                    "frequency": "day",
                    "assignee_role": "enterprise_officer",
                },
                headers=officer,
            ),
            201,
        )
        m.attachments[x] = attached["id"]
        code = _ok(
            client.post(
                f"/api/v1/enterprises/{enterprise_id}/qrcodes",
                json={"point_name": "储罐区"},
                headers=admin,
            ),
            201,
        )
        m.point_tokens[x] = code["token"]
    shared = _ok(
        client.post(
            "/api/v1/checklists",
            json={"name": "区级通用清单", "items": items},
            headers=m.headers["district_supervisor"],
        ),
        201,
    )
    m.checklists["shared"] = shared["id"]
    tasks.generate(m.ctx, days=1)
    for x in ENTERPRISES:
        listed = _ok(
            client.get(
                "/api/v1/tasks",
                query_string={"point_id": m.points[x], "state": "due"},
                headers=admin,
            )
        )
        m.tasks[x] = listed["items"][0]["id"]


def _report(m: Matrix, headers: dict[str, str], token: str, photo: int) -> dict[str, Any]:
    body = {
        "qr_token": token,
        "category": "electrical",
        "description": "配电箱门未关闭，电缆外皮破损",
        "media_ids": [photo],
    }
    return _ok(m.client.post("/api/v1/hazards", json=body, headers=headers), 201)["hazard"]
