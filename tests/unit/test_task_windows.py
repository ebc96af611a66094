"""Task windows in China time: days, Monday weeks, months, quarters, years and shifts."""

import itertools
from datetime import UTC, datetime, timedelta, timezone

import pytest

from service.inspections.windows import shift_times, window_end, window_start, windows
from uploads_schema.vocabulary import Frequency

CN = timezone(timedelta(hours=8))


def cn(*args: int) -> datetime:
    return datetime(*args, tzinfo=CN)


@pytest.mark.parametrize(
    ("frequency", "moment", "start", "end"),
    [
        # 2026-12-06 is a Sunday; 23:59:59 China is 15:59:59 UTC the same day.
        (Frequency.DAY, cn(2026, 12, 6, 23, 59, 59), cn(2026, 12, 6), cn(2026, 12, 7)),
        (Frequency.DAY, cn(2026, 12, 7, 0, 0), cn(2026, 12, 7), cn(2026, 12, 8)),
        (Frequency.WEEK, cn(2026, 12, 6, 23, 59, 59), cn(2026, 11, 30), cn(2026, 12, 7)),
        (Frequency.WEEK, cn(2026, 12, 7, 0, 0), cn(2026, 12, 7), cn(2026, 12, 14)),
        (Frequency.MONTH, cn(2026, 12, 31, 23, 59), cn(2026, 12, 1), cn(2027, 1, 1)),
        (Frequency.MONTH, cn(2026, 2, 1, 0, 0), cn(2026, 2, 1), cn(2026, 3, 1)),
        (Frequency.QUARTER, cn(2026, 12, 4), cn(2026, 10, 1), cn(2027, 1, 1)),
        (Frequency.QUARTER, cn(2026, 4, 1), cn(2026, 4, 1), cn(2026, 7, 1)),
        (Frequency.QUARTER, cn(2026, 3, 31, 23, 59), cn(2026, 1, 1), cn(2026, 4, 1)),
        (Frequency.YEAR, cn(2026, 12, 31, 23, 59), cn(2026, 1, 1), cn(2027, 1, 1)),
        (Frequency.SHIFT, cn(2026, 12, 4, 7, 59), cn(2026, 12, 4, 0), cn(2026, 12, 4, 8)),
        (Frequency.SHIFT, cn(2026, 12, 4, 8, 0), cn(2026, 12, 4, 8), cn(2026, 12, 4, 16)),
        (Frequency.SHIFT, cn(2026, 12, 4, 23, 59), cn(2026, 12, 4, 16), cn(2026, 12, 5, 0)),
        (Frequency.SHIFT, cn(2026, 12, 5, 0, 0), cn(2026, 12, 5, 0), cn(2026, 12, 5, 8)),
    ],
)
def test_the_window_holding_a_moment(frequency, moment, start, end):
    utc = moment.astimezone(UTC)  # stored times are UTC: the China day decides, not UTC's
    assert window_start(frequency, utc, shift_times(None)) == start
    assert window_end(frequency, start, shift_times(None)) == end


def test_a_sunday_evening_in_china_is_still_last_week_although_utc_says_sunday_morning():
    moment = datetime(2026, 12, 6, 16, 30, tzinfo=UTC)  # Monday 00:30 in China
    assert window_start(Frequency.WEEK, moment) == cn(2026, 12, 7)


def test_an_enterprises_own_shifts_wrap_over_midnight():
    shifts = shift_times(["07:30", "19:30"])
    assert window_start(Frequency.SHIFT, cn(2026, 12, 4, 6), shifts) == cn(2026, 12, 3, 19, 30)
    assert window_end(Frequency.SHIFT, cn(2026, 12, 3, 19, 30), shifts) == cn(2026, 12, 4, 7, 30)
    assert window_end(Frequency.SHIFT, cn(2026, 12, 4, 7, 30), shifts) == cn(2026, 12, 4, 19, 30)


def test_windows_cover_a_horizon_from_the_one_already_open():
    found = list(windows(Frequency.DAY, cn(2026, 12, 4, 10), cn(2026, 12, 7, 10)))
    assert [s for s, _ in found] == [
        cn(2026, 12, 4),
        cn(2026, 12, 5),
        cn(2026, 12, 6),
        cn(2026, 12, 7),
    ]
    shifts = list(windows(Frequency.SHIFT, cn(2026, 12, 4, 10), cn(2026, 12, 5, 10)))
    assert len(shifts) == 4  # 08–16, 16–24, 00–08, 08–16
    assert all(end == nxt for (_, end), (nxt, _) in itertools.pairwise(shifts))
