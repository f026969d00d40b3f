"""Tables of the escalation domain: what has been escalated, and the notifications still to deliver."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from foundation.db import Base, UtcDateTime, utcnow


class EscalationMark(Base):
    """One 督办 applied by the sweep. The unique key is the idempotency guarantee: a second sweeper
    (or a second run) cannot escalate the same ticket, for the same deadline, to the same level again.
    The deadline is part of the key so a re-dispatch (new deadline) can escalate afresh."""

    __tablename__ = "escalation_marks"
    __table_args__ = (UniqueConstraint("ticket_id", "kind", "level", "deadline", name="uq_escalation_marks_event"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    kind: Mapped[str] = mapped_column(String(16))  # "sign" | "resolve"
    level: Mapped[int] = mapped_column(Integer)
    deadline: Mapped[datetime] = mapped_column(UtcDateTime())
    swept_at: Mapped[datetime] = mapped_column(UtcDateTime())  # the sweep's `now`
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class OutboxMessage(Base):
    """A notification for one channel (notifier name), written in the transaction that raised it
    and delivered afterwards, at least once. `next_attempt_at` doubles as the claim lease: a
    deliverer pushes it forward when it claims the row, so a crashed deliverer's rows come back."""

    __tablename__ = "notification_outbox"
    __table_args__ = (
        UniqueConstraint("key", "channel", name="uq_notification_outbox_key_channel"),
        Index("ix_notification_outbox_due", "delivered_at", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_by: Mapped[str] = mapped_column(String(80), default="")
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_error: Mapped[str] = mapped_column(Text, default="")
