"""The test oracle of a hazard's document: the ORM objects, dumped through `HazardSchema`.

Production reads and writes answer with `service.hazards.reads` + `hazard_json`, built
without the ORM or marshmallow for speed; this is the straightforward way to write the same
answer, kept here only so the tests can hold the fast one to it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from marshmallow import pre_dump
from sqlalchemy import select
from sqlalchemy.orm import Session, lazyload

from service.access.scoping import Actor, hazard_scope
from service.core.context import Context
from service.core.errors import NotFound
from service.directory.models import User
from service.hazards import workflow
from service.hazards.deadlines import is_overdue
from service.hazards.models import Hazard, HazardMedia
from service.hazards.queries import shows_reporter
from service.hazards.rules import plan_complete
from service.media.links import link_ttl, photo_links
from service.media.models import Media
from uploads_schema.hazards import HazardSchema
from uploads_schema.vocabulary import CATEGORY_LABELS, STATUS_LABELS, MediaRole

# A reporter is shown by id and name: skip the extra query for the user's eager-loaded grids.
_NO_GRIDS = lazyload(User.grids)


@dataclass
class Photo:
    id: int
    role: MediaRole
    url: str
    thumbnail_url: str


@dataclass
class HazardView:
    """A hazard as one caller may see it."""

    hazard: Hazard
    reporter: User | None
    photos: dict[str, list[Photo]] = field(default_factory=dict)
    actions: list[str] = field(default_factory=list)
    overdue: bool = False  # `deadlines.is_overdue` at read time

    @property
    def plan_complete(self) -> bool:
        return plan_complete(self.hazard.plan)


class HazardViewSchema(HazardSchema):
    """`HazardSchema` dumping a `HazardView`: every stored column, then what is derived."""

    @pre_dump
    def _flatten(self, view: Any, **kwargs: Any) -> dict[str, Any]:
        h = view.hazard
        names = [f.name for f in h.__table__.columns]  # every stored column
        data = {name: getattr(h, name) for name in names}
        data.update(
            status_label=STATUS_LABELS[h.status],
            category_label=CATEGORY_LABELS[h.category],
            enterprise={"id": h.enterprise.id, "name": h.enterprise.name},
            reporter=view.reporter,
            extension=(
                {"until": h.extension_until, "reason": h.extension_reason or ""}
                if h.extension_until
                else None
            ),
            plan_complete=view.plan_complete,
            overdue=view.overdue,
            photos=view.photos,
            actions=view.actions,
        )
        return data


def _photos(ctx: Context, s: Session, hazard_ids: list[int]) -> dict[int, dict[str, list[Photo]]]:
    rows = s.execute(
        select(HazardMedia.hazard_id, HazardMedia.role, Media.id, Media.key, Media.thumb_key)
        .join(Media, Media.id == HazardMedia.media_id)
        .where(HazardMedia.hazard_id.in_(hazard_ids))
        .order_by(
            HazardMedia.hazard_id, HazardMedia.role, HazardMedia.event_seq, HazardMedia.position
        )
    ).all()
    ttl, storage = link_ttl(ctx.settings), ctx.storage
    result: dict[int, dict[str, list[Photo]]] = {
        hid: {r.value: [] for r in MediaRole} for hid in hazard_ids
    }
    for hazard_id, role, media_id, key, thumb_key in rows:
        url, thumb = photo_links(storage, key, thumb_key, ttl)
        result[hazard_id][role.value].append(Photo(media_id, role, url, thumb))
    return result


def _view(
    actor: Actor, hazard: Hazard, reporter: User | None, photos: dict, now: datetime
) -> HazardView:
    return HazardView(
        hazard=hazard,
        reporter=reporter if shows_reporter(actor, hazard) else None,
        photos=photos.get(hazard.id, {}),
        actions=workflow.available_actions(actor, hazard),
        overdue=is_overdue(hazard.status, hazard.deadline, now),
    )


def get_hazard(ctx: Context, actor: Actor, hazard_id: int) -> HazardView:
    """One hazard with photos, plan, deadlines, and what the caller may do next."""
    with ctx.uow() as uow:
        s = uow.session
        # The hazard and its reporter (shown or not, decided in `_view`) in one round trip.
        found = s.execute(
            select(Hazard, User)
            .outerjoin(User, User.id == Hazard.reporter_id)
            .options(_NO_GRIDS)
            .where(Hazard.id == hazard_id, hazard_scope(actor))
        ).first()
        if found is None:
            raise NotFound("隐患不存在", "Hazard not found")
        hazard, reporter = found
        return _view(actor, hazard, reporter, _photos(ctx, s, [hazard.id]), ctx.now())


def public_view(ctx: Context, hazard_id: int) -> HazardView:
    """What a reporter gets back from the public scan endpoint: the report, no one's names."""
    with ctx.uow() as uow:
        hazard = uow.session.get(Hazard, hazard_id)
        if hazard is None:
            raise NotFound("隐患不存在", "Hazard not found")
    return HazardView(
        hazard=hazard,
        reporter=None,
        photos={r.value: [] for r in MediaRole},
        overdue=is_overdue(hazard.status, hazard.deadline, ctx.now()),
    )


def view_after_write(ctx: Context, actor: Actor, hazard_id: int) -> HazardView:
    """The caller's view of a hazard just written. An anonymous report is kept from its
    reporter like from anyone (nothing links them): they get the public view back."""
    try:
        return get_hazard(ctx, actor, hazard_id)
    except NotFound:
        with ctx.uow() as uow:
            anonymous = uow.session.get(Hazard, hazard_id).anonymous
        if anonymous:
            return public_view(ctx, hazard_id)
        raise


def expected(ctx: Context, actor: Actor, hazard_id: int) -> dict[str, Any] | None:
    """The oracle's answer to `GET /hazards/{id}` for this caller, or None for a 404."""
    try:
        view = get_hazard(ctx, actor, hazard_id)
    except NotFound:
        return None
    return HazardViewSchema().dump(view)
