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
The unique key of a task now starts with its window (on PostgreSQL), and a point's tasks are
indexed in two partial indexes, pending by window end and done by when, instead of one over
its whole history: a week's generation then adds keys at the end of the unique index and
among the pending tasks only, instead of reading a page per point of both indexes.
Downgrade restores the seven keys, the unique key's order and the one index, and drops the
rollup.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04
"""

import re
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
UNIQUE = "uq_inspection_tasks_window"
POINT_FIRST = ["point_id", "checklist_id", "window_start", "assignee_key"]
WINDOW_FIRST = ["window_start", "point_id", "checklist_id", "assignee_key"]
# A point's pending tasks by window end, its done ones by when: (name, column, status).
POINT_INDEXES = (
    ("ix_inspection_tasks_point_pending", "window_end", "pending"),
    ("ix_inspection_tasks_point_done", "done_at", "done"),
)
COMPOSITE_SQL = (
    f"CONSTRAINT {COMPOSITE} FOREIGN KEY(attachment_id, point_id, checklist_id)"
    " REFERENCES point_checklists (id, point_id, checklist_id)"
)
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
    _point_indexes()
    if bind.dialect.name == "sqlite":
        _sqlite_keys([name for name, _, _ in DROPPED], [COMPOSITE_SQL])
        return
    # Window first (SQLite keeps the order it was built with: its unique constraint is part
    # of the table's storage, and its generation is small).
    op.drop_constraint(UNIQUE, "inspection_tasks", type_="unique")
    op.create_unique_constraint(UNIQUE, "inspection_tasks", WINDOW_FIRST)
    with op.batch_alter_table("inspection_tasks") as batch:
        for name, _, _ in DROPPED:
            batch.drop_constraint(name, type_="foreignkey")
        batch.create_foreign_key(
            COMPOSITE,
            "point_checklists",
            ["attachment_id", "point_id", "checklist_id"],
            ["id", "point_id", "checklist_id"],
        )


def _sqlite_keys(drop: list[str], add: list[str]) -> None:
    """Change inspection_tasks' foreign keys on SQLite in its stored CREATE TABLE.

    A batch copy would drop the table task_results rows refer to, which fails with keys
    enforced (and they cannot be switched off inside the migration's transaction). Keys do
    not change how rows are stored, so SQLite allows editing the schema text instead
    (sqlite.org/lang_altertable.html, "other kinds of table schema changes"); the rows are
    checked against the new keys afterwards."""
    bind = op.get_bind()
    table = "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'inspection_tasks'"
    sql = bind.exec_driver_sql(table).scalar_one()
    for name in drop:
        clause = rf",\s*CONSTRAINT {name} FOREIGN KEY\s*\([^)]*\)\s*REFERENCES \w+\s*\([^)]*\)"
        sql, found = re.subn(clause, "", sql)
        if found != 1:
            raise RuntimeError(f"inspection_tasks has no foreign key {name}")
    end = sql.rindex(")")
    sql = sql[:end].rstrip() + "".join(f", \n\t{key}" for key in add) + "\n)"
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar_one()
    bind.exec_driver_sql("PRAGMA writable_schema = ON")
    bind.exec_driver_sql(
        "UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = 'inspection_tasks'",
        (sql,),
    )
    bind.exec_driver_sql(f"PRAGMA schema_version = {version + 1}")
    bind.exec_driver_sql("PRAGMA writable_schema = OFF")
    wrong = bind.exec_driver_sql("PRAGMA foreign_key_check(inspection_tasks)").all()
    if wrong:
        raise RuntimeError(f"inspection tasks that break the new keys: {wrong[:5]}")


def _point_indexes() -> None:
    op.drop_index("ix_inspection_tasks_point_window", table_name="inspection_tasks")
    for name, column, status in POINT_INDEXES:
        where = sa.text(f"status = '{status}'")
        op.create_index(
            name,
            "inspection_tasks",
            ["point_id", column],
            postgresql_where=where,
            sqlite_where=where,
        )


def downgrade() -> None:
    # Tolerant: this revision gained the point indexes after it was first merged.
    for name, _, _ in POINT_INDEXES:
        op.drop_index(name, table_name="inspection_tasks", if_exists=True)
    op.create_index(
        "ix_inspection_tasks_point_window",
        "inspection_tasks",
        ["point_id", "window_end"],
        if_not_exists=True,
    )
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint(UNIQUE, "inspection_tasks", type_="unique")
        op.create_unique_constraint(UNIQUE, "inspection_tasks", POINT_FIRST)
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_keys(
            [COMPOSITE],
            [
                f"CONSTRAINT {name} FOREIGN KEY({column}) REFERENCES {target} (id)"
                for name, column, target in DROPPED
            ],
        )
    else:
        with op.batch_alter_table("inspection_tasks") as batch:
            batch.drop_constraint(COMPOSITE, type_="foreignkey")
            for name, column, target in DROPPED:
                batch.create_foreign_key(name, target, [column], ["id"])
    op.drop_index(ATTACHMENT_KEY, table_name="point_checklists")
    op.drop_index("ix_task_daily_unit_path_day", table_name="task_daily")
    op.drop_table("task_daily")
