"""ticket intake channels: contact, location, media and channel extras of written requests

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22 07:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Server defaults so that tickets opened before this migration get values too.
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("caller_name", sa.String(length=64), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("caller_email", sa.String(length=128), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("latitude", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("longitude", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("media_url", sa.Text(), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("intake_meta", sa.JSON(), nullable=False, server_default="{}"))


def downgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        for name in ("intake_meta", "media_url", "longitude", "latitude", "caller_email", "caller_name"):
            batch_op.drop_column(name)
