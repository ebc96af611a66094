"""The clock's SQL forms give the same China dates and times as Python, on this database."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import literal, select

from service.core.clock import china_date, china_date_sql, china_time_sql, to_china
from service.core.models import UTCDateTime

MOMENTS = [
    datetime(2026, 10, 1, 15, 59, 59, tzinfo=UTC),  # 23:59:59 in China
    datetime(2026, 10, 1, 16, 0, 0, tzinfo=UTC),  # midnight in China: the next day
    datetime(2026, 12, 31, 16, 0, 0, tzinfo=UTC),  # the new year in China
    datetime(2026, 7, 1, 3, 4, 5, tzinfo=UTC),
]


@pytest.mark.parametrize("moment", MOMENTS, ids=str)
def test_sql_china_date_and_time_match_the_python_clock(db, moment: datetime) -> None:
    dialect = db.get_bind().dialect.name
    stored = literal(moment, UTCDateTime())
    day, local = db.execute(
        select(china_date_sql(stored, dialect), china_time_sql(stored, dialect))
    ).one()
    # SQLite answers text, PostgreSQL a date and a naive timestamp: compare as ISO text.
    assert str(day) == china_date(moment).isoformat()
    assert str(local) == to_china(moment).replace(tzinfo=None).isoformat(sep=" ")
