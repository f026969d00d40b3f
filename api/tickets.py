"""Ticket views."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import SessionDep
from tickets import service
from tickets.schemas import TicketDetail, TicketList, TicketRead

router = APIRouter(prefix="/api/tickets", tags=["tickets"])


@router.get("", response_model=TicketList)
def list_tickets(
    session: SessionDep,
    status: str | None = None,
    caller_number: str | None = None,
    call_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> TicketList:
    items, total = service.list_tickets(session, status=status, caller_number=caller_number,
                                        call_id=call_id, limit=limit, offset=offset)
    return TicketList(items=[TicketRead.model_validate(t) for t in items], total=total,
                      limit=limit, offset=offset)


@router.get("/{ticket_id}", response_model=TicketDetail)
def get_ticket(session: SessionDep, ticket_id: int) -> TicketDetail:
    return TicketDetail.model_validate(service.get_ticket(session, ticket_id=ticket_id))
