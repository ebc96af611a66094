"""jobs: long operations run by queue consumers; periodic claims: periodic work once per period

A job row is what a user polls (state, progress, timings, result or error); the queue only
carries its id. A periodic claim is the unique (task, period) that lets exactly one consumer
of all boxes run a periodic task for a period. Downgrade drops both (pending jobs are lost;
their results stay in object storage until collected by hand).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JOB_STATES = ("queued", "running", "succeeded", "failed", "cancelled")


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("creator_id", sa.Integer(), nullable=False),
        sa.Column("creator_role", sa.String(length=32), nullable=False),
        sa.Column("creator_scope", sa.String(length=255), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("params_hash", sa.String(length=64), nullable=False),
        sa.Column(
            "state",
            sa.Enum(*JOB_STATES, name="job_state", native_enum=False, create_constraint=True,
                    length=32),
            nullable=False,
        ),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=True),
        sa.Column("message", sa.String(length=255), nullable=False),
        sa.Column("parts_total", sa.Integer(), nullable=False),
        sa.Column("parts_done", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("input_key", sa.String(length=255), nullable=True),
        sa.Column("result_key", sa.String(length=255), nullable=True),
        sa.Column("result_name", sa.String(length=255), nullable=True),
        sa.Column("result_type", sa.String(length=128), nullable=True),
        sa.Column("result_size", sa.Integer(), nullable=True),
        sa.Column("result_summary", sa.JSON(), nullable=True),
        sa.Column("result_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.JSON(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["creator_id"], ["users.id"], name=op.f("fk_jobs_creator_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
    )
    with op.batch_alter_table("jobs") as batch:
        batch.create_index(batch.f("ix_jobs_creator_id"), ["creator_id"], unique=False)
        batch.create_index("ix_jobs_state_heartbeat_at", ["state", "heartbeat_at"], unique=False)
        batch.create_index("ix_jobs_result_expires_at", ["result_expires_at"], unique=False)
        batch.create_index(
            "ix_jobs_creator_id_params_hash", ["creator_id", "params_hash"], unique=False
        )
    op.create_table(
        "periodic_claims",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task", sa.String(length=64), nullable=False),
        sa.Column("period", sa.String(length=32), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_by", sa.String(length=128), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_periodic_claims")),
        sa.UniqueConstraint("task", "period", name=op.f("uq_periodic_claims_task")),
    )
    with op.batch_alter_table("periodic_claims") as batch:
        batch.create_index(
            batch.f("ix_periodic_claims_claimed_at"), ["claimed_at"], unique=False
        )


def downgrade() -> None:
    op.drop_table("periodic_claims")
    op.drop_table("jobs")
