"""Who sees which tickets, and how much of them: department isolation and masking, in one place."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, false, or_, true

from accounts.errors import AccessDenied
from accounts.principal import Principal
from foundation.masking import mask_phone
from tickets.models import Ticket


def visible(principal: Principal) -> ColumnElement[bool]:
    """SQL condition: the tickets `principal` may see. The center and anonymous viewers see all
    (anonymous ones masked); a department sees tickets it answers for (首问负责) or was handed (下派)."""
    if principal.is_center or principal.anonymous:
        return true()
    if not principal.units:
        return false()
    units = sorted(principal.units)
    return or_(Ticket.department_id.in_(units), Ticket.assigned_unit.in_(units))


def can_see(principal: Principal, ticket: Ticket) -> bool:
    if principal.is_center or principal.anonymous:
        return True
    return ticket.department_id in principal.units or (ticket.assigned_unit or "") in principal.units


def require_visible(principal: Principal, ticket: Ticket) -> None:
    # 404-like wording would hide existence; the center's own staff need the real reason, departments
    # only learn that the ticket is not theirs.
    if not can_see(principal, ticket):
        raise AccessDenied(f"ticket {ticket.id} belongs to another unit", ticket_id=ticket.id)


def require_can_act(principal: Principal, ticket: Ticket, action: str) -> None:
    if principal.anonymous:
        raise AccessDenied("anonymous viewers cannot change tickets")
    require_visible(principal, ticket)
    # 首问负责: only the responsible unit itself may return a ticket to the center.
    if action == "return" and principal.department != ticket.department_id:
        raise AccessDenied("only the responsible unit may return this ticket", ticket_id=ticket.id)


def masked(principal: Principal, data: dict[str, Any]) -> dict[str, Any]:
    """The ticket as this principal may read it: numbers whole only for the center."""
    if principal.sees_full_numbers:
        return data
    out = dict(data)
    for key in ("caller_number",):
        if out.get(key):
            out[key] = mask_phone(str(out[key]))
    return out
