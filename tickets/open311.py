"""Open311 GeoReport v2 mapped onto tickets: services from the department catalog, requests from
tickets (service_request_id = ticket number, service_code = the responsible department's id).

What leaves here is public: no caller number, name, e-mail, transcript or channel extras; the
description is the ticket's summary with phone numbers, e-mail addresses and the caller's name masked."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from foundation.errors import InvalidInput
from foundation.masking import mask_name, mask_number
from routing.catalog import Catalog
from tickets.models import Ticket
from tickets.states import TicketStatus

MAX_SPAN = timedelta(days=90)  # the spec's query window
MAX_RESULTS = 1000  # the spec's default volume limit
STATUSES = ("open", "closed")

_STATUS_NOTES = {
    TicketStatus.ACCEPTED: "已受理",
    TicketStatus.DISPATCHED: "已派单，等待承办单位签收",
    TicketStatus.SIGNED: "承办单位已签收",
    TicketStatus.IN_PROGRESS: "承办单位办理中",
    TicketStatus.RESULT_REPORTED: "承办单位已反馈办理结果",
    TicketStatus.CALLBACK_PENDING: "等待回访",
    TicketStatus.CLOSED: "已办结",
    TicketStatus.RETURNED_PENDING_REVIEW: "退单审核中",
}
_EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")


class BadQuery(InvalidInput):
    error_id = "open311.bad_request"


def public_status(status: str) -> str:
    """GeoReport knows two states: closed is 办结, everything else is still open."""
    return "closed" if status == TicketStatus.CLOSED else "open"


def w3(value: datetime | None) -> str | None:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value is not None else None


def parse_w3(value: str, *, field: str) -> datetime:
    """A W3C/ISO 8601 datetime with a time zone (``2010-01-01T00:00:00Z``)."""
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise BadQuery(f"{field} must be a W3C datetime like 2010-01-01T00:00:00Z, got {value!r}",
                       field=field) from None
    if parsed.tzinfo is None:
        raise BadQuery(f"{field} needs a time zone (Z or +08:00), got {value!r}", field=field)
    return parsed.astimezone(UTC)


def redact(text: str, *, names: Sequence[str] = ()) -> str:
    """Personal details out of free text: phone-like digit runs, e-mail addresses, known names."""
    out = mask_number(text)
    out = _EMAIL_RE.sub("***@***", out)
    for name in names:
        if len(name.strip()) >= 2:
            out = out.replace(name.strip(), mask_name(name))
    return out


def services(catalog: Catalog) -> list[dict[str, Any]]:
    return [
        {
            "service_code": d.id,
            "service_name": d.name,
            "description": d.duties,
            "metadata": False,
            "type": "realtime",
            "keywords": ", ".join(dict.fromkeys(w for words in d.keywords.values() for w in words[:8])),
            "group": d.primary_category,
        }
        for d in catalog.departments
    ]


def request_view(ticket: Ticket) -> dict[str, Any]:
    """One ticket as a GeoReport service request: the public fields only."""
    closed = ticket.status == TicketStatus.CLOSED
    notes = _STATUS_NOTES.get(TicketStatus(ticket.status), ticket.status) if ticket.status else ""
    if ticket.merged_into_id is not None:
        notes += "（并单处理）"
    # Open311 reads are public: a place is published only when its submitter filed it through
    # Open311 themselves; a phone caller's place may be their home.
    public_place = ticket.channel == "open311"
    return {
        "service_request_id": ticket.number,
        "status": public_status(ticket.status),
        "status_notes": notes,
        "service_name": ticket.department_name or None,
        "service_code": ticket.department_id or None,
        "description": redact(ticket.summary, names=[ticket.caller_name]) or None,
        "agency_responsible": ticket.department_name or None,
        "service_notice": None,
        "requested_datetime": w3(ticket.created_at),
        "updated_datetime": w3(ticket.closed_at if closed and ticket.closed_at else ticket.updated_at),
        "expected_datetime": w3(ticket.resolve_by),
        "address": (ticket.place or None) if public_place else None,
        "address_id": None,
        "zipcode": None,
        "lat": ticket.latitude if public_place else None,
        "long": ticket.longitude if public_place else None,
        "media_url": (ticket.media_url or None) if public_place else None,
    }


@dataclass(frozen=True)
class RequestQuery:
    """GET requests.json arguments, validated."""

    numbers: tuple[str, ...] = ()
    service_codes: tuple[str, ...] = ()
    start: datetime | None = None
    end: datetime | None = None
    statuses: tuple[str, ...] = ()

    @classmethod
    def parse(cls, *, service_request_id: str | None = None, service_code: str | None = None,
              start_date: str | None = None, end_date: str | None = None, status: str | None = None,
              now: datetime) -> RequestQuery:
        """An empty parameter counts as absent (the spec's rule for optional arguments)."""
        numbers = _csv(service_request_id)
        if numbers:  # "this overrides all other arguments"
            if len(numbers) > MAX_RESULTS:
                raise BadQuery(f"at most {MAX_RESULTS} service_request_id values at once")
            return cls(numbers=numbers)
        statuses = _csv(status)
        wrong = [s for s in statuses if s not in STATUSES]
        if wrong:
            raise BadQuery(f"status must be open or closed, got {', '.join(wrong)}", field="status")
        start = parse_w3(start_date, field="start_date") if start_date else None
        end = parse_w3(end_date, field="end_date") if end_date else None
        if start is None and end is None:
            end = now
        if start is None:
            assert end is not None
            start = end - MAX_SPAN
        if end is None:
            end = start + MAX_SPAN
        if start > end:
            raise BadQuery("start_date is after end_date", field="start_date")
        if end - start > MAX_SPAN:
            raise BadQuery("start_date to end_date may not span more than 90 days", field="end_date")
        return cls(service_codes=_csv(service_code), start=start, end=end, statuses=tuple(dict.fromkeys(statuses)))


def _csv(value: str | None) -> tuple[str, ...]:
    return tuple(v.strip() for v in (value or "").split(",") if v.strip())


def find_requests(session: Session, *, query: RequestQuery) -> list[Ticket]:
    """Newest first, at most MAX_RESULTS."""
    stmt = select(Ticket)
    if query.numbers:
        stmt = stmt.where(Ticket.number.in_(query.numbers))
    else:
        if query.service_codes:
            stmt = stmt.where(Ticket.department_id.in_(query.service_codes))
        if query.start is not None:
            stmt = stmt.where(Ticket.created_at >= query.start)
        if query.end is not None:
            stmt = stmt.where(Ticket.created_at <= query.end)
        if set(query.statuses) == {"closed"}:
            stmt = stmt.where(Ticket.status == TicketStatus.CLOSED)
        elif set(query.statuses) == {"open"}:
            stmt = stmt.where(Ticket.status != TicketStatus.CLOSED)
    return list(session.scalars(stmt.order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(MAX_RESULTS)))


def find_request(session: Session, *, number: str) -> Ticket | None:
    return session.scalars(select(Ticket).where(Ticket.number == number)).first()
