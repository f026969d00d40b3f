"""Operator desk services: pickups, screen pops, the one-click confirm, 待回拨 callbacks.

Keyword-only functions taking the session first; callers own the transaction."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from console.follower import Pickup
from console.models import OperatorPickup
from console.schemas import (
    ConfirmForm,
    ConfirmResult,
    EarlierTicket,
    KbMatch,
    RecordingLink,
    ScreenPop,
)
from deadlines.policy import Policy
from foundation.db import utcnow
from foundation.errors import InvalidInput, NotFound
from knowledge import service as kb
from routing.catalog import CATEGORIES, Catalog
from routing.models import RoutingCorrection
from routing.types import TYPES
from tickets import service as tickets
from tickets.lifecycle import Action
from tickets.models import Recording, Ticket
from tickets.schemas import TicketDraft, TicketRead
from tickets.workflow import apply_action

EARLIER_LIMIT = 10
KB_LIMIT = 3
CURRENT_POP_WINDOW = timedelta(hours=1)


class InvalidCorrection(InvalidInput):
    error_id = "console.invalid_form"


class RecordingNotFound(NotFound):
    error_id = "console.recording_not_found"


def record_pickup(session: Session, *, pickup: Pickup) -> OperatorPickup:
    """Store the pickup once; a second follower (another API worker) seeing the same event gets the row."""
    existing = _pickup(session, pickup.caller_uniqueid, pickup.station)
    if existing is not None:
        return existing
    ticket_id = pickup.ticket_id
    if ticket_id is not None and session.get(Ticket, ticket_id) is None:
        ticket_id = None  # a TICKET_ID from another installation / a stale variable: pop without it
    row = OperatorPickup(station=pickup.station, ticket_id=ticket_id, caller_uniqueid=pickup.caller_uniqueid,
                         caller_number=pickup.caller_number[:32], queue=pickup.queue, hold_seconds=pickup.hold_seconds,
                         picked_up_at=datetime.fromtimestamp(pickup.at, UTC))
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        found = _pickup(session, pickup.caller_uniqueid, pickup.station)
        assert found is not None
        return found
    if ticket_id is not None:
        tickets.add_event(session, ticket=session.get_one(Ticket, ticket_id), actor=f"operator:{pickup.station}",
                          kind="operator_pickup", data={"station": pickup.station, "hold_seconds": pickup.hold_seconds,
                                                         "queue": pickup.queue})
    return row


def _pickup(session: Session, uniqueid: str, station: str) -> OperatorPickup | None:
    return session.scalars(select(OperatorPickup).where(OperatorPickup.caller_uniqueid == uniqueid,
                                                        OperatorPickup.station == station)).first()


def record_call_end(session: Session, *, station: str, caller_uniqueid: str, at: float) -> None:
    row = _pickup(session, caller_uniqueid, station)
    if row is not None and row.ended_at is None:
        row.ended_at = datetime.fromtimestamp(at, UTC)


def screen_pop(session: Session, *, station: str, pickup_id: int | None, ticket_id: int | None,
               picked_up_at: float, hold_seconds: int = 0, caller_uniqueid: str = "",
               caller_number: str = "") -> ScreenPop:
    """The pre-filled ticket, its recordings, the caller's earlier tickets and matching answers."""
    ticket = tickets.get_ticket(session, ticket_id=ticket_id) if ticket_id is not None else None
    number = ticket.caller_number if ticket is not None else caller_number
    earlier: list[Ticket] = []
    if number:
        query = select(Ticket).where(Ticket.caller_number == number)
        if ticket is not None:
            query = query.where(Ticket.id != ticket.id)
        earlier = list(session.scalars(query.order_by(Ticket.id.desc()).limit(EARLIER_LIMIT)))
    kb_hits = []
    if ticket is not None and (ticket.transcript or ticket.summary):
        kb_hits = kb.search(session, query=f"{ticket.summary} {ticket.transcript}", limit=KB_LIMIT,
                            department_id=ticket.department_id or None)
    return ScreenPop(
        station=station, pickup_id=pickup_id, picked_up_at=picked_up_at, hold_seconds=hold_seconds,
        caller_uniqueid=caller_uniqueid, caller_number=number,
        ticket=TicketRead.model_validate(ticket) if ticket is not None else None,
        recordings=[RecordingLink(id=r.id, turn=r.turn, purpose=r.purpose, audio_seconds=r.audio_seconds,
                                  transcript=r.transcript, url=f"/api/console/recordings/{r.id}")
                    for r in (ticket.recordings if ticket is not None else [])],
        earlier=[EarlierTicket.model_validate(t) for t in earlier],
        kb=[KbMatch(id=e.id, title=e.title, answer=e.answer, department_id=e.department_id, score=h.score,
                    matched=list(h.matched)) for e, h in kb_hits],
        missed_callback=bool(ticket is not None and ticket.missed_callback),
    )


def pop_for_pickup(session: Session, *, row: OperatorPickup, caller_number: str = "") -> ScreenPop:
    pop = screen_pop(session, station=row.station, pickup_id=row.id, ticket_id=row.ticket_id,
                     picked_up_at=row.picked_up_at.timestamp(), hold_seconds=row.hold_seconds,
                     caller_uniqueid=row.caller_uniqueid, caller_number=caller_number or row.caller_number)
    # A page that (re)connects after the caller hung up must not show the call as still going.
    pop.call_ended = row.ended_at is not None
    return pop


def current_pop(session: Session, *, station: str, now: datetime | None = None) -> ScreenPop | None:
    """The station's latest pickup not yet confirmed (recent): what a page opened late must show."""
    since = (now or utcnow()) - CURRENT_POP_WINDOW
    row = session.scalars(
        select(OperatorPickup).where(OperatorPickup.station == station, OperatorPickup.handled.is_(False),
                                     OperatorPickup.picked_up_at >= since)
        .order_by(OperatorPickup.picked_up_at.desc(), OperatorPickup.id.desc())).first()
    return pop_for_pickup(session, row=row) if row is not None else None


def recording_path(session: Session, *, recording_id: int) -> tuple[Recording, str]:
    rec = session.get(Recording, recording_id)
    if rec is None or not rec.path:
        raise RecordingNotFound(f"recording {recording_id} does not exist", recording_id=recording_id)
    path = rec.path if rec.path.endswith(".wav") else f"{rec.path}.wav"
    return rec, path


def _validate(form: ConfirmForm, catalog: Catalog) -> None:
    if form.type not in TYPES:
        raise InvalidCorrection(f"type must be one of {', '.join(TYPES)}", field="type")
    if form.category not in CATEGORIES:
        raise InvalidCorrection(f"category must be one of {', '.join(CATEGORIES)}", field="category")
    try:
        catalog.get(form.department_id)
    except KeyError:
        raise InvalidCorrection(f"unknown department {form.department_id!r}", field="department_id") from None
    if not form.transcript.strip():
        raise InvalidCorrection("the transcript must not be empty", field="transcript")


def confirm(session: Session, *, ticket_id: int | None, form: ConfirmForm, role: str, actor: str,
            policy: Policy, catalog: Catalog, now: datetime | None = None) -> ConfirmResult:
    """Store the operator's corrections, a router training row, then dispatch (派单) or close as
    即办件 — all in the caller's transaction, so a refused transition stores nothing."""
    _validate(form, catalog)
    now = now or utcnow()
    if ticket_id is None:
        ticket = tickets.open_ticket(session, actor=actor, draft=TicketDraft(
            caller_number=form.caller_number, transcript=form.transcript.strip(), summary=form.summary.strip(),
            type=form.type, category=form.category, place=form.place.strip(), router_source="operator"))
        original = ("", "", "", "")
    else:
        ticket = tickets.get_ticket(session, ticket_id=ticket_id)
        original = (ticket.transcript, ticket.type, ticket.category, ticket.department_id)
    corrected = (form.transcript.strip(), form.type, form.category, form.department_id)
    changed = original[1:] != corrected[1:] or original[0] != corrected[0]
    diff = {name: {"from": a, "to": b} for name, a, b in
            zip(("transcript", "type", "category", "department_id"), original, corrected, strict=True) if a != b}
    ticket.transcript, ticket.type, ticket.category = corrected[0], form.type, form.category
    ticket.summary = form.summary.strip() or ticket.summary
    ticket.place = form.place.strip() or ticket.place
    dept = catalog.get(form.department_id)
    ticket.department_id, ticket.department_name = dept.id, dept.name
    tickets.add_event(session, ticket=ticket, actor=actor, kind="operator_confirmed", reason=form.note.strip(),
                      data={"changed": changed, "diff": diff, "action": form.action})
    correction = RoutingCorrection(
        ticket_id=ticket.id, actor=actor, text=corrected[0], original_text=original[0],
        original_type=original[1], type=form.type, original_category=original[2], category=form.category,
        original_department_id=original[3], department_id=form.department_id,
        router_source=ticket.router_source, changed=changed)
    session.add(correction)
    if ticket.missed_callback:
        ticket.missed_callback = False
        tickets.add_event(session, ticket=ticket, actor=actor, kind="called_back")
    if form.action == "dispatch":
        apply_action(session, ticket_id=ticket.id, action=Action.DISPATCH, role=role, actor=actor, now=now,
                     policy=policy, catalog=catalog, reason=form.note.strip(),
                     params={"department_id": form.department_id})
    else:
        reason = form.note.strip()
        if form.kb_entry_id is not None:
            entry = kb.get_entry(session, entry_id=form.kb_entry_id)
            reason = reason or f"即办件：已按知识库《{entry.title}》当场答复"
        apply_action(session, ticket_id=ticket.id, action=Action.CLOSE_ON_CALL, role=role, actor=actor, now=now,
                     policy=policy, catalog=catalog, reason=reason or "即办件：当场答复")
    session.execute(update(OperatorPickup).where(OperatorPickup.ticket_id == ticket.id).values(handled=True))
    if form.caller_uniqueid:
        session.execute(update(OperatorPickup).where(OperatorPickup.caller_uniqueid == form.caller_uniqueid)
                        .values(handled=True, ticket_id=ticket.id))
    session.flush()
    return ConfirmResult(ticket_id=ticket.id, number=ticket.number, status=ticket.status,
                         department_id=ticket.department_id, changed=changed, correction_id=correction.id)


# --- 待回拨: calls nobody answered in time (marked by console.missed) -----------------------------


def pending_callbacks(session: Session, *, limit: int = 100) -> list[Ticket]:
    """Tickets owed a call back, most urgent first."""
    return list(session.scalars(select(Ticket).where(Ticket.missed_callback.is_(True))
                                .order_by(Ticket.callback_due_by.asc(), Ticket.id.asc()).limit(limit)))


def mark_called_back(session: Session, *, ticket_id: int, actor: str, note: str = "") -> Ticket:
    ticket = tickets.get_ticket(session, ticket_id=ticket_id)
    if not ticket.missed_callback:
        raise InvalidInput(f"ticket {ticket.number} is not waiting for a call back", ticket_id=ticket_id)
    ticket.missed_callback = False
    tickets.add_event(session, ticket=ticket, actor=actor, kind="called_back", reason=note.strip())
    return ticket
