"""待回拨: citizens nobody at the desk answered in time, whom the center owes a call back.

The overflow leg (ivr_flows.overflow) writes here directly, or through its journal while the database
is unavailable (ivr_flows.replay applies the same functions later; `*_once` make that idempotent)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from console.schemas import OverflowRequest
from tickets import service as tickets
from tickets.models import Ticket, TicketEvent
from tickets.schemas import TicketDraft

MIN_SPEECH_S = 0.3  # less than this is noise, not a request waiting to be transcribed
MISSED_EVENT = "missed_callback"
OVERFLOW_INTAKE_EVENT = "overflow_intake"


def mark_missed_callback(session: Session, *, ticket_id: int, due_by: datetime, reason: str,
                         actor: str = "ivr") -> Ticket:
    ticket = session.get_one(Ticket, ticket_id)
    ticket.missed_callback = True
    ticket.callback_due_by = due_by if ticket.callback_due_by is None else min(ticket.callback_due_by, due_by)
    tickets.add_event(session, ticket=ticket, actor=actor, kind=MISSED_EVENT, reason=reason,
                      data={"callback_due_by": due_by.isoformat()})
    return ticket


def store_overflow_request(session: Session, *, call_id: str, ticket_id: int | None, caller: str, dialed: str,
                           request: OverflowRequest) -> int:
    """Open the call's ticket from what the caller told the overflow leg, or complete the one intake
    left (empty, or only the start of the request). Returns the ticket's id."""
    if ticket_id is None:
        # Intake's ticket may have landed meanwhile (replayed from its journal): never a second one.
        ticket_id = ticket_of_call(session, call_id=call_id)
    needs_transcription = request.speech_s >= MIN_SPEECH_S and not request.text
    if ticket_id is None:
        draft = TicketDraft(
            call_id=call_id, caller_number=caller, dialed_number=dialed, transcript=request.text,
            summary=request.summary, type=request.type, category=request.category,
            departments=request.departments, place=request.place, incomplete=not request.text,
            needs_transcription=needs_transcription, router_source=request.router_source)
        ticket = tickets.open_ticket(session, draft=draft, actor="ivr")
        tickets.attach_recordings(session, call_id=call_id, ticket_id=ticket.id)
        return ticket.id
    t = session.get_one(Ticket, ticket_id)
    if request.text:
        # What the router made of the request told now replaces intake's guess from a fragment.
        t.transcript = request.text
        t.summary, t.type, t.category = request.summary, request.type, request.category
        t.department_candidates = [d.model_dump() for d in request.departments]
        if request.departments:
            t.department_id, t.department_name = request.departments[0].id, request.departments[0].name
        t.place = t.place or request.place
        t.router_source = request.router_source
    t.needs_transcription = t.needs_transcription or needs_transcription
    tickets.attach_recordings(session, call_id=call_id, ticket_id=t.id)
    tickets.add_event(session, ticket=t, actor="ivr", kind=OVERFLOW_INTAKE_EVENT, data={"heard": bool(request.text)})
    return t.id


def ticket_of_call(session: Session, *, call_id: str) -> int | None:
    return session.scalars(select(Ticket.id).where(Ticket.call_id == call_id)).first()


# --- replayed from an overflow leg's journal -------------------------------------------------------


def store_overflow_request_once(session: Session, *, call_id: str, ticket_id: int | None, caller: str,
                                dialed: str, request: OverflowRequest) -> int:
    """store_overflow_request, unless this call's overflow request is on its ticket already (a journal
    replayed twice: a crash between the commit and the file's removal)."""
    existing = ticket_id if ticket_id is not None else ticket_of_call(session, call_id=call_id)
    if existing is not None and _has_event(session, ticket_id=existing, kind=OVERFLOW_INTAKE_EVENT):
        return existing
    return store_overflow_request(session, call_id=call_id, ticket_id=existing, caller=caller, dialed=dialed,
                                  request=request)


def mark_missed_callback_once(session: Session, *, call_id: str, ticket_id: int | None, due_by: datetime,
                              reason: str) -> int:
    """mark_missed_callback for the ticket of the call (`ticket_id` when the leg knew it), unless the
    same mark is on it already. Raises LookupError when the call has no ticket."""
    tid = ticket_id if ticket_id is not None else ticket_of_call(session, call_id=call_id)
    if tid is None:
        raise LookupError(f"call {call_id}: marked 待回拨 but it has no ticket")
    marks = session.scalars(select(TicketEvent.data).where(TicketEvent.ticket_id == tid,
                                                           TicketEvent.kind == MISSED_EVENT))
    if not any(d.get("callback_due_by") == due_by.isoformat() for d in marks):
        mark_missed_callback(session, ticket_id=tid, due_by=due_by, reason=reason)
    return tid


def _has_event(session: Session, *, ticket_id: int, kind: str) -> bool:
    return session.scalars(select(TicketEvent.id).where(TicketEvent.ticket_id == ticket_id,
                                                        TicketEvent.kind == kind)).first() is not None
