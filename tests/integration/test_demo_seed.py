"""`flask demo seed` builds the documented demo district, and running it twice is harmless."""

import re

from sqlalchemy import func, select

from miniprogram_api import create_app
from service.directory.credit_code import check
from service.directory.models import Enterprise, Grid, Region, User
from service.hazards.models import Hazard
from service.hazards.queries import verify_all_chains
from service.media.models import Media
from service.qrcodes.models import QrCode
from uploads_schema.vocabulary import RegionLevel


def test_demo_seed_is_idempotent_and_every_demo_account_logs_in(ctx, db):
    app = create_app(context=ctx)
    runner = app.test_cli_runner()
    first = runner.invoke(args=["demo", "seed"])
    assert first.exit_code == 0, first.output

    def counts():
        return {
            model.__tablename__: db.scalar(select(func.count(model.id)))
            for model in (Region, Grid, Enterprise, User, QrCode, Hazard, Media)
        }

    after_first = counts()
    second = runner.invoke(args=["demo", "seed"])
    assert second.exit_code == 0, second.output
    assert counts() == after_first
    assert after_first["qr_codes"] == 20
    statuses = set(db.scalars(select(Hazard.status)))
    assert {s.value for s in statuses} == {
        "reported",
        "rectifying",
        "verifying",
        "closed",
        "rejected",
    }
    assert "scan it: curl" in first.output
    scene = re.search(r"scene (\S+)", first.output)
    assert scene is not None and db.scalar(select(QrCode.id).where(QrCode.token == scene[1]))
    assert f"report from a phone's browser: https://mashangcha.test/q/{scene[1]}" in first.output
    levels = db.execute(select(Region.level, func.count()).group_by(Region.level)).all()
    assert dict(levels) == {
        RegionLevel.CITY: 1,
        RegionLevel.DISTRICT: 1,
        RegionLevel.STREET: 3,
        RegionLevel.COMMUNITY: 6,
    }
    assert after_first["grids"] == 12 and after_first["enterprises"] == 20
    enterprises = db.scalars(select(Enterprise)).all()
    assert all(check(e.credit_code).checksum_ok for e in enterprises)
    assert (
        len({e.industry for e in enterprises}) >= 5
        and len({e.risk_color for e in enterprises}) == 4
    )

    client = app.test_client()
    roles = {}
    for username in ("admin", "district", "street", "inspector", "officer", "worker"):
        response = client.post(
            "/api/v1/auth/login", json={"username": username, "password": "demo12345"}
        )
        assert response.status_code == 200, (username, response.json)
        roles[username] = response.json["user"]["role"]
    assert roles == {
        "admin": "admin",
        "district": "supervisor",
        "street": "supervisor",
        "inspector": "inspector",
        "officer": "enterprise_officer",
        "worker": "reporter",
    }
    token = client.post(
        "/api/v1/auth/login", json={"username": "street", "password": "demo12345"}
    ).json["access_token"]
    street_view = client.get(
        "/api/v1/enterprises?page_size=100", headers={"Authorization": f"Bearer {token}"}
    ).json
    assert 0 < street_view["total"] < 20

    summary = client.get("/api/v1/stats/summary", headers={"Authorization": f"Bearer {token}"}).json
    assert summary["figures"]["reported"] == 5 and summary["figures"]["closed"] == 1
    checked, breaks = verify_all_chains(ctx)
    assert checked == 5 and breaks == []
