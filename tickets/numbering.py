"""Human-readable ticket numbers: YYMMDD + a 5-digit daily sequence (peak days pass 10,000)."""

from __future__ import annotations

import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import insert, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tickets.models import TicketCounter

CHINA = ZoneInfo("Asia/Shanghai")


def provisional_number() -> str:
    """A unique placeholder a ticket row carries until its number is taken, within the same transaction."""
    return f"~{uuid.uuid4().hex[:19]}"


def next_number(session: Session, *, now: datetime) -> str:
    day = now.astimezone(CHINA).strftime("%y%m%d")
    for _ in range(3):
        value = session.execute(
            update(TicketCounter).where(TicketCounter.day == day)
            .values(value=TicketCounter.value + 1).returning(TicketCounter.value)
        ).scalar_one_or_none()
        if value is not None:
            return f"{day}{value:05d}"
        try:
            with session.begin_nested():
                session.execute(insert(TicketCounter).values(day=day, value=0))
        except IntegrityError:
            pass  # another process created today's counter first
    raise RuntimeError(f"could not allocate a ticket number for {day}")
