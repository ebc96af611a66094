"""plan deadlines as timestamps: the 五落实 时限 is kept like every other deadline

The plan's deadline used to be free text; it is now a date or timestamp, stored as an ISO
8601 UTC timestamp (a date meaning the end of that China day, 23:59:59.999 +08:00), so the
plans filed before answer like the new ones. Text that reads as a date (`2026-12-20`) or as
a timestamp with its offset is rewritten; any other text (「年底前」) is left as it was.
The hazards' event log keeps what was filed (its hashes cover it). Downgrade writes a
date's end-of-day timestamp back as the date and leaves the rest.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""

import re
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta, timezone

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen here rather than imported: a migration keeps meaning what it meant when written.
CHINA = timezone(timedelta(hours=8))
DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
LAST_MOMENT = timedelta(milliseconds=1)

hazards = sa.table("hazards", sa.column("id", sa.Integer), sa.column("plan", sa.JSON))


def _end_of_day(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), datetime.min.time(), CHINA) - LAST_MOMENT


def _as_timestamp(text: str) -> str | None:
    text = text.strip()
    try:
        if DAY.fullmatch(text):
            moment = _end_of_day(date.fromisoformat(text))
        else:
            moment = datetime.fromisoformat(text)
            if moment.tzinfo is None:
                return None  # no offset: which day it means is a guess
    except ValueError:
        return None
    if not 1900 <= moment.year <= 2999:
        return None
    return moment.astimezone(UTC).isoformat()


def _as_date(text: str) -> str | None:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    local = moment.astimezone(CHINA)
    if local != _end_of_day(local.date()):
        return None
    return local.date().isoformat()


def _rewrite(convert) -> None:  # type: ignore[no-untyped-def]
    connection = op.get_bind()
    for hazard_id, plan in connection.execute(sa.select(hazards.c.id, hazards.c.plan)).all():
        if not isinstance(plan, dict) or not isinstance(plan.get("deadline"), str):
            continue
        new = convert(plan["deadline"])
        if new is not None and new != plan["deadline"]:
            connection.execute(
                hazards.update()
                .where(hazards.c.id == hazard_id)
                .values(plan={**plan, "deadline": new})
            )


def upgrade() -> None:
    _rewrite(_as_timestamp)


def downgrade() -> None:
    _rewrite(_as_date)
