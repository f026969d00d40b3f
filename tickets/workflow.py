"""Applying lifecycle actions to stored tickets: the state machine (tickets.lifecycle) decides what
is legal; this module writes the new state, the dates and deadlines, and the event log entry."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from accounts.models import Unit
from deadlines.calendar import add_working_days
from deadlines.policy import Policy
from foundation.errors import InvalidInput, TicketNotFound
from routing.catalog import Catalog
from tickets.lifecycle import Action, Transition, transition
from tickets.models import Ticket
from tickets.service import add_event
from tickets.states import TicketStatus


class UnknownDepartment(InvalidInput):
    error_id = "ticket.unknown_department"


def _locked(session: Session, ticket_id: int) -> Ticket:
    # FOR UPDATE on PostgreSQL: two dispatchers acting at once are serialised, not interleaved.
    ticket = session.scalars(select(Ticket).where(Ticket.id == ticket_id).with_for_update()).one_or_none()
    if ticket is None:
        raise TicketNotFound(f"ticket {ticket_id} does not exist", ticket_id=ticket_id)
    return ticket


def _facts(session: Session, ticket: Ticket, action: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """What the state machine needs to know beyond the state, read from the database."""
    facts = dict(params)
    if action in (Action.REQUEST_EXTENSION, Action.DECIDE_EXTENSION):
        facts["extension_pending"] = ticket.extension_pending
    if action == Action.MERGE:
        primary_id = params.get("primary_id")
        primary = session.get(Ticket, primary_id) if isinstance(primary_id, int) else None
        if primary is None or primary.id == ticket.id:
            raise InvalidInput(f"no other ticket {primary_id!r} to merge into", primary_id=primary_id)
        facts["primary_state"] = primary.status
    return facts


def _target(session: Session, catalog: Catalog, code: str) -> tuple[str, str]:
    """A dispatch target: a catalog department, or a unit of the dispatch tree (a district, say)."""
    try:
        dept = catalog.get(code)
        return dept.id, dept.name
    except KeyError:
        unit = session.get(Unit, code)
        if unit is None or unit.kind not in ("department", "district"):
            raise UnknownDepartment(f"unknown department {code!r}", department_id=code) from None
        return unit.code, unit.name


def _check_assignment(session: Session, ticket: Ticket, unit_code: object) -> None:
    # 首问负责: only units below the responsible one can be handed the work.
    unit = session.get(Unit, unit_code) if isinstance(unit_code, str) else None
    if unit is None or f"/{ticket.department_id}/" not in unit.path or unit.code == ticket.department_id:
        raise InvalidInput(f"unit {unit_code!r} is not below the responsible unit {ticket.department_id!r}",
                           unit_id=unit_code, department_id=ticket.department_id)


def apply_action(session: Session, *, ticket_id: int, action: str, role: str, actor: str, now: datetime,
                 policy: Policy, catalog: Catalog, reason: str = "",
                 params: Mapping[str, Any] | None = None) -> Ticket:
    ticket = _locked(session, ticket_id)
    tr = transition(ticket.status, action, role=role, reason=reason, **_facts(session, ticket, action, params or {}))
    if "department_id" in tr.data:
        ticket.department_id, ticket.department_name = _target(session, catalog, tr.data["department_id"])
        ticket.assigned_unit = None  # a center (re)dispatch makes the new unit answerable afresh
    if tr.action == Action.ASSIGN:
        _check_assignment(session, ticket, tr.data["unit_id"])
        ticket.assigned_unit = tr.data["unit_id"]
    _apply(ticket, tr, now=now, policy=policy)
    add_event(session, ticket=ticket, actor=actor, kind=tr.event_kind, reason=tr.reason, at=now,
              data={**tr.data, "action": str(tr.action), "from": str(tr.from_state), "to": str(tr.to_state)})
    if tr.to_state == TicketStatus.CLOSED:
        _close_duplicates(session, ticket, actor=actor, now=now)
    return ticket


def _apply(ticket: Ticket, tr: Transition, *, now: datetime, policy: Policy) -> None:
    data = tr.data
    if tr.to_state == TicketStatus.DISPATCHED and tr.from_state != TicketStatus.DISPATCHED:
        # Every (re)dispatch starts the clock again: 30-minute sign-for and the resolution deadline.
        due = policy.deadlines(ticket_type=ticket.type, category=ticket.category, emergency=bool(ticket.emergency),
                               utility=policy.utility_of(ticket.transcript), dispatched_at=now)
        ticket.dispatched_at, ticket.sign_by, ticket.resolve_by, ticket.deadline_rule = (
            now, due.sign_by, due.resolve_by, due.rule)
        ticket.signed_at = None
    if tr.to_state == TicketStatus.SIGNED and tr.from_state != TicketStatus.SIGNED:
        ticket.signed_at = now
    if tr.action == Action.REQUEST_EXTENSION:
        ticket.extension_pending, ticket.extension_days = True, int(data["days"])
    if tr.action == Action.DECIDE_EXTENSION:
        ticket.extension_pending = False
        if data["approved"] and ticket.resolve_by is not None:
            ticket.resolve_by = add_working_days(ticket.resolve_by, int(data.get("days", ticket.extension_days)),
                                                 day_ends_at=policy.day_ends_at)
    if tr.action == Action.SUPERVISE:
        ticket.supervision_level = max(ticket.supervision_level, int(data["level"]))
    if tr.action == Action.MERGE:
        ticket.merged_into_id = int(data["primary_id"])
    if tr.to_state == TicketStatus.CLOSED:
        ticket.closed_at = now
        ticket.satisfaction = str(data.get("satisfaction", ""))
    if tr.action == Action.REOPEN:
        ticket.closed_at, ticket.satisfaction = None, ""
        ticket.supervision_level = max(ticket.supervision_level, 1)  # a reopened ticket is watched
    ticket.status = tr.to_state


def _close_duplicates(session: Session, primary: Ticket, *, actor: str, now: datetime) -> None:
    """并单: duplicates get the primary's answer and close with it."""
    for dup in session.scalars(select(Ticket).where(Ticket.merged_into_id == primary.id,
                                                    Ticket.status != TicketStatus.CLOSED)):
        dup.status, dup.closed_at = TicketStatus.CLOSED, now
        add_event(session, ticket=dup, actor=actor, kind="closed_with_primary", at=now,
                  data={"primary_id": primary.id, "primary_number": primary.number})
