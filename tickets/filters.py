"""One filter for every ticket list: the desk, exports and reports ask the same questions."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field
from sqlalchemy import Select, or_

from tickets.models import Ticket
from tickets.states import TicketStatus


class TicketFilter(BaseModel):
    status: str | None = None
    department_id: str | None = None
    type: str | None = None
    category: str | None = None
    channel: str | None = None
    caller_number: str | None = None
    call_id: str | None = None
    q: str | None = Field(default=None, max_length=200, description="text in number, summary, transcript or place")
    supervised: bool | None = Field(default=None, description="only tickets under 督办 (level ≥ 1)")
    overdue: bool | None = Field(default=None, description="open and past the resolution deadline")
    created_from: datetime | None = None
    created_to: datetime | None = None

    def apply(self, query: Select[tuple[Ticket]], *, now: datetime) -> Select[tuple[Ticket]]:
        for column, value in ((Ticket.status, self.status), (Ticket.department_id, self.department_id),
                              (Ticket.type, self.type), (Ticket.category, self.category),
                              (Ticket.channel, self.channel), (Ticket.caller_number, self.caller_number),
                              (Ticket.call_id, self.call_id)):
            if value:
                query = query.where(column == value)
        if self.q and self.q.strip():
            like = f"%{self.q.strip()}%"
            query = query.where(or_(Ticket.number.like(like), Ticket.summary.like(like),
                                    Ticket.transcript.like(like), Ticket.place.like(like)))
        if self.supervised is not None:
            query = query.where(Ticket.supervision_level >= 1 if self.supervised else Ticket.supervision_level == 0)
        if self.overdue:
            query = query.where(Ticket.status != TicketStatus.CLOSED, Ticket.resolve_by.is_not(None),
                                Ticket.resolve_by < now)
        if self.created_from:
            query = query.where(Ticket.created_at >= self.created_from)
        if self.created_to:
            query = query.where(Ticket.created_at < self.created_to)
        return query
