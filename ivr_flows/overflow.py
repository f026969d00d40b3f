"""Overflow: nobody at the desk answered within the queue timeout. The bot finishes the intake itself,
marks the ticket 待回拨 and tells the caller when to expect the call.

Runs as the FastAGI route /overflow, entered from the dialplan when Queue() ends with QUEUESTATUS
TIMEOUT, FULL, JOINEMPTY, LEAVEEMPTY, JOINUNAVAIL or LEAVEUNAVAIL."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

from agi.errors import AgiHangup
from console import missed
from console.schemas import OverflowRequest
from foundation import logs
from foundation.db import transaction, utcnow
from ivr_flows.callstore import DB_UNAVAILABLE, CallStore
from ivr_flows.dialogue import CallState, Dialogue
from ivr_flows.intake import CALL_ID_VAR
from ivr_flows.ports import CallServices, Channel
from ivr_flows.replay import replay_file
from tickets import service
from tickets.models import CallOutcome, Ticket, new_id
from tickets.schemas import DepartmentCandidate

log = logging.getLogger(__name__)

LEG = "overflow"  # the leg's journal: <call id>.overflow.jsonl


class OverflowChannel(Channel, Protocol):
    def get_var(self, name: str) -> str | None: ...


def promise_text(minutes: int) -> str:
    return f"我们会在{minutes}分钟内给您回电，请保持电话畅通。感谢您的来电，再见。"


def _needs_request(ticket: Ticket | None) -> bool:
    """Whether the bot must still ask what the call is about (no ticket, or nothing was said)."""
    return ticket is None or not (ticket.transcript.strip() or ticket.needs_transcription)


@dataclass
class Leg:
    """What the overflow leg knows of its call when it starts."""

    call_id: str
    dialed: str
    ticket_id: int | None
    ask: bool  # the bot must still ask what the call is about
    turns: int
    started_here: bool  # no intake ran: this leg started the call, and ends it


def _find_leg(services: CallServices, *, channel_name: str, uniqueid: str, caller: str, dialed: str,
              var_call: str, var_ticket: int | None) -> Leg:
    with transaction(services.session_factory) as s:
        call = service.find_call(s, uniqueid=uniqueid)
        started_here = call is None
        if call is None:
            # The intake never ran (AGI was down), or its record is still in its journal: start the call
            # under the id intake gave it, so the journal's replay finds it instead of doubling it.
            call = service.start_call(s, channel=channel_name, uniqueid=uniqueid, caller_number=caller,
                                      dialed_number=dialed, call_id=var_call or None)
            started_here = not var_call
        ticket_id = var_ticket if var_ticket is not None else call.ticket_id
        if ticket_id is None:
            ticket_id = missed.ticket_of_call(s, call_id=call.id)
        ticket = s.get(Ticket, ticket_id) if ticket_id is not None else None
        return Leg(call_id=call.id, dialed=call.dialed_number or dialed, ticket_id=ticket.id if ticket else None,
                   ask=_needs_request(ticket), turns=len(call.recordings), started_here=started_here)


def _turns_on_disk(recordings_dir: Path, call_id: str) -> int:
    """The last turn intake recorded, from its files (01-request.wav …): the overflow's turns follow it."""
    day = datetime.now(UTC).strftime("%Y%m%d")  # the directory Dialogue records into
    try:
        names = [p.name for p in (recordings_dir / day / call_id).iterdir()]
    except OSError:
        return 0
    return max((int(n[:2]) for n in names if n[:2].isdigit()), default=0)


def run_overflow(channel: OverflowChannel, services: CallServices, *, channel_name: str, uniqueid: str,
                 caller: str, dialed: str) -> int | None:
    """Serve the overflow leg of a call; returns the ticket marked 待回拨 (None if the caller left first,
    or while the ticket waits in the journal: the database is unavailable)."""
    settings = services.settings
    queue_status = channel.get_var("HOTLINE_QUEUESTATUS") or channel.get_var("QUEUESTATUS") or ""
    var_ticket = (channel.get_var("TICKET_ID") or "").strip()
    var_call = (channel.get_var(CALL_ID_VAR) or "").strip()
    known_ticket = int(var_ticket) if var_ticket.isdigit() else None
    try:
        leg = _find_leg(services, channel_name=channel_name, uniqueid=uniqueid, caller=caller, dialed=dialed,
                        var_call=var_call, var_ticket=known_ticket)
        store = CallStore.open(services.session_factory, settings.journal_dir, call_id=leg.call_id, leg=LEG)
    except DB_UNAVAILABLE as exc:
        # The caller is served all the same; the leg's writes wait in its journal. Without the ticket's
        # state the bot asks again, unless intake told the channel the ticket it opened.
        call_id = var_call or new_id()
        leg = Leg(call_id=call_id, dialed=dialed, ticket_id=known_ticket, ask=known_ticket is None,
                  turns=_turns_on_disk(settings.recordings_dir, call_id), started_here=not var_call)
        store = CallStore.open(services.session_factory, settings.journal_dir, call_id=leg.call_id, leg=LEG)
        store.fall_back(exc)
        # Replayed only if the call is not there yet (intake's own journal may hold it).
        store.start_call(channel=channel_name, uniqueid=uniqueid, caller=caller, dialed=dialed)
    logs.bind(call_id=leg.call_id)
    state = CallState(call_id=leg.call_id, caller=caller, dialed=leg.dialed, channel_name=channel_name,
                      turn=leg.turns)
    d = Dialogue(channel, services, state, store=store)
    ticket_id, owed = leg.ticket_id, leg.ticket_id is not None
    abandoned = True
    try:
        try:
            if leg.ask:
                d.say("overflow_busy", escape_digits="")
                heard = d.listen("overflow", silence_s=settings.request_silence_s, max_s=settings.request_max_s,
                                 escape_digits="")
                ticket_id = _store_request(services, store, ticket_id=ticket_id, caller=caller, dialed=leg.dialed,
                                           text=heard.text, speech_s=heard.speech_seconds)
                owed = True
        except AgiHangup:
            # Hung up while asked: whatever was recorded is kept; the caller is still owed a call.
            if leg.ask and state.turns:
                h = state.turns[-1]
                ticket_id = _store_request(services, store, ticket_id=ticket_id, caller=caller, dialed=leg.dialed,
                                           text=h.text, speech_s=h.speech_seconds)
                owed = True
            _mark(services, store, ticket_id, queue_status, owed=owed)
            if leg.started_here:
                store.end_call(outcome=CallOutcome.HANGUP, reason="caller_hung_up")
            abandoned = False
            raise
        _mark(services, store, ticket_id, queue_status, owed=owed)
        if ticket_id is not None:
            channel.set_var("TICKET_ID", str(ticket_id))
        d.say("overflow_registered", escape_digits="")
        d.say_text(promise_text(settings.overflow_callback_minutes), escape_digits="")
        if leg.started_here:
            store.end_call(outcome=CallOutcome.DONE, reason="overflow_registered")
        abandoned = False
    finally:
        store.close(abandoned=abandoned)
        if store.degraded and store.journal_path is not None:
            replay_file(services.session_factory, store.journal_path, router=services.router)
    return ticket_id


def _store_request(services: CallServices, store: CallStore, *, ticket_id: int | None, caller: str, dialed: str,
                   text: str, speech_s: float) -> int | None:
    """Open the ticket from what the caller said now, or complete the one intake left."""
    c = services.router.classify(text, dialed_number=dialed or None) if text else None
    request = OverflowRequest(
        text=text, speech_s=speech_s, summary=c.summary if c else "", type=c.type if c else "",
        category=c.category if c else "",
        departments=[DepartmentCandidate(id=x.id, name=x.name, confidence=x.confidence)
                     for x in (c.departments if c else [])],
        place=(c.place or "") if c else "", router_source=c.source if c else "")
    return store.store_overflow_request(ticket_id=ticket_id, caller=caller, dialed=dialed, request=request)


def _mark(services: CallServices, store: CallStore, ticket_id: int | None, queue_status: str, *,
          owed: bool) -> None:
    """`owed`: the leg has a ticket to mark, in the database (`ticket_id`) or in its journal."""
    if not owed or (ticket_id is None and not store.degraded):
        return
    due = utcnow() + timedelta(minutes=services.settings.overflow_callback_minutes)
    store.mark_missed_callback(ticket_id=ticket_id, due_by=due, reason=f"queue {queue_status or 'unknown'}")
    log.info("call %s: ticket %s marked 待回拨 (queue %s)%s", store.call_id, ticket_id, queue_status,
             " in the journal" if store.degraded else "")
