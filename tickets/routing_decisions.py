"""People's routing decisions read from the tickets (console confirmations, dispatches, 改派, reopens,
edits) for the router to learn from. The tickets domain reads its own tables and routing's
``routing_corrections``; routing.corrections holds the records and the rule that merges them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, selectinload

from foundation.db import open_database
from routing.corrections import Correction, latest_decisions
from routing.data import DataError
from routing.models import RoutingCorrection
from tickets.models import Ticket, TicketEvent


def load(session: Session, *, since: datetime | None = None) -> list[Correction]:
    """Every person's decision on type, category and department, one per (ticket, field), oldest first:
    the console's record first, then what the event log and the ticket row tell."""
    return latest_decisions((_from_console(session), _from_events(session)), since=since)


def read_decisions(db_url: str) -> list[Correction]:
    """`load` on the database at db_url (`hotline router train --from-tickets`)."""
    db = open_database(db_url)
    try:
        with db.session_factory() as session:
            return load(session)
    except SQLAlchemyError as e:
        reason = getattr(e, "orig", None) or e
        raise DataError(f"cannot read tickets from the database (is it set up? `hotline setup`): {reason}") from None
    finally:
        db.engine.dispose()


def _from_console(session: Session) -> Iterable[Correction]:
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
