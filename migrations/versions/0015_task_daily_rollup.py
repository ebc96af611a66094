"""task daily rollup; inspection tasks checked against their attachment only

`task_daily` (排查任务日汇总): per unit (the task's region path cut to street level) and
China day its window ends, the tasks and how many were done within the window and at all,
kept by the task writes in the same transaction (service/inspections/rollup.py) and filled
here from the tasks already stored, grouped in SQL.

Generating tasks paid seven foreign-key checks a row. A task's point and checklist are its
attachment's: one composite key to point_checklists (id, point_id, checklist_id), a new
unique index there, now checks
all three and that they agree; the enterprise, grid and assignee are copied from rows that
are never deleted (the attachment keeps its own keys to them), so they lose theirs.
Downgrade restores the seven keys and drops the rollup.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNIT_LENGTH = 40  # "/city/district/street/", frozen at this revision

# The single-column keys the composite one and the copies replace: (name, column, target).
DROPPED = (
    ("fk_inspection_tasks_attachment_id_point_checklists", "attachment_id", "point_checklists"),
    ("fk_inspection_tasks_point_id_points", "point_id", "points"),
    ("fk_inspection_tasks_checklist_id_checklists", "checklist_id", "checklists"),
    ("fk_inspection_tasks_enterprise_id_enterprises", "enterprise_id", "enterprises"),
    ("fk_inspection_tasks_grid_id_grids", "grid_id", "grids"),
    ("fk_inspection_tasks_assignee_user_id_users", "assignee_user_id", "users"),
)
COMPOSITE = "fk_inspection_tasks_attachment"
ATTACHMENT_KEY = "ix_point_checklists_id_point_checklist"


def _backfill_sql(dialect: str) -> str:
    if dialect == "postgresql":
        day = "(window_end AT TIME ZONE 'Asia/Shanghai')::date"
    else:
        day = "date(window_end, '+8 hours')"
    done = "status = 'done'"
    return f"""
        INSERT INTO task_daily (unit_path, day, tasks, done_in_window, done)
        SELECT substr(region_path, 1, {UNIT_LENGTH}), {day}, count(*),
            sum(CASE WHEN {done} AND done_at < window_end THEN 1 ELSE 0 END),
            sum(CASE WHEN {done} THEN 1 ELSE 0 END)
        FROM inspection_tasks
        GROUP BY substr(region_path, 1, {UNIT_LENGTH}), {day}
    """


def upgrade() -> None:
    op.create_table(
        "task_daily",
        sa.Column("unit_path", sa.String(length=255), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("tasks", sa.Integer(), nullable=False),
        sa.Column("done_in_window", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("unit_path", "day", name=op.f("pk_task_daily")),
    )
    op.create_index(
        "ix_task_daily_unit_path_day",
        "task_daily",
        ["unit_path", "day"],
        postgresql_ops={"unit_path": "text_pattern_ops"},
    )
    bind = op.get_bind()
    bind.exec_driver_sql(_backfill_sql(bind.dialect.name))

    op.create_index(
        ATTACHMENT_KEY, "point_checklists", ["id", "point_id", "checklist_id"], unique=True
    )
    _defer_foreign_keys()
    with op.batch_alter_table("inspection_tasks") as batch:
        for name, _, _ in DROPPED:
            batch.drop_constraint(name, type_="foreignkey")
        batch.create_foreign_key(
            COMPOSITE,
            "point_checklists",
            ["attachment_id", "point_id", "checklist_id"],
            ["id", "point_id", "checklist_id"],
        )


def _defer_foreign_keys() -> None:
    # SQLite changes a table's keys by copying it and dropping the old one, which task_results
    # rows refer to: their check waits for the commit, when the copy has the old one's name.
    if op.get_bind().dialect.name == "sqlite":
        op.execute("PRAGMA defer_foreign_keys = ON")


def downgrade() -> None:
    _defer_foreign_keys()
    with op.batch_alter_table("inspection_tasks") as batch:
        batch.drop_constraint(COMPOSITE, type_="foreignkey")
        for name, column, target in DROPPED:
            batch.create_foreign_key(name, target, [column], ["id"])
    op.drop_index(ATTACHMENT_KEY, table_name="point_checklists")
    op.drop_index("ix_task_daily_unit_path_day", table_name="task_daily")
    op.drop_table("task_daily")
