"""Tables of the operator desk: who picked up which call, and operators' corrections of the router."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from foundation.db import Base, UtcDateTime, utcnow


class OperatorPickup(Base):
    """An operator station answered a queued caller (AMI AgentConnect). One row per (caller, station):
    the follower of every API worker may see the same event."""

    __tablename__ = "operator_pickups"
    __table_args__ = (UniqueConstraint("caller_uniqueid", "station", name="uq_operator_pickups_caller_station"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    station: Mapped[str] = mapped_column(String(32), index=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    caller_uniqueid: Mapped[str] = mapped_column(String(64))
    # From AMI: the only record of who called when no ticket came with the call (AGI server down),
    # so a page opened late, or on another API instance, still shows the number.
    caller_number: Mapped[str] = mapped_column(String(32), default="")
    queue: Mapped[str] = mapped_column(String(64), default="")
    hold_seconds: Mapped[int] = mapped_column(Integer, default=0)
    picked_up_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)  # Asterisk's event time
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    handled: Mapped[bool] = mapped_column(Boolean, default=False)  # confirmed/dispatched from the console
