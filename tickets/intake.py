"""One intake for every written channel (Open311, web form, mailbox, WeChat): validate what the
citizen gave, classify the text with the router unless a service (department) was chosen, and open
the ticket in 受理 with its channel recorded. Phone intake (ivr_flows) opens tickets itself."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from foundation.errors import InvalidInput, NotFound
from routing.classify import Router
from tickets.models import Ticket
from tickets.schemas import DepartmentCandidate, TicketDraft
from tickets.service import open_ticket

CHANNELS = ("phone", "open311", "web", "mailbox", "wechat")
MAX_TEXT = 10_000  # a long letter fits; a pasted book does not
_PHONE_RE = re.compile(r"^\+?\d{3,20}$")
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_URL_RE = re.compile(r"^https?://\S+$")


class InvalidRequest(InvalidInput):
    error_id = "intake.invalid"


class UnknownChannel(InvalidInput):
    error_id = "intake.unknown_channel"


class UnknownService(NotFound):
    error_id = "intake.unknown_service"


def _clean(value: str | None, *, field: str, limit: int) -> str:
    text = (value or "").strip()
    if len(text) > limit:
        raise InvalidRequest(f"{field} is longer than {limit} characters", field=field)
    return text


def _coordinates(latitude: float | None, longitude: float | None) -> tuple[float | None, float | None]:
    if latitude is None and longitude is None:
        return None, None
    if latitude is None or longitude is None:
        raise InvalidRequest("lat and long go together: send both or neither", field="lat/long")
    if not (math.isfinite(latitude) and -90 <= latitude <= 90):
        raise InvalidRequest(f"lat must be a number from -90 to 90, got {latitude!r}", field="lat")
    if not (math.isfinite(longitude) and -180 <= longitude <= 180):
        raise InvalidRequest(f"long must be a number from -180 to 180, got {longitude!r}", field="long")
    return latitude, longitude


def _phone(number: str | None) -> str:
    digits = re.sub(r"[\s\-()]", "", number or "")
    if digits and not _PHONE_RE.match(digits):
        raise InvalidRequest("the phone number must be 3 to 20 digits (an optional leading +)", field="phone")
    return digits


def file_request(session: Session, *, channel: str, text: str, router: Router, actor: str,
                 caller_number: str | None = None, caller_name: str | None = None,
                 caller_email: str | None = None, place: str | None = None, latitude: float | None = None,
                 longitude: float | None = None, service_code: str | None = None, media_url: str | None = None,
                 meta: Mapping[str, Any] | None = None) -> Ticket:
    """Open a ticket in 受理 from a written request. Raises InvalidRequest / UnknownChannel /
    UnknownService before anything is written, so bad input never leaves half a ticket."""
    if channel not in CHANNELS:
        raise UnknownChannel(f"unknown channel {channel!r}; known: {', '.join(CHANNELS)}", channel=channel)
    body = _clean(text, field="text", limit=MAX_TEXT)
    if not body:
        raise InvalidRequest("the request text (description) is empty", field="text")
    lat, long = _coordinates(latitude, longitude)
    email = _clean(caller_email, field="email", limit=128)
    if email and not _EMAIL_RE.match(email):
        raise InvalidRequest(f"not an e-mail address: {email!r}", field="email")
    url = _clean(media_url, field="media_url", limit=2000)
    if url and not _URL_RE.match(url):
        raise InvalidRequest("media_url must be an http(s) URL", field="media_url")
    number = _phone(caller_number)
    name = _clean(caller_name, field="name", limit=64)
    where = _clean(place, field="address", limit=500)

    found = router.classify(body)
    candidates = [DepartmentCandidate(id=d.id, name=d.name, confidence=d.confidence) for d in found.departments]
    category, source = found.category, found.source
    code = (service_code or "").strip()
    if code:
        try:
            chosen = router.catalog.get(code)
        except KeyError:
            raise UnknownService(f"service_code {code!r} not found (see services.json)", service_code=code) from None
        # The citizen chose the service: that department leads; the router's picks stay as alternatives.
        candidates = [DepartmentCandidate(id=chosen.id, name=chosen.name, confidence=1.0),
                      *[c for c in candidates if c.id != chosen.id]][:3]
        if category not in chosen.categories:
            category = chosen.primary_category
        source = "service_code"

    draft = TicketDraft(channel=channel, caller_number=number, transcript=body, summary=found.summary,
                        type=found.type, category=category, departments=candidates,
                        place=where or found.place or "", emergency=found.emergency or "",
                        router_source=source)
    ticket = open_ticket(session, draft=draft, actor=actor)
    ticket.caller_name, ticket.caller_email, ticket.media_url = name, email, url
    ticket.latitude, ticket.longitude = lat, long
    ticket.intake_meta = dict(meta or {})
    session.flush()
    return ticket
