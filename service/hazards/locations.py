"""Where hazards are (一张图): the hazard list's scope and filters, each hazard placed at its
own coordinates or, without them, at its enterprise's; for the console's map and the GeoJSON
the province's GIS platform reads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from service.access.scoping import Actor
from service.core.context import Context
from service.directory.models import Enterprise
from service.hazards.deadlines import overdue_condition
from service.hazards.models import Hazard
from service.hazards.queries import HazardFilters, list_conditions

# One answer stays a size a browser draws and a GIS layer loads at once; narrower filters
# (a street, a status, a period) show the rest. `truncated` says when the limit was reached.
MAX_FEATURES = 5000


@dataclass(frozen=True)
class LocatedHazard:
    id: int
    number: str
    level: str
    status: str
    category: str
    source: str
    enterprise_id: int
    enterprise_name: str
    lat: float
    lng: float
    located_by: str  # "hazard" (its own coordinates) or "enterprise"
    overdue: bool
    supervised: bool
    created_at: datetime


@dataclass(frozen=True)
class Located:
    items: list[LocatedHazard]
    truncated: bool


def located_hazards(
    ctx: Context, actor: Actor, filters: HazardFilters, limit: int = MAX_FEATURES
) -> Located:
    """The caller's hazards matching `filters` that have a place, newest first."""
    now = ctx.now()
    lat = func.coalesce(Hazard.lat, Enterprise.lat)
    lng = func.coalesce(Hazard.lng, Enterprise.lng)
    with ctx.read() as uow:
        s = uow.session
        query = (
            select(
                Hazard.id,
                Hazard.number,
                Hazard.level,
                Hazard.status,
                Hazard.category,
                Hazard.source,
                Hazard.enterprise_id,
                Enterprise.name,
                lat,
                lng,
                Hazard.lat.is_not(None),
                overdue_condition(now),
                Hazard.supervised,
                Hazard.created_at,
            )
            .join(Enterprise, Enterprise.id == Hazard.enterprise_id)
            .where(*list_conditions(s, actor, filters, now), lat.is_not(None), lng.is_not(None))
            .order_by(Hazard.created_at.desc(), Hazard.id.desc())
            .limit(limit + 1)
        )
        rows = s.execute(query).all()
    items = [
        LocatedHazard(
            id=r[0],
            number=r[1],
            level=str(r[2]),
            status=str(r[3]),
            category=str(r[4]),
            source=str(r[5]),
            enterprise_id=r[6],
            enterprise_name=r[7],
            lat=float(r[8]),
            lng=float(r[9]),
            located_by="hazard" if r[10] else "enterprise",
            overdue=bool(r[11]),
            supervised=bool(r[12]),
            created_at=r[13],
        )
        for r in rows[:limit]
    ]
    return Located(items=items, truncated=len(rows) > limit)
