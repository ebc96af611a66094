"""anonymous scan uploads: photos sent from a scanned code without an account

`POST /scan/{token}/media` stores a photo with no uploader, bound to the code it was sent
from (`media.qrcode_id`) and to the scan session's upload token (`media.upload_session`,
a SHA-256 of the token; the token itself is never stored). Only an anonymous report from
that code presenting that token may attach it. Downgrade deletes the photos that were
never attached (they belong to nobody the old schema can name) and drops the columns.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("media") as batch:
        batch.add_column(sa.Column("qrcode_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("upload_session", sa.String(length=64), nullable=True))
        batch.create_foreign_key("fk_media_qrcode_id_qr_codes", "qr_codes", ["qrcode_id"], ["id"])
        batch.create_index("ix_media_upload_session", ["upload_session"], unique=False)


def downgrade() -> None:
    op.execute(
        "DELETE FROM media WHERE upload_session IS NOT NULL AND status = 'pending'"
    )
    with op.batch_alter_table("media") as batch:
        batch.drop_index("ix_media_upload_session")
        batch.drop_constraint("fk_media_qrcode_id_qr_codes", type_="foreignkey")
        batch.drop_column("upload_session")
        batch.drop_column("qrcode_id")
