from __future__ import annotations

import asyncio
from collections.abc import MutableMapping
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from api.deps import SessionDep
from foundation.db import transaction
from foundation.settings import Settings
from tickets import service
from tickets.models import Ticket
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


def test_writes_commit_before_the_response_is_sent(settings: Settings,
                                                   session_factory: sessionmaker[Session]) -> None:
    """A client that got its answer must be able to read its own write (and must never be told "done"
    about a commit that then failed): the session dependency ends before the response starts."""
    app = create_app(settings, session_factory)
    order: list[str] = []

    @app.post("/test-write")
    def write(session: SessionDep) -> dict[str, int]:
        t = service.open_ticket(session, draft=TicketDraft(transcript="路灯坏了"), actor="test")
        return {"id": t.id}

    def on_commit(_session: Session) -> None:
        order.append("commit")

    event.listen(Session, "after_commit", on_commit)
    try:
        async def call() -> None:
            sent: list[dict[str, object]] = [{"type": "http.request", "body": b"", "more_body": False}]

            async def receive() -> dict[str, object]:
                return sent.pop() if sent else {"type": "http.disconnect"}

            async def send(message: MutableMapping[str, Any]) -> None:
                if message["type"] == "http.response.start":
                    order.append("response")
                    assert message["status"] == 200, message

            scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
                     "scheme": "http", "path": "/test-write", "raw_path": b"/test-write", "query_string": b"",
                     "headers": [], "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80), "root_path": ""}
            await app(scope, receive, send)

        asyncio.run(call())
    finally:
        event.remove(Session, "after_commit", on_commit)
    assert "commit" in order and order[-1] == "response", order  # every commit happened before the response
    with session_factory() as s:
        assert s.query(Ticket).count() == 1
