"""statistics indexes

A covering index for the supervisor statistics: a region subtree (prefix of
region_path) and a period (created_at) with every column the aggregates read, so
summary, ranking and trend are index-only scans on PostgreSQL. It replaces the
plain region_path index, whose every use it serves. SQLite ignores INCLUDE and the
operator class and gets (region_path, created_at).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATS_INCLUDE = [
    "status",
    "level",
    "deadline",
    "original_deadline",
    "closed_at",
    "reopen_count",
    "grid_id",
    "enterprise_id",
    "id",
]


def upgrade() -> None:
    with op.batch_alter_table("hazards", schema=None) as batch_op:
        batch_op.create_index(
            "ix_hazards_region_path_created",
            ["region_path", "created_at"],
            unique=False,
            postgresql_ops={"region_path": "text_pattern_ops"},
            postgresql_include=STATS_INCLUDE,
        )
        batch_op.drop_index(
            "ix_hazards_region_path", postgresql_ops={"region_path": "text_pattern_ops"}
        )


def downgrade() -> None:
    with op.batch_alter_table("hazards", schema=None) as batch_op:
        batch_op.create_index(
            "ix_hazards_region_path",
            ["region_path"],
            unique=False,
            postgresql_ops={"region_path": "text_pattern_ops"},
        )
        batch_op.drop_index(
            "ix_hazards_region_path_created",
            postgresql_ops={"region_path": "text_pattern_ops"},
            postgresql_include=STATS_INCLUDE,
        )
