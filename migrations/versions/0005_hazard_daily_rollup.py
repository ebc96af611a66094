"""hazard daily rollup

`hazard_daily` (隐患日汇总): the statistics' counters per unit (region path cut to street
level), China day of report and level, kept by the workflow in the same transaction
(service/rollup.py) and filled here from the hazards already stored, grouped in SQL.
Also a partial index of the open hazards, for "overdue now" next to the rollup.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of service.models.HOUR_EDGES and the open statuses at this revision.
HOUR_EDGES = (4, 8, 12, 24, 48, 72, 96, 120, 168, 240, 360, 480, 720, 1080, 1440, 2160, 4320, 8760)
HOUR_BUCKETS = (*(f"h_le_{e}" for e in HOUR_EDGES), f"h_gt_{HOUR_EDGES[-1]}")
OPEN_STATUS_SQL = "status IN ('reported', 'rectifying', 'verifying')"
UNIT_LENGTH = 40  # "/city/district/street/"
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
    if dialect == "postgresql":
        day = "(created_at AT TIME ZONE 'Asia/Shanghai')::date"
        seconds = "date_part('epoch', closed_at - created_at)"
    else:
        day = "date(created_at, '+8 hours')"
        seconds = "CAST(round((julianday(closed_at) - julianday(created_at)) * 86400.0, 3) AS REAL)"
    timed = "status = 'closed' AND closed_at IS NOT NULL"
    hours = f"({seconds} / 3600.0)"
    buckets = []
    for i in range(len(HOUR_BUCKETS)):
        condition = timed
        if i > 0:
            condition += f" AND {hours} > {HOUR_EDGES[i - 1]}"
        if i < len(HOUR_EDGES):
            condition += f" AND {hours} <= {HOUR_EDGES[i]}"
        buckets.append(f"sum(CASE WHEN {condition} THEN 1 ELSE 0 END)")
    return f"""
        INSERT INTO hazard_daily (unit_path, day, level, {", ".join(COUNTERS)})
        SELECT substr(region_path, 1, {UNIT_LENGTH}), {day}, level,
            count(*),
            sum(CASE WHEN status = 'rejected' THEN 1 ELSE 0 END),
            sum(CASE WHEN status = 'closed' THEN 1 ELSE 0 END),
            sum(CASE WHEN {OPEN_STATUS_SQL} THEN 1 ELSE 0 END),
            sum(CASE WHEN {timed} AND closed_at <= original_deadline THEN 1 ELSE 0 END),
            coalesce(sum(reopen_count), 0),
            coalesce(sum(CASE WHEN {timed} THEN {seconds} ELSE 0.0 END), 0.0),
            {", ".join(buckets)}
        FROM hazards
        GROUP BY 1, 2, 3
        ORDER BY 1, 2, 3
    """


def upgrade() -> None:
    op.create_table(
        "hazard_daily",
        sa.Column("unit_path", sa.String(length=255), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
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
        sa.PrimaryKeyConstraint("unit_path", "day", "level", name=op.f("pk_hazard_daily")),
    )
    with op.batch_alter_table("hazard_daily", schema=None) as batch_op:
        batch_op.create_index(
            "ix_hazard_daily_unit_path_day",
            ["unit_path", "day"],
            unique=False,
            postgresql_ops={"unit_path": "text_pattern_ops"},
        )
    # In key order: a region's rows start out close together.
    op.execute(_backfill_sql(op.get_bind().dialect.name))
    with op.batch_alter_table("hazards", schema=None) as batch_op:
        batch_op.create_index(
            "ix_hazards_open_region_path_created",
            ["region_path", "created_at"],
            unique=False,
            postgresql_ops={"region_path": "text_pattern_ops"},
            postgresql_include=["deadline", "level", "grid_id"],
            postgresql_where=sa.text(OPEN_STATUS_SQL),
            sqlite_where=sa.text(OPEN_STATUS_SQL),
        )


def downgrade() -> None:
    with op.batch_alter_table("hazards", schema=None) as batch_op:
        batch_op.drop_index("ix_hazards_open_region_path_created")
    op.drop_table("hazard_daily")
