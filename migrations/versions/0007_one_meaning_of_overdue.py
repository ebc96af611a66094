"""one meaning of overdue

Overdue is computed where it is read (service/hazards/deadlines.py: `rectifying` and past
its current deadline), so the stored flag `hazards.overdue`, which the sweep set and which
said something else, is dropped. The sweep keeps its own progress in `escalation_level`
(≥ 1 once it marked a hazard overdue); the downgrade restores the flag from it.

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


def upgrade() -> None:
    # A plain DROP COLUMN (SQLite ≥ 3.35 too): the column is in no index or constraint.
    op.drop_column("hazards", "overdue")


def downgrade() -> None:
    # The flag as the sweep kept it: set when it marked the hazard (escalation level 1),
    # cleared with the level by a reopen or an approved extension.
    op.add_column(
        "hazards",
        sa.Column("overdue", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.execute("UPDATE hazards SET overdue = (escalation_level >= 1)")
