"""The one clock: stored times are UTC; the days an office works by are China days (北京时间).

China keeps one zone and no daylight saving (none since 1991), so a China date is a fixed
eight hours ahead of UTC: SQLite's date arithmetic may shift by that offset, and PostgreSQL
converts by the zone's name. Every local date, week or month in the app comes from here.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Date, cast, func

CHINA_ZONE_NAME = "Asia/Shanghai"  # the IANA name, also PostgreSQL's for timezone()
CHINA = ZoneInfo(CHINA_ZONE_NAME)
CHINA_OFFSET = timedelta(hours=8)  # exact for every moment since 1991
# SQLite's date-function modifier for the offset: "+8 hours".
SQLITE_CHINA_SHIFT = f"{CHINA_OFFSET // timedelta(hours=1):+d} hours"


def utcnow() -> datetime:
    """Timezone-aware now in UTC; all stored times are UTC."""
    return datetime.now(UTC)


def to_china(moment: datetime) -> datetime:
    """An aware moment as China wall-clock time."""
    return moment.astimezone(CHINA)


def china_date(moment: datetime) -> date:
    """The China date of an aware moment (a hazard number's day, a statistics day)."""
    return moment.astimezone(CHINA).date()


def china_midnight(day: date) -> datetime:
    """The moment a China day starts (aware)."""
    return datetime.combine(day, time.min, CHINA)


# The last moment of a China day that every database keeps (SQLite keeps milliseconds).
_LAST_MOMENT = timedelta(milliseconds=1)


def end_of_china_day(day: date) -> datetime:
    """The last moment of a China day, 23:59:59.999 +08:00: what a deadline given as a date
    means, so "by 2026-12-10" is on time all that day and overdue from the next."""
    return china_midnight(day + timedelta(days=1)) - _LAST_MOMENT


def deadline_of(value: date | datetime) -> datetime:
    """A deadline as given (a timestamp), or a date's last moment in China time."""
    return value if isinstance(value, datetime) else end_of_china_day(value)


def period_start(value: date | datetime) -> datetime:
    """Where a period given `from` a date (its China midnight) or a timestamp starts."""
    return value if isinstance(value, datetime) else china_midnight(value)


def period_end(value: date | datetime) -> datetime:
    """Where a period running `to` a date (that whole day) or a timestamp ends, exclusive."""
    return value if isinstance(value, datetime) else china_midnight(value + timedelta(days=1))


def from_china_wall_clock(wall_clock: datetime) -> datetime:
    """A naive China wall-clock time (a phone camera's EXIF time) as an aware UTC moment."""
    # The fixed offset, not the zone's history: a camera's clock says nothing of 1980s DST.
    return (wall_clock - CHINA_OFFSET).replace(tzinfo=UTC)


def china_time_sql(moment: ColumnElement[Any], dialect: str) -> ColumnElement[Any]:
    """A stored UTC time column as China wall-clock time, in PostgreSQL or SQLite SQL."""
    if dialect == "postgresql":
        return func.timezone(CHINA_ZONE_NAME, moment)
    return func.datetime(moment, SQLITE_CHINA_SHIFT)


def china_date_sql(moment: ColumnElement[Any], dialect: str) -> ColumnElement[Any]:
    """A stored UTC time column's China date, in PostgreSQL or SQLite SQL."""
    if dialect == "postgresql":
        return cast(func.timezone(CHINA_ZONE_NAME, moment), Date)
    return func.date(moment, SQLITE_CHINA_SHIFT)
