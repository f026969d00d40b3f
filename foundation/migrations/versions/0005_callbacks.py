"""callbacks: jobs per ticket and round, attempts, opt-outs; tickets.anonymous / no_callback

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 07:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("anonymous", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("no_callback", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table(
        "callback_jobs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_by", sa.String(length=64), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=24), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("ticket_id", "round", name="uq_callback_jobs_ticket_round"),
    )
    op.create_index("ix_callback_jobs_ticket_id", "callback_jobs", ["ticket_id"])
    op.create_index("ix_callback_jobs_state", "callback_jobs", ["state"])
    op.create_index("ix_callback_jobs_next_attempt_at", "callback_jobs", ["next_attempt_at"])
    op.create_index("ix_callback_jobs_lease_until", "callback_jobs", ["lease_until"])
    op.create_table(
        "callback_attempts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.String(length=64), nullable=False),
        sa.Column("dialer_id", sa.String(length=64), nullable=False),
        sa.Column("result", sa.String(length=16), nullable=False),
        sa.Column("reason_code", sa.Integer(), nullable=True),
        sa.Column("hangup_cause", sa.Integer(), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("satisfaction", sa.String(length=24), nullable=False),
        sa.Column("answered_by", sa.String(length=8), nullable=False),
        sa.Column("reason_text", sa.Text(), nullable=False),
        sa.Column("call_id", sa.String(length=32), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["callback_jobs.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("channel_id"),
        sa.UniqueConstraint("job_id", "number", name="uq_callback_attempts_job_number"),
    )
    op.create_index("ix_callback_attempts_job_id", "callback_attempts", ["job_id"])
    op.create_index("ix_callback_attempts_result", "callback_attempts", ["result"])
    op.create_table(
        "callback_opt_outs",
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("number"),
    )


def downgrade() -> None:
    op.drop_table("callback_opt_outs")
    op.drop_index("ix_callback_attempts_result", table_name="callback_attempts")
    op.drop_index("ix_callback_attempts_job_id", table_name="callback_attempts")
    op.drop_table("callback_attempts")
    for name in ("lease_until", "next_attempt_at", "state", "ticket_id"):
        op.drop_index(f"ix_callback_jobs_{name}", table_name="callback_jobs")
    op.drop_table("callback_jobs")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_column("no_callback")
        batch_op.drop_column("anonymous")
