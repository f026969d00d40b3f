"""reports: call records (CDR import), CDR cursors, surge alerts

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 10:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "call_records",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("record_key", sa.String(length=64), nullable=False),
        sa.Column("uniqueid", sa.String(length=64), nullable=False),
        sa.Column("linkedid", sa.String(length=64), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("src", sa.String(length=64), nullable=False),
        sa.Column("dst", sa.String(length=64), nullable=False),
        sa.Column("dcontext", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=128), nullable=False),
        sa.Column("dstchannel", sa.String(length=128), nullable=False),
        sa.Column("lastapp", sa.String(length=64), nullable=False),
        sa.Column("start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answer", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end", sa.DateTime(timezone=True), nullable=True),
        sa.Column("duration", sa.Integer(), nullable=False),
        sa.Column("billsec", sa.Integer(), nullable=False),
        sa.Column("disposition", sa.String(length=16), nullable=False),
        sa.Column("userfield", sa.String(length=128), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("record_key"),
    )
    op.create_index("ix_call_records_uniqueid", "call_records", ["uniqueid"], unique=False)
    op.create_index("ix_call_records_linkedid", "call_records", ["linkedid"], unique=False)
    op.create_index("ix_call_records_start", "call_records", ["start"], unique=False)
    op.create_table(
        "cdr_cursors",
        sa.Column("path", sa.String(length=512), nullable=False),
        sa.Column("offset", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("path"),
    )
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("topic", sa.String(length=64), nullable=False),
        sa.Column("district", sa.String(length=64), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("baseline", sa.Float(), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("notified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    op.create_index("ix_alerts_last_seen_at", "alerts", ["last_seen_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_alerts_last_seen_at", table_name="alerts")
    op.drop_table("alerts")
    op.drop_table("cdr_cursors")
    op.drop_index("ix_call_records_start", table_name="call_records")
    op.drop_index("ix_call_records_linkedid", table_name="call_records")
    op.drop_index("ix_call_records_uniqueid", table_name="call_records")
    op.drop_table("call_records")
