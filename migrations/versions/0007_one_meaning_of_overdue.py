"""one meaning of overdue; on time by the accepted fix's submission

- Overdue is computed where it is read (service/hazards/deadlines.py: `rectifying` and past
  its current deadline), so the stored flag `hazards.overdue`, which the sweep set and which
  said something else, is dropped. The sweep keeps its own progress in `escalation_level`
  (≥ 1 once it marked a hazard overdue); the downgrade restores the flag from it.
- 按期 (`closed_on_time`) counts a closed hazard whose accepted fix was submitted
  (`fix_submitted_at`) by the original deadline, no longer one closed (verified) by it: both
  rollup tables are refilled from the hazards with the new rule (the downgrade refills them
  with the old one). Like 0005/0006, deploy this once no process runs the older code, or run
  `flask stats rebuild-rollup` after the last old process is gone.
- A fix waiting for verification longer than VERIFY_WITHIN_HOURS is escalated by the sweep
  with a new notification kind, `verify_late`: `notifications.kind`'s CHECK takes it (the
  downgrade deletes such messages first).
- The statistics' covering indexes take the columns the new figures read
  (`fix_submitted_at`; the open hazards' index also `status`), PostgreSQL only: SQLite
  ignores INCLUDE.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies at this revision (see 0005/0006).
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
TIMED = "status = 'closed' AND closed_at IS NOT NULL"
ON_TIME_BY_SUBMISSION = "status = 'closed' AND fix_submitted_at <= original_deadline"
ON_TIME_BY_CLOSE = f"{TIMED} AND closed_at <= original_deadline"  # before this revision

STATS_INCLUDE = {
    "old": [
        "status",
        "level",
        "deadline",
        "original_deadline",
        "closed_at",
        "reopen_count",
        "grid_id",
        "enterprise_id",
        "id",
    ],
    "new": [
        "status",
        "level",
        "deadline",
        "original_deadline",
        "fix_submitted_at",
        "closed_at",
        "reopen_count",
        "grid_id",
        "enterprise_id",
        "id",
    ],
}
KINDS = {
    "old": ("assigned", "fix_submitted", "verified", "due_soon", "overdue"),
    "new": ("assigned", "fix_submitted", "verified", "due_soon", "overdue", "verify_late"),
}
OPEN_INCLUDE = {
    "old": ["deadline", "level", "grid_id"],
    "new": ["status", "deadline", "fix_submitted_at", "level", "grid_id"],
}


def _refill_sql(dialect: str, on_time: str) -> list[str]:
    """Empty both rollup tables and count them again from the hazards (0005's and 0006's
    backfills, with `on_time` deciding closed_on_time)."""
    if dialect == "postgresql":
        day = "(created_at AT TIME ZONE 'Asia/Shanghai')::date"
        seconds = "date_part('epoch', closed_at - created_at)"
        month = "date_trunc('month', day)::date"
    else:
        day = "date(created_at, '+8 hours')"
        seconds = "CAST(round((julianday(closed_at) - julianday(created_at)) * 86400.0, 3) AS REAL)"
        month = "date(day, 'start of month')"
    hours = f"({seconds} / 3600.0)"
    buckets = []
    for i in range(len(HOUR_BUCKETS)):
        condition = TIMED
        if i > 0:
            condition += f" AND {hours} > {HOUR_EDGES[i - 1]}"
        if i < len(HOUR_EDGES):
            condition += f" AND {hours} <= {HOUR_EDGES[i]}"
        buckets.append(f"sum(CASE WHEN {condition} THEN 1 ELSE 0 END)")
    columns = ", ".join(COUNTERS)
    return [
        "DELETE FROM hazard_monthly",
        "DELETE FROM hazard_daily",
        f"""
        INSERT INTO hazard_daily (unit_path, day, level, {columns})
        SELECT substr(region_path, 1, {UNIT_LENGTH}), {day}, level,
            count(*),
            sum(CASE WHEN status = 'rejected' THEN 1 ELSE 0 END),
            sum(CASE WHEN status = 'closed' THEN 1 ELSE 0 END),
            sum(CASE WHEN {OPEN_STATUS_SQL} THEN 1 ELSE 0 END),
            sum(CASE WHEN {on_time} THEN 1 ELSE 0 END),
            coalesce(sum(reopen_count), 0),
            coalesce(sum(CASE WHEN {TIMED} THEN {seconds} ELSE 0.0 END), 0.0),
            {", ".join(buckets)}
        FROM hazards
        GROUP BY 1, 2, 3
        ORDER BY 1, 2, 3
        """,
        f"""
        INSERT INTO hazard_monthly (unit_path, month, level, {columns})
        SELECT unit_path, {month}, level, {", ".join(f"sum({name})" for name in COUNTERS)}
        FROM hazard_daily
        GROUP BY 1, 2, 3
        ORDER BY 1, 2, 3
        """,
    ]


def _indexes(version: str) -> None:
    """Rebuild the two statistics indexes with the INCLUDE columns of `version`."""
    op.drop_index("ix_hazards_region_path_created", table_name="hazards")
    op.create_index(
        "ix_hazards_region_path_created",
        "hazards",
        ["region_path", "created_at"],
        unique=False,
        postgresql_ops={"region_path": "text_pattern_ops"},
        postgresql_include=STATS_INCLUDE[version],
    )
    op.drop_index("ix_hazards_open_region_path_created", table_name="hazards")
    op.create_index(
        "ix_hazards_open_region_path_created",
        "hazards",
        ["region_path", "created_at"],
        unique=False,
        postgresql_ops={"region_path": "text_pattern_ops"},
        postgresql_include=OPEN_INCLUDE[version],
        postgresql_where=sa.text(OPEN_STATUS_SQL),
    )


def _kinds(version: str) -> None:
    """`notifications.kind` takes the kinds of `version` (SQLite: the table is copied)."""
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_notifications_notification_kind"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_notifications_notification_kind"), sa.column("kind").in_(KINDS[version])
        )


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    # A plain DROP COLUMN (SQLite ≥ 3.35 too): the column is in no index or constraint.
    op.drop_column("hazards", "overdue")
    _kinds("new")
    if dialect == "postgresql":
        _indexes("new")
    for statement in _refill_sql(dialect, ON_TIME_BY_SUBMISSION):
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in _refill_sql(dialect, ON_TIME_BY_CLOSE):
        op.execute(statement)
    if dialect == "postgresql":
        _indexes("old")
    # The flag as the sweep kept it: set when it marked the hazard (escalation level 1),
    # cleared with the level by a reopen or an approved extension.
    op.add_column(
        "hazards",
        sa.Column("overdue", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.execute("UPDATE hazards SET overdue = (escalation_level >= 1)")
    op.execute("DELETE FROM notifications WHERE kind = 'verify_late'")
    _kinds("old")
