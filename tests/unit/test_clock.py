"""The one China clock: local dates turn at 16:00 UTC, stored times stay UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from service.core.clock import (
    china_date,
    china_midnight,
    from_china_wall_clock,
    to_china,
    utcnow,
)

BEIJING = timezone(timedelta(hours=8))  # the expectation, written independently of the clock


def test_a_china_day_turns_at_sixteen_utc() -> None:
    assert china_date(datetime(2026, 10, 1, 15, 59, 59, tzinfo=UTC)) == date(2026, 10, 1)
    assert china_date(datetime(2026, 10, 1, 16, 0, tzinfo=UTC)) == date(2026, 10, 2)


def test_a_china_day_starts_at_sixteen_utc_the_day_before() -> None:
    start = china_midnight(date(2026, 10, 2))
    assert start == datetime(2026, 10, 1, 16, 0, tzinfo=UTC)
    assert china_date(start) == date(2026, 10, 2)
    assert china_date(start - timedelta(microseconds=1)) == date(2026, 10, 1)


@pytest.mark.parametrize("month", [1, 7])  # no daylight saving: winter and summer alike
def test_china_time_is_utc_plus_eight_all_year(month: int) -> None:
    moment = datetime(2026, month, 15, 20, 30, tzinfo=UTC)
    local = to_china(moment)
    assert local == moment
    assert local.replace(tzinfo=None) == datetime(2026, month, 16, 4, 30)
    assert local.utcoffset() == BEIJING.utcoffset(None)


def test_a_cameras_wall_clock_is_read_as_china_time_and_kept_as_utc() -> None:
    stored = from_china_wall_clock(datetime(2026, 5, 20, 9, 31, 7))
    assert stored == datetime(2026, 5, 20, 9, 31, 7, tzinfo=BEIJING)
    assert stored.tzinfo is UTC


def test_now_is_aware_utc() -> None:
    assert utcnow().tzinfo is UTC
