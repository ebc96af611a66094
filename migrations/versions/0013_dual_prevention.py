"""dual prevention: risk points, assessments, checklists, inspection tasks (issue 19)

双重预防: the existing points become risk points (kind, place, responsible, 管控层级,
control measures, the current level); assessments keep every grading with its method and
inputs; checklists with items, attached to points with a frequency and an assignee;
inspection tasks per window (unique per point × checklist × window × assignee) and their
per-item results, a 不合格 item linking the hazard it became; enterprises may name their
shift starts for checks done 每班 (shift_schedules). New point columns get their CHECK constraints on
PostgreSQL (SQLite cannot add a constraint to an existing table; the app validates the
values either way). Downgrade drops the new tables and columns.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=32)


RISK = ("red", "orange", "yellow", "blue")
ROLES = ("reporter", "enterprise_officer", "inspector", "supervisor", "admin")
FREQUENCIES = ("shift", "day", "week", "month", "quarter", "year")
INDUSTRIES = (
    "hazardous_chemicals",
    "industry_trade",
    "dust_explosion",
    "confined_space",
    "construction",
    "fire_key_unit",
    "other",
)
FLAGS = ("too_far", "poor_accuracy", "no_enterprise_location")
POINT_CHECKS = {
    "point_kind": "kind IN ('equipment', 'activity', 'area')",
    "control_level": "control_level IN ('company', 'workshop', 'team', 'post')",
    "point_risk_level": "risk_level IN ('red', 'orange', 'yellow', 'blue')",
}


def upgrade() -> None:
    op.create_table(
        "shift_schedules",
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("starts", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_shift_schedules_enterprise_id_enterprises"),
        ),
        sa.PrimaryKeyConstraint("enterprise_id", name=op.f("pk_shift_schedules")),
    )
    with op.batch_alter_table("points") as batch:
        batch.add_column(
            sa.Column("kind", sa.String(length=32), server_default="area", nullable=False)
        )
        batch.add_column(
            sa.Column("location", sa.String(length=200), server_default="", nullable=False)
        )
        batch.add_column(sa.Column("lat", sa.Float(), nullable=True))
        batch.add_column(sa.Column("lng", sa.Float(), nullable=True))
        batch.add_column(
            sa.Column("department", sa.String(length=100), server_default="", nullable=False)
        )
        batch.add_column(
            sa.Column(
                "responsible_person", sa.String(length=100), server_default="", nullable=False
            )
        )
        batch.add_column(sa.Column("control_level", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("measures", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("risk_level", sa.String(length=32), nullable=True))
        batch.add_column(
            sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False)
        )
    if op.get_bind().dialect.name == "postgresql":
        for name, condition in POINT_CHECKS.items():
            op.create_check_constraint(f"ck_points_{name}", "points", condition)

    op.create_table(
        "risk_assessments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("point_id", sa.Integer(), nullable=False),
        sa.Column("method", _enum("assessment_method", "lec", "ls", "direct"), nullable=False),
        sa.Column("inputs", sa.JSON(), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("level", _enum("assessment_level", *RISK), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("assessed_by_id", sa.Integer(), nullable=True),
        sa.Column("assessor_name", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["assessed_by_id"], ["users.id"], name=op.f("fk_risk_assessments_assessed_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["point_id"], ["points.id"], name=op.f("fk_risk_assessments_point_id_points")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_assessments")),
    )
    op.create_index(
        "ix_risk_assessments_point_seq", "risk_assessments", ["point_id", "seq"], unique=True
    )

    op.create_table(
        "checklists",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=True),
        sa.Column("region_id", sa.Integer(), nullable=True),
        sa.Column("region_path", sa.String(length=255), nullable=False),
        sa.Column("industry", _enum("checklist_industry", *INDUSTRIES), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_checklists_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_checklists_enterprise_id_enterprises"),
        ),
        sa.ForeignKeyConstraint(
            ["region_id"], ["regions.id"], name=op.f("fk_checklists_region_id_regions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checklists")),
    )
    op.create_index(op.f("ix_checklists_enterprise_id"), "checklists", ["enterprise_id"])

    op.create_table(
        "checklist_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("checklist_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("basis", sa.Text(), nullable=False),
        sa.Column("method", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["checklist_id"],
            ["checklists.id"],
            name=op.f("fk_checklist_items_checklist_id_checklists"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checklist_items")),
    )
    op.create_index(op.f("ix_checklist_items_checklist_id"), "checklist_items", ["checklist_id"])

    op.create_table(
        "point_checklists",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("point_id", sa.Integer(), nullable=False),
        sa.Column("checklist_id", sa.Integer(), nullable=False),
        sa.Column("frequency", _enum("frequency", *FREQUENCIES), nullable=False),
        sa.Column("assignee_role", _enum("assignee_role", *ROLES), nullable=True),
        sa.Column("assignee_user_id", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["assignee_user_id"],
            ["users.id"],
            name=op.f("fk_point_checklists_assignee_user_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["checklist_id"],
            ["checklists.id"],
            name=op.f("fk_point_checklists_checklist_id_checklists"),
        ),
        sa.ForeignKeyConstraint(
            ["point_id"], ["points.id"], name=op.f("fk_point_checklists_point_id_points")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_point_checklists")),
        sa.UniqueConstraint("point_id", "checklist_id", name=op.f("uq_point_checklists_point_id")),
    )
    op.create_index(op.f("ix_point_checklists_checklist_id"), "point_checklists", ["checklist_id"])

    op.create_table(
        "inspection_tasks",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("attachment_id", sa.Integer(), nullable=False),
        sa.Column("point_id", sa.Integer(), nullable=False),
        sa.Column("checklist_id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("grid_id", sa.Integer(), nullable=False),
        sa.Column("region_path", sa.String(length=255), nullable=False),
        sa.Column("frequency", _enum("task_frequency", *FREQUENCIES), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("window_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("assignee_key", sa.String(length=40), nullable=False),
        sa.Column("assignee_role", _enum("task_assignee_role", *ROLES), nullable=True),
        sa.Column("assignee_user_id", sa.Integer(), nullable=True),
        sa.Column("status", _enum("task_status", "pending", "done"), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done_by_id", sa.Integer(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lng", sa.Float(), nullable=True),
        sa.Column("accuracy_m", sa.Float(), nullable=True),
        sa.Column("distance_m", sa.Float(), nullable=True),
        sa.Column("flagged", sa.Boolean(), nullable=False),
        sa.Column("flag_reason", _enum("task_flag", *FLAGS), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["assignee_user_id"],
            ["users.id"],
            name=op.f("fk_inspection_tasks_assignee_user_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["attachment_id"],
            ["point_checklists.id"],
            name=op.f("fk_inspection_tasks_attachment_id_point_checklists"),
        ),
        sa.ForeignKeyConstraint(
            ["checklist_id"],
            ["checklists.id"],
            name=op.f("fk_inspection_tasks_checklist_id_checklists"),
        ),
        sa.ForeignKeyConstraint(
            ["done_by_id"], ["users.id"], name=op.f("fk_inspection_tasks_done_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_inspection_tasks_enterprise_id_enterprises"),
        ),
        sa.ForeignKeyConstraint(
            ["grid_id"], ["grids.id"], name=op.f("fk_inspection_tasks_grid_id_grids")
        ),
        sa.ForeignKeyConstraint(
            ["point_id"], ["points.id"], name=op.f("fk_inspection_tasks_point_id_points")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inspection_tasks")),
        sa.UniqueConstraint(
            "point_id",
            "checklist_id",
            "window_start",
            "assignee_key",
            name="uq_inspection_tasks_window",
        ),
    )
    op.create_index(
        "ix_inspection_tasks_region_path_window",
        "inspection_tasks",
        ["region_path", "window_end"],
        postgresql_ops={"region_path": "text_pattern_ops"},
        postgresql_include=["window_start", "status", "done_at", "enterprise_id", "grid_id"],
    )
    op.create_index(
        "ix_inspection_tasks_point_window", "inspection_tasks", ["point_id", "window_end"]
    )

    op.create_table(
        "task_results",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("task_id", BIG_ID, nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column(
            "outcome", _enum("item_outcome", "pass", "fail", "not_applicable"), nullable=False
        ),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("media_ids", sa.JSON(), nullable=False),
        sa.Column("hazard_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["hazard_id"], ["hazards.id"], name=op.f("fk_task_results_hazard_id_hazards")
        ),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["checklist_items.id"],
            name=op.f("fk_task_results_item_id_checklist_items"),
        ),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["inspection_tasks.id"],
            name=op.f("fk_task_results_task_id_inspection_tasks"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task_results")),
        sa.UniqueConstraint("hazard_id", name=op.f("uq_task_results_hazard_id")),
        sa.UniqueConstraint("task_id", "item_id", name=op.f("uq_task_results_task_id")),
    )


def downgrade() -> None:
    op.drop_table("task_results")
    op.drop_table("inspection_tasks")
    op.drop_table("point_checklists")
    op.drop_table("checklist_items")
    op.drop_table("checklists")
    op.drop_table("risk_assessments")
    if op.get_bind().dialect.name == "postgresql":
        for name in POINT_CHECKS:
            op.drop_constraint(f"ck_points_{name}", "points", type_="check")
    # Plain DROP COLUMN (SQLite 3.35+): a batch copy would drop tables that rows refer to.
    for column in (
        "active",
        "risk_level",
        "measures",
        "control_level",
        "responsible_person",
        "department",
        "lng",
        "lat",
        "location",
        "kind",
    ):
        op.drop_column("points", column)
    op.drop_table("shift_schedules")
