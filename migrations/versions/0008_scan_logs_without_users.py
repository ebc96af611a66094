"""scan logs without users: a public scan no longer records who scanned

A signed-in scan just before an anonymous report would name its author (举报人信息保护),
so `scan_logs.user_id` is dropped, with what it held. Downgrade brings the column back
empty.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("scan_logs") as batch:
        batch.drop_constraint("fk_scan_logs_user_id_users", type_="foreignkey")
        batch.drop_column("user_id")


def downgrade() -> None:
    with op.batch_alter_table("scan_logs") as batch:
        batch.add_column(sa.Column("user_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_scan_logs_user_id_users", "users", ["user_id"], ["id"])
