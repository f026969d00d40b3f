"""Web form, mailbox and WeChat file through the same intake as Open311."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from accounts.roles import Role
from foundation.db import transaction
from routing.classify import Router
from tests.open311.conftest import Token
from tickets.intake import InvalidRequest, UnknownChannel, UnknownService, file_request
from tickets.models import Ticket


def _file(client: TestClient, key: str | None, **body: Any) -> Any:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return client.post("/api/requests", json=body, headers=headers)


@pytest.mark.parametrize("channel", ["web", "mailbox", "wechat"])
def test_written_channels_open_tickets(client: TestClient, token: Token, session_factory: sessionmaker[Session],
                                       channel: str) -> None:
    r = _file(client, token(Role.SYSTEM), channel=channel, text="公司拖欠我们三个月工资了，老板一直不露面",
              caller_number="13700001111", caller_name="王五", meta={"openid": "o-abc"})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["channel"] == channel and body["status"] == "accepted"
    assert body["department_id"] == "hrss" and body["category"] == "劳动和社会保障" and body["type"] == "投诉"
    assert "caller_number" not in body
    with session_factory() as s:
        t = s.get_one(Ticket, body["id"])
        assert t.channel == channel and t.caller_number == "13700001111" and t.caller_name == "王五"
        assert t.intake_meta["openid"] == "o-abc" and t.intake_meta["submitted_by"].startswith("system")
        assert t.transcript.startswith("公司拖欠") and t.router_source == "keywords"


def test_who_may_file_and_bad_input(client: TestClient, token: Token, session_factory: sessionmaker[Session]) -> None:
    assert _file(client, None, channel="web", text="路灯坏了").status_code == 401
    r = _file(client, token(Role.DEPARTMENT, "water"), channel="web", text="路灯坏了")
    assert r.status_code == 403 and r.json()["error"]["id"] == "auth.forbidden"
    operator = token(Role.OPERATOR)
    r = _file(client, operator, channel="phone", text="路灯坏了")
    assert r.status_code == 422 and r.json()["error"]["id"] == "intake.unknown_channel"
    r = _file(client, operator, channel="web", text="   ")
    assert r.status_code == 422 and r.json()["error"]["id"] == "intake.invalid"
    r = _file(client, operator, channel="web", text="路灯坏了", latitude=20.0)
    assert r.status_code == 422 and r.json()["error"]["details"]["field"] == "lat/long"
    r = _file(client, operator, channel="web", text="路灯坏了", caller_number="call me maybe")
    assert r.status_code == 422 and r.json()["error"]["details"]["field"] == "phone"
    r = _file(client, operator, channel="web", text="路灯坏了", service_code="nope")
    assert r.status_code == 404 and r.json()["error"]["id"] == "intake.unknown_service"
    r = _file(client, operator, channel="web", text="路灯坏了", media_url="javascript:alert(1)")
    assert r.status_code == 422
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(Ticket)) == 0


def test_service_code_leads_and_router_alternatives_follow(session_factory: sessionmaker[Session],
                                                         router: Router) -> None:
    with transaction(session_factory) as s:
        t = file_request(s, channel="web", text="小区路灯坏了", router=router, actor="system:web",
                         service_code="district")
        assert t.department_id == "district" and t.router_source == "service_code"
        ids = [c["id"] for c in t.department_candidates]
        assert ids[0] == "district" and "urban_mgmt" in ids and len(ids) == 3
        assert t.category == "城乡建设"  # the router's category, which the chosen department serves
        u = file_request(s, channel="mailbox", text="我想咨询一下社保怎么转移", router=router, actor="system:mail",
                         service_code="water")
        assert u.category == "城乡建设"  # the chosen department does not serve 劳动和社会保障: its own category
        fire = file_request(s, channel="wechat", text="楼下着火了，浓烟很大", router=router, actor="system:wx")
        assert fire.emergency == "fire"


def test_bad_input_raises_before_writing(session_factory: sessionmaker[Session], router: Router) -> None:
    cases: list[tuple[dict[str, Any], type[Exception]]] = [
        ({"channel": "fax"}, UnknownChannel),
        ({"text": ""}, InvalidRequest),
        ({"text": "长" * 10_001}, InvalidRequest),
        ({"longitude": 200.0, "latitude": 1.0}, InvalidRequest),
        ({"caller_email": "a@b"}, InvalidRequest),
        ({"service_code": "atlantis"}, UnknownService),
    ]
    for change, error in cases:
        args: dict[str, Any] = {"channel": "web", "text": "路灯坏了", **change}
        with pytest.raises(error), transaction(session_factory) as s:
            file_request(s, router=router, actor="test", **args)
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(Ticket)) == 0
