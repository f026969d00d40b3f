"""Open311 GeoReport v2 over tickets: round trip, status mapping, filters, errors, no personal data."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from xml.etree import ElementTree

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from accounts.roles import Role
from deadlines.policy import Policy
from foundation.db import transaction, utcnow
from foundation.settings import Settings
from routing.catalog import CATEGORIES, load_catalog
from tests.open311.conftest import Token
from tickets import open311, service
from tickets.models import Ticket
from tickets.schemas import TicketDraft
from tickets.workflow import apply_action

BASE = "/open311/v2"
PERSONAL = ("13812345678", "张三丰", "zsf@example.com", "dev-42", "acct-7")


def _post(client: TestClient, key: str | None, **fields: Any) -> Any:
    data = {"api_key": key, **fields} if key else dict(fields)
    return client.post(f"{BASE}/requests.json", data=data)


def _sample(**extra: Any) -> dict[str, Any]:
    return {"description": "我们小区门口的路灯坏了一个多星期，晚上很黑，联系电话13812345678",
            "lat": "20.0301", "long": "110.3312", "address_string": "海口市龙华区金贸街道滨海大道88号",
            "phone": "138-1234-5678", "first_name": "三丰", "last_name": "张", "email": "zsf@example.com",
            "device_id": "dev-42", "account_id": "acct-7", "attribute[LIGHTS]": "2", **extra}


def _act(factory: sessionmaker[Session], ticket_id: int, action: str, role: Role, reason: str = "",
         **params: Any) -> None:
    with transaction(factory) as s:
        apply_action(s, ticket_id=ticket_id, action=action, role=str(role), actor=f"{role}:test", now=utcnow(),
                     policy=Policy.load(), catalog=load_catalog(), reason=reason, params=params)


def test_services_come_from_the_catalog(client: TestClient) -> None:
    r = client.get(f"{BASE}/services.json")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    services = r.json()
    catalog = load_catalog()
    assert [s["service_code"] for s in services] == [d.id for d in catalog.departments]
    water = next(s for s in services if s["service_code"] == "water")
    assert water["service_name"] == catalog.get("water").name
    assert water["type"] == "realtime" and water["metadata"] is False
    assert all(s["group"] in CATEGORIES for s in services)
    root = ElementTree.fromstring(client.get(f"{BASE}/services.xml").content)
    assert root.tag == "services" and len(root.findall("service")) == len(services)
    assert root.find("service/service_code") is not None


def test_round_trip_post_get_list_and_close(client: TestClient, token: Token,
                                            session_factory: sessionmaker[Session]) -> None:
    r = _post(client, token(Role.OPERATOR), **_sample())
    assert r.status_code == 200, r.text
    [created] = r.json()
    number = created["service_request_id"]
    assert number in created["service_notice"] and created["account_id"] == "acct-7"

    with session_factory() as s:
        ticket = s.scalars(select(Ticket).where(Ticket.number == number)).one()
        ticket_id = ticket.id
        # Everything the client sent is kept, personal data included (it is ours to protect, not to lose).
        assert ticket.channel == "open311" and ticket.status == "accepted"
        assert ticket.caller_number == "13812345678" and ticket.caller_name == "张三丰"
        assert ticket.caller_email == "zsf@example.com"
        assert (ticket.latitude, ticket.longitude) == (20.0301, 110.3312)
        assert ticket.place == "海口市龙华区金贸街道滨海大道88号"
        assert ticket.intake_meta["attributes"] == {"LIGHTS": "2"}
        assert ticket.intake_meta["device_id"] == "dev-42" and ticket.intake_meta["account_id"] == "acct-7"
        assert ticket.department_id == "urban_mgmt"  # the router read 路灯
        assert ticket.events[0].actor.startswith("operator:")

    r = client.get(f"{BASE}/requests/{number}.json")
    assert r.status_code == 200
    [one] = r.json()
    assert one["service_request_id"] == number and one["status"] == "open"
    assert one["service_code"] == "urban_mgmt" and one["agency_responsible"] == "市城市管理和综合执法局"
    assert (one["lat"], one["long"]) == (20.0301, 110.3312)
    assert one["address"] == "海口市龙华区金贸街道滨海大道88号"
    assert "路灯" in one["description"] and "138****5678" in one["description"]
    assert one["requested_datetime"].endswith("Z") and one["expected_datetime"] is None
    listed = client.get(f"{BASE}/requests.json").json()
    assert number in [x["service_request_id"] for x in listed]
    assert number not in [x["service_request_id"] for x in client.get(f"{BASE}/requests.json",
                                                                      params={"status": "closed"}).json()]
    for text in (r.text, client.get(f"{BASE}/requests.json").text,
                 client.get(f"{BASE}/requests/{number}.xml").text):
        assert not [p for p in PERSONAL if p in text]

    # Through the workflow to 办结: dispatched gives a deadline, closed maps to "closed".
    _act(session_factory, ticket_id, "dispatch", Role.DISPATCHER, department_id="urban_mgmt")
    assert client.get(f"{BASE}/requests/{number}.json").json()[0]["expected_datetime"] is not None
    _act(session_factory, ticket_id, "sign", Role.DEPARTMENT)
    _act(session_factory, ticket_id, "start", Role.DEPARTMENT)
    _act(session_factory, ticket_id, "report_result", Role.DEPARTMENT)
    assert client.get(f"{BASE}/requests/{number}.json").json()[0]["status"] == "open"
    _act(session_factory, ticket_id, "close", Role.SYSTEM, reason="citizen declined a callback")
    [closed] = client.get(f"{BASE}/requests/{number}.json").json()
    assert closed["status"] == "closed" and closed["status_notes"] == "已办结"
    with session_factory() as s:
        closed_at = s.get_one(Ticket, ticket_id).closed_at
    assert closed["updated_datetime"] == open311.w3(closed_at)
    only_closed = client.get(f"{BASE}/requests.json", params={"status": "closed"}).json()
    assert [x["service_request_id"] for x in only_closed] == [number]
    assert client.get(f"{BASE}/requests.json", params={"status": "open"}).json() == []
    assert len(client.get(f"{BASE}/requests.json", params={"status": "open,closed"}).json()) == 1


def test_service_code_bearer_token_json_body_and_filters(client: TestClient, token: Token) -> None:
    key = token(Role.SYSTEM)
    r = client.post(f"{BASE}/requests.json", headers={"Authorization": f"Bearer {key}"},
                    json={"service_code": "water", "description": "家里水龙头出来的水发黄",
                          "address_string": "滨海大道1号"})
    assert r.status_code == 200, r.text
    water = r.json()[0]["service_request_id"]
    other = _post(client, key, description="小区路灯不亮了").json()[0]["service_request_id"]
    [w] = client.get(f"{BASE}/requests/{water}.json").json()
    assert w["service_code"] == "water" and w["lat"] is None
    by_code = client.get(f"{BASE}/requests.json", params={"service_code": "water"}).json()
    assert [x["service_request_id"] for x in by_code] == [water]
    by_ids = client.get(f"{BASE}/requests.json", params={"service_request_id": f"{water},{other}",
                                                         "status": "closed"}).json()  # ids override status
    assert sorted(x["service_request_id"] for x in by_ids) == sorted([water, other])
    now = utcnow()
    window = {"start_date": open311.w3(now - timedelta(hours=1)), "end_date": open311.w3(now + timedelta(hours=1))}
    assert len(client.get(f"{BASE}/requests.json", params=window).json()) == 2
    past = {"start_date": "2020-01-01T00:00:00+08:00", "end_date": "2020-02-01T00:00:00+08:00"}
    assert client.get(f"{BASE}/requests.json", params=past).json() == []
    root = ElementTree.fromstring(client.get(f"{BASE}/requests/{water}.xml").content)
    assert root.tag == "service_requests" and root.findtext("request/status") == "open"


def _error(r: Any, status: int) -> str:
    assert r.status_code == status, r.text
    [err] = r.json()
    assert set(err) == {"code", "description"} and err["code"] == status
    return str(err["description"])


def test_errors_in_georeport_format(client: TestClient, token: Token, session_factory: sessionmaker[Session]) -> None:
    operator, department = token(Role.OPERATOR), token(Role.DEPARTMENT, "water")
    assert "api_key" in _error(_post(client, None, description="路灯坏了"), 403)
    assert "api_key" in _error(_post(client, "not-a-key", description="路灯坏了"), 403)
    _error(_post(client, department, description="路灯坏了"), 403)
    assert "empty" in _error(_post(client, operator, description="  "), 400)
    assert "lat and long" in _error(_post(client, operator, description="路灯坏了", lat="20.1"), 400)
    assert "number" in _error(_post(client, operator, description="路灯坏了", lat="north", long="1"), 400)
    _error(_post(client, operator, description="路灯坏了", lat="95", long="1"), 400)
    assert "atlantis" in _error(_post(client, operator, description="路灯坏了", service_code="atlantis"), 404)
    _error(_post(client, operator, description="路灯坏了", email="not-an-email"), 400)
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(Ticket)) == 0  # bad input wrote nothing

    assert "424242" in _error(client.get(f"{BASE}/requests/424242.json"), 404)
    assert "W3C" in _error(client.get(f"{BASE}/requests.json", params={"start_date": "yesterday"}), 400)
    assert "time zone" in _error(client.get(f"{BASE}/requests.json", params={"end_date": "2025-01-01T00:00:00"}),
                                 400)
    assert "90 days" in _error(client.get(f"{BASE}/requests.json", params={
        "start_date": "2025-01-01T00:00:00Z", "end_date": "2025-06-01T00:00:00Z"}), 400)
    _error(client.get(f"{BASE}/requests.json", params={
        "start_date": "2025-02-01T00:00:00Z", "end_date": "2025-01-01T00:00:00Z"}), 400)
    assert "open or closed" in _error(client.get(f"{BASE}/requests.json", params={"status": "pending"}), 400)
    _error(client.get(f"{BASE}/services.csv"), 404)
    r = client.get(f"{BASE}/requests/424242.xml")
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/xml")
    root = ElementTree.fromstring(r.content)
    assert root.tag == "errors" and root.findtext("error/code") == "404"
    r = client.post(f"{BASE}/requests.json", content=b"\x00\x01", headers={"content-type": "application/pdf"})
    _error(r, 400)


def test_jurisdiction(settings: Settings, session_factory: sessionmaker[Session], router: Any) -> None:
    from api.app import create_app

    app = create_app(settings.model_copy(update={"open311_jurisdiction_id": "haikou.gov.cn"}), session_factory)
    app.state.router = router
    c = TestClient(app)
    assert c.get(f"{BASE}/services.json", params={"jurisdiction_id": "haikou.gov.cn"}).status_code == 200
    assert c.get(f"{BASE}/services.json").status_code == 200  # one jurisdiction: the id may be left out
    assert "sanya" in _error(c.get(f"{BASE}/requests.json", params={"jurisdiction_id": "sanya.gov.cn"}), 404)


def test_phone_tickets_show_no_personal_data(client: TestClient, session_factory: sessionmaker[Session]) -> None:
    with transaction(session_factory) as s:
        t = service.open_ticket(s, draft=TicketDraft(
            transcript="我叫李四，电话13912345678，我家住幸福小区3栋201，楼上漏水",
            summary="李四反映楼上漏水，电话13912345678",
            caller_number="13912345678", type="投诉", category="城乡建设", place="幸福小区3栋201"), actor="ivr")
        t.caller_name = "李四"
        number = t.number
    text = client.get(f"{BASE}/requests.json").text
    assert number in text
    assert client.get(f"{BASE}/requests/{number}.json").json()[0]["address"] is None  # a caller's place may be home
    assert "13912345678" not in text and "李四" not in text and "幸福小区" not in text  # transcript stays inside
    assert "139****5678" in text and "李*" in text


@pytest.mark.parametrize(("text", "expected"), [
    ("电话13812345678", "电话138****5678"),
    ("写信给 a.b@qq.com 回复", "写信给 ***@*** 回复"),
    ("王小明说路灯坏了", "王**说路灯坏了"),
    ("12345热线，110报警", "12345热线，110报警"),
])
def test_redact(text: str, expected: str) -> None:
    assert open311.redact(text, names=["王小明"]) == expected


def test_app_loads_its_router_on_first_use(tmp_path: Any) -> None:
    from sqlalchemy.orm import sessionmaker as unbound

    from api.app import create_app

    app = create_app(Settings(home=tmp_path / "home"), unbound())  # services.json needs no database
    assert getattr(app.state, "router", None) is None
    r = TestClient(app).get(f"{BASE}/services.json")
    assert r.status_code == 200 and len(r.json()) == len(load_catalog().departments)
    assert app.state.router.source == "keywords"  # no trained model under this home
