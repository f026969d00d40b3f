"""callbacks of 即办件: callback_jobs.kind (result | on_call)

Also marks the tickets closed on the call before this revision as considered (event
callback_not_due): the scheduler would otherwise ring every citizen of every past 即办件 at once.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23 07:00:00
"""
from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

MARK_ACTOR = "migration-0009"
MARK_REASON = "不回访：即办件回访上线前已办结"

_tickets = sa.table("tickets", sa.column("id", sa.Integer()), sa.column("status", sa.String()))
_events = sa.table("ticket_events", sa.column("ticket_id", sa.Integer()), sa.column("at", sa.DateTime(timezone=True)),
                   sa.column("actor", sa.String()), sa.column("kind", sa.String()), sa.column("reason", sa.Text()),
                   sa.column("data", sa.JSON()))
_jobs = sa.table("callback_jobs", sa.column("ticket_id", sa.Integer()))


def upgrade() -> None:
    # Server default so that jobs scheduled before this migration are the ordinary kind.
    with op.batch_alter_table("callback_jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=16), nullable=False, server_default="result"))
    mark_past_on_call(op.get_bind(), now=datetime.now(UTC))


def mark_past_on_call(bind: sa.Connection, *, now: datetime) -> None:
    """One callback_not_due event for each 即办件 closed with no callback job and no such event yet."""
    on_call = sa.exists().where(_events.c.ticket_id == _tickets.c.id, _events.c.kind == "closed_on_call")
    has_job = sa.exists().where(_jobs.c.ticket_id == _tickets.c.id)
    marked = sa.exists().where(_events.c.ticket_id == _tickets.c.id, _events.c.kind == "callback_not_due")
    at = now.astimezone(UTC)  # as foundation.db.UtcDateTime stores it (SQLite keeps no zone)
    past = sa.select(_tickets.c.id, sa.literal(at, sa.DateTime(timezone=True)), sa.literal(MARK_ACTOR),
                     sa.literal("callback_not_due"), sa.literal(MARK_REASON), sa.literal({"kind": "on_call"}, sa.JSON())
                     ).where(_tickets.c.status == "closed", on_call, ~has_job, ~marked)
    bind.execute(sa.insert(_events).from_select(["ticket_id", "at", "actor", "kind", "reason", "data"], past))


def downgrade() -> None:
    op.get_bind().execute(sa.delete(_events).where(_events.c.actor == MARK_ACTOR))
    with op.batch_alter_table("callback_jobs", schema=None) as batch_op:
        batch_op.drop_column("kind")
