"""The statistics' rollup tables (隐患日汇总, 隐患月汇总)."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Date,
    Float,
    Index,
    Integer,
    String,
    Table,
)

from service.core.models import Base, enum_column
from uploads_schema.vocabulary import (
    HazardLevel,
)

# Upper edges (hours) of the hours-to-close histogram in `hazard_daily`; the last bucket
# is open-ended. p90_hours_to_close is reported as the edge of its bucket (README).
HOUR_EDGES = (4, 8, 12, 24, 48, 72, 96, 120, 168, 240, 360, 480, 720, 1080, 1440, 2160, 4320, 8760)
HOUR_BUCKETS = (*(f"h_le_{e}" for e in HOUR_EDGES), f"h_gt_{HOUR_EDGES[-1]}")


def _rollup_table(name: str, period: str) -> Table:
    """The statistics' counters per unit, period (a `Date`) and level."""
    return Table(
        name,
        Base.metadata,
        Column("unit_path", String(255), primary_key=True),
        Column(period, Date, primary_key=True),
        Column("level", enum_column(HazardLevel, "hazard_level"), primary_key=True),
        Column("reported", Integer, nullable=False),
        Column("rejected", Integer, nullable=False),
        Column("closed", Integer, nullable=False),
        Column("open", Integer, nullable=False),
        Column("closed_on_time", Integer, nullable=False),
        Column("reopens", Integer, nullable=False),
        Column("close_seconds", Float, nullable=False),  # over closed hazards with a closed_at
        *(Column(name, Integer, nullable=False) for name in HOUR_BUCKETS),
        # A region's units by path prefix and a period (the primary key's collation cannot
        # serve LIKE).
        Index(
            f"ix_{name}_unit_path_{period}",
            "unit_path",
            period,
            postgresql_ops={"unit_path": "text_pattern_ops"},
        ),
    )


# 隐患日汇总: per unit (the hazard's region path cut to street level), China day of report
# and level, the counters the statistics add up. Kept by service.rollup in the same
# transaction as every hazard write.
hazard_daily = _rollup_table("hazard_daily", "day")
# The same per calendar month (`month` is its first day): a year is 12 rows per unit and
# level instead of 365.
hazard_monthly = _rollup_table("hazard_monthly", "month")
