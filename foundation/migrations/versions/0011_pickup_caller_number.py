"""operator_pickups.caller_number: the number AMI gave, for pops of calls that came without a ticket

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-22 16:40:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("operator_pickups", schema=None) as batch_op:
        batch_op.add_column(sa.Column("caller_number", sa.String(length=32), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("operator_pickups", schema=None) as batch_op:
        batch_op.drop_column("caller_number")
