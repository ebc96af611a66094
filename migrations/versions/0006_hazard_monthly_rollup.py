"""hazard monthly rollup

`hazard_monthly` (隐患月汇总): the counters of `hazard_daily` per calendar month (`month` is
its first day), kept by the workflow next to the daily rows (service/rollup.py) and filled
here from them, so a district's year adds up 12 rows per unit instead of 365.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copy of the counters at this revision (see 0005).
HOUR_EDGES = (4, 8, 12, 24, 48, 72, 96, 120, 168, 240, 360, 480, 720, 1080, 1440, 2160, 4320, 8760)
HOUR_BUCKETS = (*(f"h_le_{e}" for e in HOUR_EDGES), f"h_gt_{HOUR_EDGES[-1]}")
COUNTERS = (
    "reported",
    "rejected",
    "closed",
    "open",
    "closed_on_time",
    "reopens",
    "close_seconds",
    *HOUR_BUCKETS,
)


def _backfill_sql(dialect: str) -> str:
    month = (
        "date_trunc('month', day)::date"
        if dialect == "postgresql"
        else "date(day, 'start of month')"
    )
    sums = ", ".join(f"sum({name})" for name in COUNTERS)
    return f"""
        INSERT INTO hazard_monthly (unit_path, month, level, {", ".join(COUNTERS)})
        SELECT unit_path, {month}, level, {sums}
        FROM hazard_daily
        GROUP BY 1, 2, 3
        ORDER BY 1, 2, 3
    """


def upgrade() -> None:
    op.create_table(
        "hazard_monthly",
        sa.Column("unit_path", sa.String(length=255), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column(
            "level",
            sa.Enum(
                "general",
                "major",
                name="hazard_level",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in COUNTERS[:6]),
        sa.Column("close_seconds", sa.Float(), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in HOUR_BUCKETS),
        sa.PrimaryKeyConstraint("unit_path", "month", "level", name=op.f("pk_hazard_monthly")),
    )
    with op.batch_alter_table("hazard_monthly", schema=None) as batch_op:
        batch_op.create_index(
            "ix_hazard_monthly_unit_path_month",
            ["unit_path", "month"],
            unique=False,
            postgresql_ops={"unit_path": "text_pattern_ops"},
        )
    op.execute(_backfill_sql(op.get_bind().dialect.name))


def downgrade() -> None:
    op.drop_table("hazard_monthly")
