"""`flask demo seed` builds the documented demo district, and running it twice is harmless."""

from sqlalchemy import func, select

from miniprogram_api import create_app
from service.credit_code import check
from service.models import Enterprise, Grid, Region, RegionLevel, User


def test_demo_seed_is_idempotent_and_every_demo_account_logs_in(ctx, db):
    app = create_app(context=ctx)
    runner = app.test_cli_runner()
    first = runner.invoke(args=["demo", "seed"])
    assert first.exit_code == 0, first.output
    counts = {
        "regions": db.scalar(select(func.count(Region.id))),
        "grids": db.scalar(select(func.count(Grid.id))),
        "enterprises": db.scalar(select(func.count(Enterprise.id))),
        "users": db.scalar(select(func.count(User.id))),
    }
    second = runner.invoke(args=["demo", "seed"])
    assert second.exit_code == 0, second.output
    assert counts == {
        "regions": db.scalar(select(func.count(Region.id))),
        "grids": db.scalar(select(func.count(Grid.id))),
        "enterprises": db.scalar(select(func.count(Enterprise.id))),
        "users": db.scalar(select(func.count(User.id))),
    }
    levels = db.execute(select(Region.level, func.count()).group_by(Region.level)).all()
    assert dict(levels) == {
        RegionLevel.CITY: 1,
        RegionLevel.DISTRICT: 1,
        RegionLevel.STREET: 3,
        RegionLevel.COMMUNITY: 6,
    }
    assert counts["grids"] == 12 and counts["enterprises"] == 20
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
