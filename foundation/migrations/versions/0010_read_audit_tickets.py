"""read_audit_tickets: an indexed (read, ticket) pair per ticket a read covered

Filled from read_audit.ticket_ids for the reads written before this revision.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-22 16:10:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_audit = sa.table("read_audit", sa.column("id", sa.Integer()), sa.column("ticket_ids", sa.JSON()))
_links = sa.table("read_audit_tickets", sa.column("audit_id", sa.Integer()), sa.column("ticket_id", sa.Integer()))
BATCH = 5000


def upgrade() -> None:
    op.create_table(
        "read_audit_tickets",
        sa.Column("audit_id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["audit_id"], ["read_audit.id"]),
        sa.PrimaryKeyConstraint("audit_id", "ticket_id"),
    )
    op.create_index("ix_read_audit_tickets_ticket_id", "read_audit_tickets", ["ticket_id"])
    backfill(op.get_bind())


def backfill(bind: sa.Connection, *, batch: int = BATCH) -> int:
    """One link per (read, ticket) in read_audit.ticket_ids, in batches; returns how many."""
    written, last = 0, 0
    while True:
        rows = bind.execute(sa.select(_audit.c.id, _audit.c.ticket_ids).where(_audit.c.id > last)
                            .order_by(_audit.c.id).limit(batch)).all()
        if not rows:
            return written
        links = [{"audit_id": rid, "ticket_id": int(t)} for rid, ids in rows for t in sorted(set(ids or []))]
        if links:
            bind.execute(sa.insert(_links), links)
        written += len(links)
        last = rows[-1][0]


def downgrade() -> None:
    op.drop_index("ix_read_audit_tickets_ticket_id", table_name="read_audit_tickets")
    op.drop_table("read_audit_tickets")
