"""Page-number pagination with a total, as mobile lists expect."""

from __future__ import annotations

import time
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

T = TypeVar("T")

MAX_PAGE_SIZE = 100
# Counting a large list costs more than fetching its page (a district's 100,000 hazards:
# a full scan on every page). With a `total_key`, totals from LARGE_TOTAL up are kept per
# process for TOTAL_TTL_SECONDS, so scrolling does not recount; smaller ones stay exact.
LARGE_TOTAL = 10_000
TOTAL_TTL_SECONDS = 30.0
_MAX_KEPT = 1024
_totals: dict[tuple[str, Hashable], tuple[float, int]] = {}


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    page: int
    page_size: int
    total: int


def paginate(
    session: Session,
    query: Select[Any],
    page: int,
    page_size: int,
    *,
    total_key: Hashable | None = None,
) -> Page[Any]:
    """Run `query` (already ordered by a unique key, so pages are stable) for one page.

    `total_key` names what is counted (who asks, which filters): a list of a large table
    passes it so a large total is kept for a short while instead of recounted per page.
    """
    page, page_size = page_window(page, page_size)
    count = select(func.count()).select_from(query.order_by(None).subquery())
    total = count_total(session, count, total_key)
    items = list(session.scalars(query.offset((page - 1) * page_size).limit(page_size)))
    return Page(items=items, page=page, page_size=page_size, total=total)


def page_window(page: int, page_size: int) -> tuple[int, int]:
    """The page number and size actually served (at least 1, at most MAX_PAGE_SIZE)."""
    return max(page, 1), min(max(page_size, 1), MAX_PAGE_SIZE)


def count_total(session: Session, count: Select[Any], total_key: Hashable | None) -> int:
    """Run a count statement; with a `total_key`, a large total is kept for a while."""
    if total_key is None:
        return session.scalar(count) or 0
    return _kept_total(session, count, total_key)


def _kept_total(session: Session, count: Select[Any], total_key: Hashable) -> int:
    key = (str(session.get_bind().engine.url), total_key)
    now = time.monotonic()
    kept = _totals.get(key)
    if kept is not None and kept[0] > now:
        return kept[1]
    total = session.scalar(count) or 0
    if total >= LARGE_TOTAL:
        if len(_totals) >= _MAX_KEPT:
            _totals.clear()
        _totals[key] = (now + TOTAL_TTL_SECONDS, total)
    return total
