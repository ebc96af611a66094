"""The visibility rule is one table; its Python and both SQL forms give the same answers."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from service.access.scoping import (
    CALLER,
    CHARGE,
    ENTERPRISE_PLACE,
    GRID_PLACE,
    Place,
    caller_charge_condition,
    charge_condition,
    enterprise_place,
    in_charge,
    load_actor,
)
from service.directory.models import Enterprise, Grid
from tests.factories import make_user
from uploads_schema.vocabulary import Role

_ROLES = [
    "admin",
    "district_supervisor",
    "street_supervisor",
    "inspector",
    "officer",
    "reporter",
    "supervisor_without_region",
    "inspector_without_grids",
    "officer_without_enterprise",
]


@pytest.fixture
def people(db, world):
    extra = {
        "supervisor_without_region": make_user(db, Role.SUPERVISOR),
        "inspector_without_grids": make_user(db, Role.INSPECTOR),
        "officer_without_enterprise": make_user(db, Role.ENTERPRISE_OFFICER),
    }
    db.flush()
    return {name: extra.get(name) or getattr(world, name) for name in _ROLES}


def _by_caller(db, user_id, place: Place, table):
    """The ids the caller-row form selects, with the caller bound as in the hot read."""
    rows = db.execute(
        select(table.c.id).select_from(CALLER).join(table, caller_charge_condition(place)),
        {"caller_id": user_id},
    )
    return {row.id for row in rows}


def test_every_role_has_a_charge():
    assert set(CHARGE) == set(Role)


@pytest.mark.parametrize("name", _ROLES)
def test_the_three_forms_agree_on_enterprises(db, people, name):
    user = people[name]
    actor = load_actor(db.connection(), user.id)
    everything = list(db.scalars(select(Enterprise)))
    by_python = {e.id for e in everything if in_charge(actor, enterprise_place(e))}
    by_sql = set(db.scalars(select(Enterprise.id).where(charge_condition(actor, ENTERPRISE_PLACE))))
    table = Enterprise.__table__
    by_row = _by_caller(db, user.id, Place(table.c.region_path, table.c.grid_id, table.c.id), table)
    assert by_python == by_sql == by_row
    if name in ("admin", "district_supervisor"):
        assert by_python == {e.id for e in everything}  # the comparison is not vacuous


@pytest.mark.parametrize("name", _ROLES)
def test_the_three_forms_agree_on_grids(db, people, name):
    user = people[name]
    actor = load_actor(db.connection(), user.id)
    grids = list(db.scalars(select(Grid)))
    by_python = {g.id for g in grids if in_charge(actor, Place(g.region_path, g.id))}
    by_sql = set(db.scalars(select(Grid.id).where(charge_condition(actor, GRID_PLACE))))
    table = Grid.__table__
    by_row = _by_caller(db, user.id, Place(table.c.region_path, table.c.id), table)
    assert by_python == by_sql == by_row
