"""The windows inspection tasks are due in, in China time (pure functions).

每天 is a China day from midnight; 每周 starts Monday 00:00; 每月, 每季 (January, April,
July, October) and 每年 start on their first day at 00:00; 每班 follows the enterprise's
shift start times (default 08:00, 16:00 and 24:00, i.e. 00:00–08:00, 08:00–16:00 and
16:00–24:00), each shift running until the next one starts. A window is [start, end).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, datetime, time, timedelta

from service.core.clock import CHINA, china_midnight
from uploads_schema.vocabulary import Frequency

DEFAULT_SHIFTS = ("08:00", "16:00", "00:00")


def shift_times(starts: Sequence[str] | None) -> list[time]:
    """Shift start times as `time`, sorted ("24:00" is midnight)."""
    result = set()
    for text in starts or DEFAULT_SHIFTS:
        hours, minutes = (int(part) for part in text.split(":"))
        result.add(time(hours % 24, minutes))
    return sorted(result)


def _first_of_month(day: date, months_back: int = 0) -> date:
    month0 = day.year * 12 + day.month - 1 - months_back
    return date(month0 // 12, month0 % 12 + 1, 1)


def _add_months(day: date, months: int) -> date:
    return _first_of_month(day, -months)


def window_start(frequency: Frequency, moment: datetime, shifts: Sequence[time] = ()) -> datetime:
    """The start of the window of `frequency` that contains `moment` (aware)."""
    local = moment.astimezone(CHINA)
    day = local.date()
    match frequency:
        case Frequency.DAY:
            return china_midnight(day)
        case Frequency.WEEK:
            return china_midnight(day - timedelta(days=day.weekday()))
        case Frequency.MONTH:
            return china_midnight(day.replace(day=1))
        case Frequency.QUARTER:
            return china_midnight(date(day.year, (day.month - 1) // 3 * 3 + 1, 1))
        case Frequency.YEAR:
            return china_midnight(date(day.year, 1, 1))
        case Frequency.SHIFT:
            starts = list(shifts) or shift_times(None)
            candidates = [datetime.combine(day, t, CHINA) for t in starts]
            started = [c for c in candidates if c <= local]
            if started:
                return started[-1]
            return datetime.combine(day - timedelta(days=1), starts[-1], CHINA)
    raise ValueError(frequency)


def window_end(frequency: Frequency, start: datetime, shifts: Sequence[time] = ()) -> datetime:
    """The end (exclusive) of the window starting at `start`."""
    local = start.astimezone(CHINA)
    day = local.date()
    match frequency:
        case Frequency.DAY:
            return china_midnight(day + timedelta(days=1))
        case Frequency.WEEK:
            return china_midnight(day + timedelta(days=7))
        case Frequency.MONTH:
            return china_midnight(_add_months(day, 1))
        case Frequency.QUARTER:
            return china_midnight(_add_months(day, 3))
        case Frequency.YEAR:
            return china_midnight(date(day.year + 1, 1, 1))
        case Frequency.SHIFT:
            starts = list(shifts) or shift_times(None)
            later = [t for t in starts if t > local.timetz().replace(tzinfo=None)]
            if later:
                return datetime.combine(day, later[0], CHINA)
            return datetime.combine(day + timedelta(days=1), starts[0], CHINA)
    raise ValueError(frequency)


def windows(
    frequency: Frequency, since: datetime, until: datetime, shifts: Sequence[time] = ()
) -> Iterator[tuple[datetime, datetime]]:
    """Every window that is open at some moment of [since, until): the one holding `since`
    and those starting before `until`."""
    start = window_start(frequency, since, shifts)
    while start < until:
        end = window_end(frequency, start, shifts)
        yield start, end
        start = end
