"""rate limit slots: rate limits and the login lockout counted in the database

Every worker and box on the database counts the same hits (issue 15, classes 3 and 4):
one row per counted hit, kept while its window lasts. Downgrade drops the table and what
it counted (the limits start afresh).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rate_limit_slots",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
        ),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("taken_at", sa.Double(), nullable=False),
        sa.Column("expires_at", sa.Double(), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rate_limit_slots")),
    )
    with op.batch_alter_table("rate_limit_slots") as batch:
        batch.create_index(batch.f("ix_rate_limit_slots_expires_at"), ["expires_at"], unique=False)
        batch.create_index("ix_rate_limit_slots_key_taken_at", ["key", "taken_at"], unique=False)


def downgrade() -> None:
    op.drop_table("rate_limit_slots")
