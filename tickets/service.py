"""Ticket domain services. Keyword-only functions taking the session first; callers own the
transaction (intake commits after each step so a hangup never loses what was already said)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.orm import Session, selectinload

from foundation.db import utcnow
from foundation.errors import TicketNotFound
from tickets.filters import TicketFilter
from tickets.models import Call, CallOutcome, Recording, Ticket, TicketEvent, new_id
from tickets.numbering import next_number, provisional_number
from tickets.schemas import TicketDraft


def start_call(session: Session, *, channel: str, uniqueid: str, caller_number: str,
               dialed_number: str, call_id: str | None = None) -> Call:
    """`call_id`: chosen by the caller when it must exist before the database answers (intake's journal)."""
    call = Call(id=call_id or new_id(), channel=channel, uniqueid=uniqueid, caller_number=caller_number,
                dialed_number=dialed_number)
    session.add(call)
    session.flush()
    return call


def add_recording(session: Session, *, call_id: str, turn: int, purpose: str, path: str) -> Recording:
    """Registered before Asterisk starts writing, so even a killed process leaves a pointer to it."""
    rec = Recording(call_id=call_id, turn=turn, purpose=purpose, path=path)
    session.add(rec)
    session.flush()
    return rec


def attach_recordings(session: Session, *, call_id: str, ticket_id: int) -> None:
    """File the call's recordings that belong to no ticket yet with `ticket_id` (turns recorded after
    the ticket was opened, by a later leg, or by a callback about it)."""
    session.execute(update(Recording).where(Recording.call_id == call_id, Recording.ticket_id.is_(None))
                    .values(ticket_id=ticket_id))


def finish_recording(session: Session, *, recording_id: int, audio_seconds: float, speech_seconds: float,
                     transcript: str, ended_by: str) -> None:
    rec = session.get_one(Recording, recording_id)
    rec.audio_seconds = audio_seconds
    rec.speech_seconds = speech_seconds
    rec.transcript = transcript
    rec.ended_by = ended_by


def add_event(session: Session, *, ticket: Ticket, actor: str, kind: str, reason: str = "",
              data: dict[str, Any] | None = None, at: datetime | None = None) -> TicketEvent:
    # `at` is the time the action took effect (the workflow's `now`), so deadlines and reports agree.
    ev = TicketEvent(ticket=ticket, actor=actor, kind=kind, reason=reason, data=data or {}, at=at or utcnow())
    session.add(ev)
    return ev


def open_ticket(session: Session, *, draft: TicketDraft, actor: str) -> Ticket:
    """Create a ticket in 受理 (accepted) and attach the call's recordings to it."""
    top = draft.departments[0] if draft.departments else None
    ticket = Ticket(
        number=provisional_number(),  # the real one is taken last: see below
        channel=draft.channel,
        caller_number=draft.caller_number,
        dialed_number=draft.dialed_number,
        call_id=draft.call_id,
        transcript=draft.transcript,
        summary=draft.summary,
        type=draft.type,
        category=draft.category,
        department_id=top.id if top else "",
        department_name=top.name if top else "",
        department_candidates=[d.model_dump() for d in draft.departments],
        place=draft.place,
        emergency=draft.emergency,
        confirmed_by_caller=draft.confirmed_by_caller,
        incomplete=draft.incomplete,
        needs_transcription=draft.needs_transcription,
        router_source=draft.router_source,
    )
    session.add(ticket)
    session.flush()
    if draft.call_id:
        call = session.get_one(Call, draft.call_id)
        call.ticket_id = ticket.id
        for rec in call.recordings:
            rec.ticket_id = ticket.id
    add_event(session, ticket=ticket, actor=actor, kind="accepted",
              reason="incomplete: caller hung up" if draft.incomplete else "",
              data={"confirmed_by_caller": draft.confirmed_by_caller,
                    "needs_transcription": draft.needs_transcription,
                    "department_id": ticket.department_id, "category": ticket.category,
                    "type": ticket.type})
    # The day's counter is one row that every new ticket updates, and its lock lasts until commit: taken
    # last, it is held for one statement instead of the whole intake write (at a peak, tickets queued on
    # it for seconds). Numbers stay gapless: a rollback returns the number too.
    session.flush()
    ticket.number = next_number(session, now=utcnow())
    session.flush()
    return ticket


def end_call(session: Session, *, call_id: str, outcome: CallOutcome, reason: str = "") -> None:
    call = session.get_one(Call, call_id)
    call.outcome = outcome
    call.transfer_reason = reason
    call.ended_at = utcnow()
    if call.ticket_id is not None and outcome in (CallOutcome.OPERATOR, CallOutcome.EMERGENCY):
        ticket = session.get_one(Ticket, call.ticket_id)
        add_event(session, ticket=ticket, actor="ivr", kind=f"transfer_{outcome}", reason=reason)


def get_ticket(session: Session, *, ticket_id: int) -> Ticket:
    ticket = session.scalars(
        select(Ticket).where(Ticket.id == ticket_id)
        .options(selectinload(Ticket.recordings), selectinload(Ticket.events))
    ).one_or_none()
    if ticket is None:
        raise TicketNotFound(f"ticket {ticket_id} does not exist", ticket_id=ticket_id)
    return ticket


def list_tickets(session: Session, *, filters: TicketFilter | None = None,
                 scope: ColumnElement[bool] | None = None, limit: int = 50, offset: int = 0,
                 now: datetime | None = None) -> tuple[list[Ticket], int]:
    """Newest first. `scope` is the caller's visibility (tickets.access.visible)."""
    query = (filters or TicketFilter()).apply(select(Ticket), now=now or utcnow())
    if scope is not None:
        query = query.where(scope)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    items = session.scalars(query.order_by(Ticket.id.desc()).limit(limit).offset(offset)).all()
    return list(items), total


def find_call(session: Session, *, uniqueid: str) -> Call | None:
    return session.scalars(select(Call).where(Call.uniqueid == uniqueid)).first()
