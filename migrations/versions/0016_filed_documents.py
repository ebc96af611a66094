"""documents: each region's 通报 filed per period; notification kind document_filed

A filed document is kept (its PDF and DOCX in object storage), one per region, kind and
period. The supervisors of the region are told through the outbox, so `notifications.kind`'s
CHECK takes `document_filed` (SQLite: the table is copied). Downgrade drops the table (the
files stay in object storage under documents/) and the messages of the new kind.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
# The revision this one follows: change here alone when another is merged before it.
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_KINDS = ("assigned", "fix_submitted", "verified", "due_soon", "overdue", "verify_late")
NEW_KINDS = (*OLD_KINDS, "document_filed")
DOCUMENT_KINDS = ("monthly", "weekly", "quarterly")


def _kinds(kinds: tuple[str, ...]) -> None:
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_notifications_notification_kind"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_notifications_notification_kind"), sa.column("kind").in_(kinds)
        )


def upgrade() -> None:
    op.create_table(
        "documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("region_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                *DOCUMENT_KINDS,
                name="document_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("region_path", sa.String(length=255), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("pdf_key", sa.String(length=255), nullable=False),
        sa.Column("pdf_size", sa.Integer(), nullable=False),
        sa.Column("docx_key", sa.String(length=255), nullable=False),
        sa.Column("docx_size", sa.Integer(), nullable=False),
        sa.Column("made_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["region_id"], ["regions.id"], name=op.f("fk_documents_region_id_regions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_documents")),
        sa.UniqueConstraint("region_id", "kind", "period", name=op.f("uq_documents_region_id")),
    )
    op.create_index(
        "ix_documents_region_path_made_at",
        "documents",
        ["region_path", "made_at"],
        unique=False,
        postgresql_ops={"region_path": "text_pattern_ops"},
    )
    _kinds(NEW_KINDS)


def downgrade() -> None:
    op.execute("DELETE FROM notifications WHERE kind = 'document_filed'")
    _kinds(OLD_KINDS)
    op.drop_index("ix_documents_region_path_made_at", table_name="documents")
    op.drop_table("documents")
