"""Tables of the tickets domain."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from foundation.db import Base, UtcDateTime, utcnow
from tickets.states import TicketStatus


def new_id() -> str:
    return uuid.uuid4().hex


class CallOutcome(enum.StrEnum):
    IN_PROGRESS = "in_progress"
    OPERATOR = "operator"  # handed to the operator queue
    EMERGENCY = "emergency"  # transferred to 110/119/120
    DONE = "done"  # the bot finished and the call ended
    HANGUP = "hangup"  # the caller hung up first


class Call(Base):
    __tablename__ = "calls"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    channel: Mapped[str] = mapped_column(String(128), default="")
    uniqueid: Mapped[str] = mapped_column(String(64), default="", index=True)
    caller_number: Mapped[str] = mapped_column(String(32), default="")
    dialed_number: Mapped[str] = mapped_column(String(32), default="")
    started_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    outcome: Mapped[str] = mapped_column(String(32), default=CallOutcome.IN_PROGRESS)
    transfer_reason: Mapped[str] = mapped_column(String(64), default="")
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)

    recordings: Mapped[list[Recording]] = relationship(back_populates="call", order_by="Recording.turn")


class Ticket(Base):
    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    channel: Mapped[str] = mapped_column(String(16), default="phone")
    caller_number: Mapped[str] = mapped_column(String(32), default="")
    dialed_number: Mapped[str] = mapped_column(String(32), default="")
    call_id: Mapped[str | None] = mapped_column(String(32), index=True)
    transcript: Mapped[str] = mapped_column(Text, default="")
    summary: Mapped[str] = mapped_column(Text, default="")
    type: Mapped[str] = mapped_column(String(8), default="")
    category: Mapped[str] = mapped_column(String(32), default="")
    department_id: Mapped[str] = mapped_column(String(64), default="")
    department_name: Mapped[str] = mapped_column(String(64), default="")
    department_candidates: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    place: Mapped[str] = mapped_column(Text, default="")
    emergency: Mapped[str] = mapped_column(String(16), default="")
    status: Mapped[str] = mapped_column(String(24), default=TicketStatus.ACCEPTED, index=True)
    confirmed_by_caller: Mapped[bool] = mapped_column(Boolean, default=False)
    incomplete: Mapped[bool] = mapped_column(Boolean, default=False)
    needs_transcription: Mapped[bool] = mapped_column(Boolean, default=False)
    router_source: Mapped[str] = mapped_column(String(16), default="")
    # Written channels (tickets.intake): what the citizen gave besides the text. Personal data like
    # caller_number: never in Open311 output, masked on dispatch slips.
    caller_name: Mapped[str] = mapped_column(String(64), default="")
    caller_email: Mapped[str] = mapped_column(String(128), default="")
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    media_url: Mapped[str] = mapped_column(Text, default="")
    intake_meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # channel extras, kept verbatim
    # Lifecycle (tickets.workflow): when things happened, what is due, and the flags beside the state.
    dispatched_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    signed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    sign_by: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)
    resolve_by: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)
    deadline_rule: Mapped[str] = mapped_column(String(64), default="")
    supervision_level: Mapped[int] = mapped_column(Integer, default=0)
    extension_pending: Mapped[bool] = mapped_column(Boolean, default=False)
    extension_days: Mapped[int] = mapped_column(Integer, default=0)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    # 下派: the unit below the responsible department now doing the work (首问负责: department_id stays).
    assigned_unit: Mapped[str | None] = mapped_column(String(64), index=True)
    satisfaction: Mapped[str] = mapped_column(String(24), default="")
    # Callbacks (回访): an anonymous report is never revisited; no_callback is the citizen's 不回访 for this ticket.
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    no_callback: Mapped[bool] = mapped_column(Boolean, default=False)
    # 待回拨 (console overflow): no operator answered in time; the center owes the caller a call by
    # callback_due_by. Cleared when an operator has called back.
    missed_callback: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    callback_due_by: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)

    recordings: Mapped[list[Recording]] = relationship(back_populates="ticket", order_by="Recording.id")
    events: Mapped[list[TicketEvent]] = relationship(back_populates="ticket", order_by="TicketEvent.id")


class Recording(Base):
    __tablename__ = "recordings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id"), index=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    turn: Mapped[int] = mapped_column(Integer)
    purpose: Mapped[str] = mapped_column(String(16))
    path: Mapped[str] = mapped_column(Text)
    audio_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    speech_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    transcript: Mapped[str] = mapped_column(Text, default="")
    ended_by: Mapped[str] = mapped_column(String(16), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    call: Mapped[Call] = relationship(back_populates="recordings")
    ticket: Mapped[Ticket | None] = relationship(back_populates="recordings")


class TicketEvent(Base):
    """Append-only log of every change to a ticket: who, when, what and why."""

    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    actor: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    ticket: Mapped[Ticket] = relationship(back_populates="events")


class TicketCounter(Base):
    """Per-day sequence behind human-readable ticket numbers."""

    __tablename__ = "ticket_counters"

    day: Mapped[str] = mapped_column(String(8), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)
