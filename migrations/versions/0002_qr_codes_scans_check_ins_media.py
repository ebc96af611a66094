"""qr codes, scans, check-ins, media

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "points",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["enterprise_id"], ["enterprises.id"], name=op.f("fk_points_enterprise_id_enterprises")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_points")),
        sa.UniqueConstraint("enterprise_id", "name", name=op.f("uq_points_enterprise_id")),
    )
    with op.batch_alter_table("points", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_points_enterprise_id"), ["enterprise_id"], unique=False
        )

    op.create_table(
        "media",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "photo", name="media_kind", native_enum=False, create_constraint=True, length=32
            ),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "attached",
                name="media_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("uploader_id", sa.Integer(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("thumb_key", sa.String(length=200), nullable=False),
        sa.Column("content_type", sa.String(length=64), nullable=False),
        sa.Column("source_type", sa.String(length=64), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("thumb_width", sa.Integer(), nullable=False),
        sa.Column("thumb_height", sa.Integer(), nullable=False),
        sa.Column("captured_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("gps_lat", sa.Float(), nullable=True),
        sa.Column("gps_lng", sa.Float(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attached_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["uploader_id"], ["users.id"], name=op.f("fk_media_uploader_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_media")),
    )
    with op.batch_alter_table("media", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_media_sha256"), ["sha256"], unique=False)
        batch_op.create_index("ix_media_status_created", ["status", "created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_media_uploader_id"), ["uploader_id"], unique=False)

    op.create_table(
        "qr_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("point_id", sa.Integer(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "active",
                "revoked",
                name="qr_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by_id", sa.Integer(), nullable=True),
        sa.Column("replaced_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_qr_codes_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_qr_codes_enterprise_id_enterprises"),
        ),
        sa.ForeignKeyConstraint(
            ["point_id"], ["points.id"], name=op.f("fk_qr_codes_point_id_points")
        ),
        sa.ForeignKeyConstraint(
            ["replaced_by_id"], ["qr_codes.id"], name=op.f("fk_qr_codes_replaced_by_id_qr_codes")
        ),
        sa.ForeignKeyConstraint(
            ["revoked_by_id"], ["users.id"], name=op.f("fk_qr_codes_revoked_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_qr_codes")),
        sa.UniqueConstraint("token", name=op.f("uq_qr_codes_token")),
    )
    with op.batch_alter_table("qr_codes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_qr_codes_enterprise_id"), ["enterprise_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_qr_codes_point_id"), ["point_id"], unique=False)

    op.create_table(
        "checkins",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("qrcode_id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("grid_id", sa.Integer(), nullable=False),
        sa.Column("region_path", sa.String(length=255), nullable=False),
        sa.Column("inspector_id", sa.Integer(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lng", sa.Float(), nullable=False),
        sa.Column("accuracy_m", sa.Float(), nullable=True),
        sa.Column("distance_m", sa.Float(), nullable=True),
        sa.Column("flagged", sa.Boolean(), nullable=False),
        sa.Column(
            "flag_reason",
            sa.Enum(
                "too_far",
                "poor_accuracy",
                "no_enterprise_location",
                name="checkin_flag",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_checkins_enterprise_id_enterprises"),
        ),
        sa.ForeignKeyConstraint(["grid_id"], ["grids.id"], name=op.f("fk_checkins_grid_id_grids")),
        sa.ForeignKeyConstraint(
            ["inspector_id"], ["users.id"], name=op.f("fk_checkins_inspector_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["qrcode_id"], ["qr_codes.id"], name=op.f("fk_checkins_qrcode_id_qr_codes")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checkins")),
    )
    with op.batch_alter_table("checkins", schema=None) as batch_op:
        batch_op.create_index(
            "ix_checkins_enterprise_created", ["enterprise_id", "created_at"], unique=False
        )
        batch_op.create_index("ix_checkins_grid_created", ["grid_id", "created_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_checkins_inspector_id"), ["inspector_id"], unique=False
        )
        batch_op.create_index(
            "ix_checkins_region_path",
            ["region_path"],
            unique=False,
            postgresql_ops={"region_path": "text_pattern_ops"},
        )

    op.create_table(
        "scan_logs",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("qrcode_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("ip", sa.String(length=64), nullable=False),
        sa.Column("user_agent", sa.String(length=300), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["qrcode_id"], ["qr_codes.id"], name=op.f("fk_scan_logs_qrcode_id_qr_codes")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_scan_logs_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scan_logs")),
    )
    with op.batch_alter_table("scan_logs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_scan_logs_qrcode_created", ["qrcode_id", "created_at"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("scan_logs", schema=None) as batch_op:
        batch_op.drop_index("ix_scan_logs_qrcode_created")

    op.drop_table("scan_logs")
    with op.batch_alter_table("checkins", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_checkins_region_path", postgresql_ops={"region_path": "text_pattern_ops"}
        )
        batch_op.drop_index(batch_op.f("ix_checkins_inspector_id"))
        batch_op.drop_index("ix_checkins_grid_created")
        batch_op.drop_index("ix_checkins_enterprise_created")

    op.drop_table("checkins")
    with op.batch_alter_table("qr_codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_qr_codes_point_id"))
        batch_op.drop_index(batch_op.f("ix_qr_codes_enterprise_id"))

    op.drop_table("qr_codes")
    with op.batch_alter_table("media", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_media_uploader_id"))
        batch_op.drop_index("ix_media_status_created")
        batch_op.drop_index(batch_op.f("ix_media_sha256"))

    op.drop_table("media")
    with op.batch_alter_table("points", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_points_enterprise_id"))

    op.drop_table("points")
