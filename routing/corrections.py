"""People's routing decisions as labelled data for the router: `load(session)` is the one reader.

Sources, in the order they are read (for one ticket and one field the latest decision wins):

1. ``routing_corrections`` (console.models.RoutingCorrection): written by the operator console on each
   confirm & dispatch, with the router's proposal (``original_*``) and the operator's choice for type,
   category and department, and the transcript as the operator corrected it.
2. The ticket event log (tickets.workflow), for what happens after the console:
   - ``dispatched``: the department a person dispatched to, against the router's proposal stored in the
     ``accepted`` event when the router pre-filled the ticket (``router_source`` set);
   - ``return_reviewed`` with decision ``redispatch`` (退单 upheld, 改派): the department that took it over
     is the right one and the one that returned it was wrong;
   - ``reopened`` with a department (dissatisfied caller, re-dispatched elsewhere).
3. The ticket row itself: a type or category that differs from the router's proposal in the
   ``accepted`` event was edited by a person (a screen that edits tickets without writing source 1).

Every record says whether the person changed the proposal (`Correction.changed`): training weights
corrections above agreements, and recent decisions above old ones (routing.learn).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from tickets.models import Ticket, TicketEvent

FIELDS = ("type", "category", "department")


@dataclass(frozen=True)
class Correction:
    ticket_id: int
    at: datetime
    text: str  # what the caller asked (transcript, as corrected when the console corrected it)
    field: str  # 'type', 'category' or 'department' (a department id)
    original: str  # the router's proposal (or the department the ticket was on); '' when unknown
    value: str  # what a person decided
    source: str  # 'console', 'dispatch', 'redispatch', 'reopen' or 'ticket_edit'

    @property
    def changed(self) -> bool:
        return bool(self.original) and self.original != self.value


def load(session: Session, *, since: datetime | None = None) -> list[Correction]:
    """Every person's decision on type, category and department, one per (ticket, field), oldest first.

    Tickets without any text are skipped: there is nothing to learn from."""
    latest: dict[tuple[int, str], Correction] = {}

    def keep(records: Iterable[Correction]) -> None:
        for c in records:
            if not c.text.strip() or not c.value:
                continue
            if since is not None and c.at < since:
                continue
            key = (c.ticket_id, c.field)
            if key not in latest or c.at >= latest[key].at:
                latest[key] = c

    keep(_from_console(session))
    keep(_from_events(session))
    return sorted(latest.values(), key=lambda c: (c.at, c.ticket_id, FIELDS.index(c.field)))


def _from_console(session: Session) -> Iterable[Correction]:
    # Imported here: the console package owns the table; routing only reads it.
    from console.models import RoutingCorrection

    rows = session.execute(
        select(RoutingCorrection, Ticket.transcript).join(Ticket, Ticket.id == RoutingCorrection.ticket_id)
        .order_by(RoutingCorrection.id)
    )
    for row, transcript in rows:
        text = row.text or transcript or ""
        for field, original, value in (
            ("type", row.original_type, row.type),
            ("category", row.original_category, row.category),
            ("department", row.original_department_id, row.department_id),
        ):
            yield Correction(row.ticket_id, row.created_at, text, field, original or "", value or "", "console")


def _from_events(session: Session) -> Iterable[Correction]:
    tickets = session.scalars(
        select(Ticket)
        .where(Ticket.id.in_(select(TicketEvent.ticket_id).where(
            TicketEvent.kind.in_(("dispatched", "return_reviewed", "reopened")))) | (Ticket.router_source != ""))
        .options(selectinload(Ticket.events))
        .order_by(Ticket.id)
    )
    for ticket in tickets:
        yield from _ticket_decisions(ticket)


def _ticket_decisions(ticket: Ticket) -> Iterable[Correction]:
    text = ticket.transcript or ticket.summary or ""
    proposal: dict[str, Any] = {}
    for ev in ticket.events:
        if ev.kind == "accepted":
            proposal = dict(ev.data or {})
            break
    prefilled = bool(ticket.router_source)
    current = str(proposal.get("department_id") or "") if prefilled else ""
    for ev in ticket.events:
        data = ev.data or {}
        dept = str(data.get("department_id") or "")
        if not dept:
            continue
        if ev.kind == "dispatched":  # without a router proposal (original '') it is still a person's label
            yield Correction(ticket.id, ev.at, text, "department", current, dept, "dispatch")
        elif ev.kind == "return_reviewed" and data.get("decision") == "redispatch":
            yield Correction(ticket.id, ev.at, text, "department", current, dept, "redispatch")
        elif ev.kind == "reopened" and dept != current:
            yield Correction(ticket.id, ev.at, text, "department", current, dept, "reopen")
        else:
            continue
        current = dept
    if prefilled:
        for field in ("type", "category"):
            proposed, now = str(proposal.get(field) or ""), str(getattr(ticket, field) or "")
            if proposed and now and proposed != now:
                yield Correction(ticket.id, ticket.updated_at, text, field, proposed, now, "ticket_edit")
