"""ticket lifecycle: deadlines, flags, merge link

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 05:20:51
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

FK = "fk_tickets_merged_into_id_tickets"


def upgrade() -> None:
    # Server defaults so that tickets opened before this migration get values too.
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        for name in ("dispatched_at", "signed_at", "closed_at", "sign_by", "resolve_by"):
            batch_op.add_column(sa.Column(name, sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("deadline_rule", sa.String(length=64), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("supervision_level", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("extension_pending", sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column("extension_days", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("merged_into_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("satisfaction", sa.String(length=24), nullable=False, server_default=""))
        batch_op.create_index("ix_tickets_merged_into_id", ["merged_into_id"], unique=False)
        batch_op.create_index("ix_tickets_resolve_by", ["resolve_by"], unique=False)
        batch_op.create_index("ix_tickets_sign_by", ["sign_by"], unique=False)
        batch_op.create_foreign_key(FK, "tickets", ["merged_into_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_constraint(FK, type_="foreignkey")
        batch_op.drop_index("ix_tickets_sign_by")
        batch_op.drop_index("ix_tickets_resolve_by")
        batch_op.drop_index("ix_tickets_merged_into_id")
        for name in ("satisfaction", "merged_into_id", "extension_days", "extension_pending", "supervision_level",
                     "deadline_rule", "resolve_by", "sign_by", "closed_at", "signed_at", "dispatched_at"):
            batch_op.drop_column(name)
