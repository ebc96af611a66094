"""The hot reads: one hazard, and a page of hazards, as plain rows in few round trips.

`GET /hazards/{id}` is what every phone calls most. It is answered by one statement —
the caller (checked as `load_actor` checks), the hazard if in the caller's scope, its
enterprise, reporter and photos — with no ORM objects and no marshmallow: building those
cost several times what the database spends. The writes answer with the same documents
(`hazard_for`, `after_write`, `public_hazard`); tests hold them to an ORM oracle dumped
through `HazardSchema` (tests/api/hazard_oracle.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Integer,
    Select,
    String,
    and_,
    any_,
    bindparam,
    cast,
    func,
    select,
)
from sqlalchemy.orm import Session

from service.access.auth import TokenClaims
from service.access.scoping import (
    CALLER,
    Actor,
    actor_of,
    caller_columns,
    caller_hazard_scope,
    hazard_scope,
)
from service.core.context import Context
from service.core.db import DirectStatement
from service.core.errors import NotFound
from service.core.pagination import Page, count_total, page_window
from service.directory.models import Enterprise, Region, User
from service.hazards import workflow
from service.hazards.deadlines import is_overdue
from service.hazards.models import Hazard, HazardMedia
from service.hazards.queries import HazardFilters, list_conditions, shows_reporter
from service.hazards.rules import plan_complete
from service.media.links import link_ttl, photo_links
from service.media.models import Media
from uploads_schema.vocabulary import MediaRole

_h = Hazard.__table__
_e = Enterprise.__table__
_u = User.__table__
_r = Region.__table__
_hm = HazardMedia.__table__
_m = Media.__table__
_reporter = _u.alias("reporter")


# Named tuples, not frozen dataclasses: a list page builds dozens of each, and a frozen
# dataclass sets every field through object.__setattr__.
class PhotoRef(NamedTuple):
    id: int
    url: str
    thumbnail_url: str


class HazardDoc(NamedTuple):
    """A hazard as one caller may see it: `hazard` has every stored column as attributes."""

    hazard: Any
    enterprise_name: str
    reporter: tuple[int, str] | None  # (id, display name), only when the caller may see it
    photos: dict[str, list[PhotoRef]]
    actions: list[str]
    overdue: bool  # `deadlines.is_overdue` at read time

    @property
    def plan_complete(self) -> bool:
        return plan_complete(self.hazard.plan)


# Photos ride along in one column, so a hazard is one row (not one per photo, each
# repeating every hazard column): role, event, position, id, key, thumbnail key per photo.
# Keys are our own "a/b/c.jpg" paths, which never hold these separators.
_FIELD, _PHOTO = "\x1f", "\x1e"
_photos_packed = (
    select(
        func.aggregate_strings(
            cast(_hm.c.role, String)
            + _FIELD
            + cast(_hm.c.event_seq, String)
            + _FIELD
            + cast(_hm.c.position, String)
            + _FIELD
            + cast(_m.c.id, String)
            + _FIELD
            + _m.c.key
            + _FIELD
            + _m.c.thumb_key,
            _PHOTO,
        )
    )
    .select_from(_hm.join(_m, _m.c.id == _hm.c.media_id))
    .where(_hm.c.hazard_id == _h.c.id)
    .scalar_subquery()
    .label("photos")
)
# Every stored column a caller's document needs (not the chain head or the receipt hash).
_UNSHOWN = {"qrcode_id", "event_seq", "last_event_hash", "receipt_key_hash", "escalation_level"}
_DOCUMENT = (
    *(c for c in _h.c if c.name not in _UNSHOWN),
    _e.c.name.label("enterprise_name"),
    _reporter.c.display_name.label("reporter_name"),
    _photos_packed,
)

# One row: the caller's, with the hazard's columns empty when it is not found or not theirs.
_ONE = (
    select(*caller_columns(), *_DOCUMENT)
    .select_from(CALLER)
    .outerjoin(_h, and_(_h.c.id == bindparam("hazard_id"), caller_hazard_scope()))
    .outerjoin(_e, _e.c.id == _h.c.enterprise_id)
    .outerjoin(_reporter, _reporter.c.id == _h.c.reporter_id)
)


_ONE_DIRECT = DirectStatement(_ONE)


def read_hazard(ctx: Context, claims: TokenClaims, hazard_id: int) -> tuple[Actor, HazardDoc]:
    """The caller (401 if deactivated or revoked) and one hazard in their scope (else 404)."""
    with ctx.read_connection() as connection:
        row = _ONE_DIRECT.first(connection, {"caller_id": claims.user_id, "hazard_id": hazard_id})
    actor = actor_of(row, claims.token_version)
    if row is None or row.id is None:
        raise NotFound("隐患不存在", "Hazard not found")
    return actor, _docs(ctx, actor, [row], ctx.now())[0]


# A page's documents by id: key lookups, so the pooled connection's prepared statement may
# keep its generic plan (planning this join costs more than running it). PostgreSQL takes
# the ids as one array parameter; elsewhere they expand into IN (…).
_by_ids = (
    select(*_DOCUMENT)
    .join(_e, _e.c.id == _h.c.enterprise_id)
    .outerjoin(_reporter, _reporter.c.id == _h.c.reporter_id)
)
_PAGE_PG = DirectStatement(_by_ids.where(_h.c.id == any_(cast(bindparam("ids"), ARRAY(Integer)))))
_PAGE_OTHER = DirectStatement(_by_ids.where(_h.c.id.in_(bindparam("ids", expanding=True))))
_BY_ID = _by_ids.where(_h.c.id == bindparam("hazard_id"))


def hazard_for(ctx: Context, actor: Actor, hazard_id: int) -> HazardDoc:
    """One hazard in the scope of a caller already loaded (else 404), the document
    `read_hazard` reads: what a write answers once its transaction has committed."""
    with ctx.read_connection() as connection:
        row = connection.execute(
            _BY_ID.where(hazard_scope(actor)), {"hazard_id": hazard_id}
        ).first()
    if row is None:
        raise NotFound("隐患不存在", "Hazard not found")
    return _docs(ctx, actor, [row], ctx.now())[0]


def public_hazard(ctx: Context, hazard_id: int) -> HazardDoc:
    """A hazard as a public report through a scanned code answers it, whoever sent it:
    the report itself, no one's name, no photos, no actions."""
    with ctx.read_connection() as connection:
        row = connection.execute(_BY_ID, {"hazard_id": hazard_id}).first()
    if row is None:
        raise NotFound("隐患不存在", "Hazard not found")
    return HazardDoc(
        hazard=row,
        enterprise_name=row.enterprise_name,
        reporter=None,
        photos={role: [] for role in _ROLES},
        actions=[],
        overdue=is_overdue(row.status, row.deadline, ctx.now()),
    )


def after_write(ctx: Context, actor: Actor, hazard: Hazard) -> HazardDoc:
    """The caller's document of a hazard they just wrote. An anonymous report is kept from
    its reporter like from anyone (nothing links them): they get the public one."""
    try:
        return hazard_for(ctx, actor, hazard.id)
    except NotFound:
        if hazard.anonymous:
            return public_hazard(ctx, hazard.id)
        raise


def list_page(
    ctx: Context, actor: Actor, filters: HazardFilters, *, page: int = 1, page_size: int = 20
) -> Page[HazardDoc]:
    """A page of the caller's hazards (`hazards.list_conditions`), newest first and stable
    across pages: the page's ids (planned with the caller's own scope and filters), then
    their documents with enterprises, reporters and photos in one statement, and the total."""
    page, page_size = page_window(page, page_size)
    window = {"offset": (page - 1) * page_size, "limit": page_size}
    now = ctx.now()  # one moment for the "overdue" filter and the documents' field
    with ctx.lookup() as uow:
        s = uow.session
        connection = s.connection()  # Core statements: the ORM's execution path costs more
        if filters == _NO_FILTERS:
            listing = _plain_listing(s, actor, now)
            count = listing.count
            ids = [row.id for row in listing.ids.all(connection, window)]
        else:
            conditions = list_conditions(s, actor, filters, now)
            count = _count_of(conditions)
            ids = list(connection.scalars(_ids_of(conditions), window))
        total = count_total(s, count, ("hazards", actor, repr(filters)))
        rows = []
        if ids:
            fetch = _PAGE_PG if connection.dialect.name == "postgresql" else _PAGE_OTHER
            found = {row.id: row for row in fetch.all(connection, {"ids": ids})}
            rows = [found[i] for i in ids if i in found]
    return Page(items=_docs(ctx, actor, rows, now), page=page, page_size=page_size, total=total)


def _count_of(conditions: Sequence[ColumnElement[bool]]) -> Select[Any]:
    return select(func.count()).select_from(_h).where(*conditions)


def _ids_of(conditions: Sequence[ColumnElement[bool]]) -> Select[Any]:
    """A window (`offset`, `limit`) of the matching ids, newest first, stable across pages."""
    return (
        select(_h.c.id)
        .where(*conditions)
        .order_by(_h.c.created_at.desc(), _h.c.id.desc())
        .offset(bindparam("offset", type_=Integer))
        .limit(bindparam("limit", type_=Integer))
    )


class _Listing(NamedTuple):
    count: Select[Any]
    ids: DirectStatement


_NO_FILTERS = HazardFilters()
# The unfiltered list, what phones ask for most, has the same two statements on every page
# for one caller: kept per caller scope (an Actor holds all `hazard_scope` reads), with the
# ids run on the direct cursor. Building them and running them through SQLAlchemy cost
# twice what the database spends on the page's ids. Filtered lists are built per request:
# their values (dates, search text, now for "overdue") would churn such a cache.
_LISTINGS_KEPT = 1024
_listings: dict[Actor, _Listing] = {}


def _plain_listing(s: Session, actor: Actor, now: datetime) -> _Listing:
    listing = _listings.get(actor)
    if listing is None:
        # Without filters, the conditions are the caller's scope: neither `s` nor `now`.
        scope = list_conditions(s, actor, _NO_FILTERS, now)
        listing = _Listing(_count_of(scope), DirectStatement(_ids_of(scope)))
        if len(_listings) >= _LISTINGS_KEPT:
            _listings.clear()  # callers still listing rebuild theirs once
        _listings[actor] = listing
    return listing


_ROLES = tuple(role.value for role in MediaRole)


def _docs(ctx: Context, actor: Actor, rows: Sequence[Any], now: datetime) -> list[HazardDoc]:
    """One document per hazard row, for this caller, as of `now`."""
    ttl, storage = link_ttl(ctx.settings), ctx.storage
    docs = []
    for row in rows:
        photos: dict[str, list[PhotoRef]] = {role: [] for role in _ROLES}
        packed = sorted(
            (role, int(seq), int(position), int(media_id), key, thumb_key)
            for role, seq, position, media_id, key, thumb_key in (
                item.split(_FIELD) for item in (row.photos or "").split(_PHOTO) if item
            )
        )
        for role, _seq, _position, media_id, key, thumb_key in packed:
            url, thumbnail_url = photo_links(storage, key, thumb_key, ttl)
            photos[role].append(PhotoRef(media_id, url, thumbnail_url))
        docs.append(
            HazardDoc(
                hazard=row,
                enterprise_name=row.enterprise_name,
                reporter=(
                    (row.reporter_id, row.reporter_name or "")
                    if shows_reporter(actor, row)
                    else None
                ),
                photos=photos,
                actions=workflow.available_actions(actor, row),
                overdue=is_overdue(row.status, row.deadline, now),
            )
        )
    return docs
