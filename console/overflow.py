"""Overflow: nobody at the desk answered within the queue timeout. The bot finishes the intake itself,
marks the ticket 待回拨 and tells the caller when to expect the call.

Runs as the FastAGI route /overflow, entered from the dialplan when Queue() ends with QUEUESTATUS
TIMEOUT, FULL, JOINEMPTY, LEAVEEMPTY, JOINUNAVAIL or LEAVEUNAVAIL."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Protocol

from sqlalchemy import select

from agi.errors import AgiHangup
from console import service as desk
from hotline.db import transaction
from ivr_flows.dialogue import CallState, Dialogue
from ivr_flows.ports import CallServices, Channel
from tickets import service
from tickets.models import Recording, Ticket, utcnow
from tickets.schemas import DepartmentCandidate, TicketDraft

log = logging.getLogger(__name__)

MIN_SPEECH_S = 0.3


class OverflowChannel(Channel, Protocol):
    def get_var(self, name: str) -> str | None: ...


def promise_text(minutes: int) -> str:
    return f"我们会在{minutes}分钟内给您回电，请保持电话畅通。感谢您的来电，再见。"


def _needs_request(ticket: Ticket | None) -> bool:
    """Whether the bot must still ask what the call is about (no ticket, or nothing was said)."""
    return ticket is None or not (ticket.transcript.strip() or ticket.needs_transcription)


def run_overflow(channel: OverflowChannel, services: CallServices, *, channel_name: str, uniqueid: str,
                 caller: str, dialed: str) -> int | None:
    """Serve the overflow leg of a call; returns the ticket marked 待回拨 (None if the caller left first)."""
    settings = services.settings
    queue_status = channel.get_var("HOTLINE_QUEUESTATUS") or channel.get_var("QUEUESTATUS") or ""
    var_ticket = (channel.get_var("TICKET_ID") or "").strip()
    with transaction(services.session_factory) as s:
        call = service.find_call(s, uniqueid=uniqueid)
        if call is None:  # the intake never ran (AGI was down): this call starts here
            call = service.start_call(s, channel=channel_name, uniqueid=uniqueid, caller_number=caller,
                                      dialed_number=dialed)
        call_id = call.id
        dialed = call.dialed_number or dialed
        ticket_id = int(var_ticket) if var_ticket.isdigit() else call.ticket_id
        ticket = s.get(Ticket, ticket_id) if ticket_id is not None else None
        ticket_id = ticket.id if ticket is not None else None
        ask = _needs_request(ticket)
        turns = len(call.recordings)
    state = CallState(call_id=call_id, caller=caller, dialed=dialed, channel_name=channel_name, turn=turns)
    d = Dialogue(channel, services, state)
    try:
        if ask:
            d.say("overflow_busy", escape_digits="")
            heard = d.listen("overflow", silence_s=settings.request_silence_s, max_s=settings.request_max_s,
                             escape_digits="")
            ticket_id = _store_request(services, call_id=call_id, ticket_id=ticket_id, caller=caller, dialed=dialed,
                                       text=heard.text, speech_s=heard.speech_seconds)
    except AgiHangup:
        # Hung up while asked: whatever was recorded is kept; the caller is still owed a call.
        if ask and state.turns:
            h = state.turns[-1]
            ticket_id = _store_request(services, call_id=call_id, ticket_id=ticket_id, caller=caller,
                                       dialed=dialed, text=h.text, speech_s=h.speech_seconds)
        _mark(services, ticket_id, queue_status)
        raise
    _mark(services, ticket_id, queue_status)
    if ticket_id is not None:
        channel.set_var("TICKET_ID", str(ticket_id))
    d.say("overflow_registered", escape_digits="")
    d.say_text(promise_text(settings.overflow_callback_minutes), escape_digits="")
    return ticket_id


def _store_request(services: CallServices, *, call_id: str, ticket_id: int | None, caller: str, dialed: str,
                   text: str, speech_s: float) -> int:
    """Open the ticket from what the caller said now, or complete the empty one intake left."""
    c = services.router.classify(text, dialed_number=dialed or None) if text else None
    with transaction(services.session_factory) as s:
        if ticket_id is None:
            # Intake's ticket may have landed meanwhile (replayed from its journal): never a second one.
            ticket_id = s.scalars(select(Ticket.id).where(Ticket.call_id == call_id)).first()
        if ticket_id is not None:
            t = s.get_one(Ticket, ticket_id)
            if text:
                t.transcript = text
                if c is not None:
                    t.summary, t.type, t.category = c.summary, c.type, c.category
                    t.department_candidates = [{"id": x.id, "name": x.name, "confidence": x.confidence}
                                               for x in c.departments]
                    if c.departments:
                        t.department_id, t.department_name = c.departments[0].id, c.departments[0].name
                    t.place = t.place or (c.place or "")
                    t.router_source = c.source
            t.needs_transcription = t.needs_transcription or (speech_s >= MIN_SPEECH_S and not text)
            for rec in s.scalars(select(Recording).where(Recording.call_id == call_id, Recording.ticket_id.is_(None))):
                rec.ticket_id = t.id  # the overflow turn belongs with the rest of the call
            service.add_event(s, ticket=t, actor="ivr", kind="overflow_intake", data={"heard": bool(text)})
            return t.id
        draft = TicketDraft(
            call_id=call_id, caller_number=caller, dialed_number=dialed, transcript=text,
            summary=c.summary if c else "", type=c.type if c else "", category=c.category if c else "",
            departments=[DepartmentCandidate(id=x.id, name=x.name, confidence=x.confidence)
                         for x in (c.departments if c else [])],
            place=(c.place or "") if c else "", incomplete=not text,
            needs_transcription=speech_s >= MIN_SPEECH_S and not text, router_source=c.source if c else "")
        return service.open_ticket(s, draft=draft, actor="ivr").id


def _mark(services: CallServices, ticket_id: int | None, queue_status: str) -> None:
    if ticket_id is None:
        return
    due = utcnow() + timedelta(minutes=services.settings.overflow_callback_minutes)
    with transaction(services.session_factory) as s:
        desk.mark_missed_callback(s, ticket_id=ticket_id, due_by=due, reason=f"queue {queue_status or 'unknown'}")
    log.info("ticket %s marked 待回拨 (queue %s)", ticket_id, queue_status)
