from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from hotline.db import transaction
from hotline.settings import Settings
from tickets import service
from tickets.schemas import TicketDraft


def _client(settings: Settings, factory: sessionmaker[Session]) -> TestClient:
    return TestClient(create_app(settings, factory))


def test_list_and_get(settings: Settings, session_factory: sessionmaker[Session]) -> None:
    with transaction(session_factory) as s:
        a = service.open_ticket(s, draft=TicketDraft(transcript="路灯坏了", caller_number="13800138000"),
                                actor="ivr").id
        service.open_ticket(s, draft=TicketDraft(transcript="拖欠工资", caller_number="13900139000"), actor="ivr")
    c = _client(settings, session_factory)
    r = c.get("/api/tickets")
    assert r.status_code == 200
    body = r.json()
    assert body["total"] == 2 and [t["transcript"] for t in body["items"]] == ["拖欠工资", "路灯坏了"]
    r = c.get("/api/tickets", params={"caller_number": "13800138000"})
    assert [t["id"] for t in r.json()["items"]] == [a]
    r = c.get(f"/api/tickets/{a}")
    assert r.status_code == 200
    assert r.json()["events"][0]["kind"] == "accepted"


def test_errors_have_stable_ids(settings: Settings, session_factory: sessionmaker[Session]) -> None:
    c = _client(settings, session_factory)
    r = c.get("/api/tickets/424242")
    assert r.status_code == 404
    assert r.json()["error"]["id"] == "ticket.not_found"
    assert c.get("/api/tickets/abc").status_code == 422
    assert c.get("/api/tickets", params={"limit": 0}).status_code == 422


def test_health_and_openapi(settings: Settings, session_factory: sessionmaker[Session]) -> None:
    c = _client(settings, session_factory)
    assert c.get("/health").json()["status"] == "ok"
    paths = c.get("/openapi.json").json()["paths"]
    assert "/api/tickets" in paths and "/api/tickets/{ticket_id}" in paths
