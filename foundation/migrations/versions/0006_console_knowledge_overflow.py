"""operator desk: pickups, routing corrections, knowledge base, 待回拨 flag on tickets

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 07:30:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "operator_pickups",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("station", sa.String(length=32), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("caller_uniqueid", sa.String(length=64), nullable=False),
        sa.Column("queue", sa.String(length=64), nullable=False),
        sa.Column("hold_seconds", sa.Integer(), nullable=False),
        sa.Column("picked_up_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("handled", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("caller_uniqueid", "station", name="uq_operator_pickups_caller_station"),
    )
    op.create_index("ix_operator_pickups_station", "operator_pickups", ["station"])
    op.create_index("ix_operator_pickups_ticket_id", "operator_pickups", ["ticket_id"])
    op.create_index("ix_operator_pickups_picked_up_at", "operator_pickups", ["picked_up_at"])

    op.create_table(
        "routing_corrections",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("original_text", sa.Text(), nullable=False),
        sa.Column("original_type", sa.String(length=8), nullable=False),
        sa.Column("type", sa.String(length=8), nullable=False),
        sa.Column("original_category", sa.String(length=32), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("original_department_id", sa.String(length=64), nullable=False),
        sa.Column("department_id", sa.String(length=64), nullable=False),
        sa.Column("router_source", sa.String(length=16), nullable=False),
        sa.Column("changed", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_routing_corrections_ticket_id", "routing_corrections", ["ticket_id"])
    op.create_index("ix_routing_corrections_created_at", "routing_corrections", ["created_at"])
    op.create_index("ix_routing_corrections_changed", "routing_corrections", ["changed"])

    op.create_table(
        "kb_entries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("department_id", sa.String(length=64), nullable=False),
        sa.Column("tags", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("slug"),
    )
    op.create_index("ix_kb_entries_active", "kb_entries", ["active"])

    # Server defaults so that tickets opened before this migration get values too.
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("missed_callback", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("callback_due_by", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_tickets_missed_callback", ["missed_callback"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index("ix_tickets_missed_callback")
        batch_op.drop_column("callback_due_by")
        batch_op.drop_column("missed_callback")
    op.drop_index("ix_kb_entries_active", table_name="kb_entries")
    op.drop_table("kb_entries")
    for name in ("changed", "created_at", "ticket_id"):
        op.drop_index(f"ix_routing_corrections_{name}", table_name="routing_corrections")
    op.drop_table("routing_corrections")
    for name in ("picked_up_at", "ticket_id", "station"):
        op.drop_index(f"ix_operator_pickups_{name}", table_name="operator_pickups")
    op.drop_table("operator_pickups")
