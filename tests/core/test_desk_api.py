"""The department desk over HTTP: login, isolation between departments, masking, audit, the
dispatch tree (下派, 首问负责), and every action checked with stable error ids."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from accounts import service as accounts
from accounts.models import ReadAudit
from accounts.roles import Role
from api.app import create_app
from foundation.db import transaction
from foundation.settings import Settings
from routing.catalog import load_catalog
from tickets import service
from tickets.schemas import DepartmentCandidate, TicketDraft

PASSWORD = "desk-pass-123"
USERS = {
    "op": (Role.OPERATOR, None),
    "boss": (Role.DISPATCHER, None),
    "admin": (Role.ADMIN, None),
    "lh": (Role.DEPARTMENT, "longhua"),
    "ml": (Role.DEPARTMENT, "meilan"),
    "grid": (Role.DEPARTMENT, "longhua.jinmao.binhai.g1"),
    "street": (Role.DEPARTMENT, "longhua.datong"),
}


@dataclass
class Desk:
    client: TestClient
    tokens: dict[str, str]
    factory: sessionmaker[Session]

    def h(self, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[user]}"}

    def act(self, user: str, ticket_id: int, action: str, reason: str = "", **params: object) -> dict:
        r = self.client.post(f"/api/tickets/{ticket_id}/actions", headers=self.h(user),
                             json={"action": action, "reason": reason, "params": params})
        return {**r.json(), "http": r.status_code}


def _open(factory: sessionmaker[Session], text: str, caller: str) -> int:
    with transaction(factory) as s:
        draft = TicketDraft(transcript=text, caller_number=caller, type="投诉", category="城乡建设",
                            departments=[DepartmentCandidate(id="longhua", name="龙华区人民政府", confidence=0.9)])
        return service.open_ticket(s, draft=draft, actor="ivr").id


@pytest.fixture
def desk(settings: Settings, session_factory: sessionmaker[Session]) -> Desk:
    with transaction(session_factory) as s:
        accounts.load_units(s, catalog=load_catalog())
        for name, (role, dept) in USERS.items():
            accounts.create_user(s, username=name, password=PASSWORD, role=role, department=dept)
    client = TestClient(create_app(settings.model_copy(update={"anonymous_reads": False}), session_factory))
    tokens = {}
    for name in USERS:
        r = client.post("/api/auth/login", json={"username": name, "password": PASSWORD})
        assert r.status_code == 200, r.text
        tokens[name] = r.json()["token"]
    return Desk(client, tokens, session_factory)


def test_login_errors_and_me(desk: Desk) -> None:
    r = desk.client.post("/api/auth/login", json={"username": "lh", "password": "nope-nope"})
    assert (r.status_code, r.json()["error"]["id"]) == (401, "auth.bad_credentials")
    r = desk.client.get("/api/tickets")
    assert (r.status_code, r.json()["error"]["id"]) == (401, "auth.required")
    r = desk.client.get("/api/tickets", headers={"Authorization": "Bearer forged"})
    assert r.status_code == 401
    me = desk.client.get("/api/auth/me", headers=desk.h("lh")).json()
    assert me["role"] == "department" and me["department"] == "longhua" and "longhua.jinmao" in me["units"]
    assert desk.client.post("/api/auth/logout", headers=desk.h("ml")).status_code == 204
    assert desk.client.get("/api/tickets", headers=desk.h("ml")).status_code == 401


def test_full_desk_cycle_with_isolation_masking_and_audit(desk: Desk) -> None:
    tid = _open(desk.factory, "金盘路路灯坏了", "13812345678")
    other = _open(desk.factory, "白龙路积水", "13900001111")
    assert desk.act("op", tid, "dispatch", department_id="longhua")["http"] == 200
    assert desk.act("op", other, "dispatch", department_id="meilan")["http"] == 200

    # Each department sees only its own ticket, numbers masked; the center sees both, whole.
    lh = desk.client.get("/api/tickets", headers=desk.h("lh")).json()
    assert [t["id"] for t in lh["items"]] == [tid] and lh["items"][0]["caller_number"] == "138****5678"
    ml = desk.client.get("/api/tickets", headers=desk.h("ml")).json()
    assert [t["id"] for t in ml["items"]] == [other]
    center = desk.client.get("/api/tickets", headers=desk.h("op")).json()
    assert {t["caller_number"] for t in center["items"]} == {"13812345678", "13900001111"}
    r = desk.client.get(f"/api/tickets/{tid}", headers=desk.h("ml"))
    assert (r.status_code, r.json()["error"]["id"]) == (403, "auth.forbidden")
    assert desk.act("ml", tid, "sign")["error"]["id"] == "auth.forbidden"

    detail = desk.client.get(f"/api/tickets/{tid}", headers=desk.h("lh")).json()
    assert detail["caller_number"] == "138****5678" and detail["allowed_actions"] == ["sign", "return", "note"]
    assert detail["sign_by"] and detail["resolve_by"]

    # An illegal action: 409, stable id, nothing changed.
    refused = desk.act("lh", tid, "report_result", reason="修好了")
    assert (refused["http"], refused["error"]["id"]) == (409, "ticket.invalid_transition")
    assert desk.client.get(f"/api/tickets/{tid}", headers=desk.h("lh")).json()["status"] == "dispatched"

    assert desk.act("lh", tid, "sign")["http"] == 200
    assert desk.act("lh", tid, "note", reason="已安排电工")["http"] == 200
    assert desk.act("lh", tid, "start")["http"] == 200
    # 下派 to a grid worker below; the grid worker now sees it, the district stays answerable.
    assigned = desk.act("lh", tid, "assign", unit_id="longhua.jinmao.binhai.g1")
    assert assigned["http"] == 200
    assert desk.act("lh", tid, "assign", unit_id="meilan.bailong")["error"]["id"] == "invalid_input"
    grid = desk.client.get("/api/tickets", headers=desk.h("grid")).json()
    assert [t["id"] for t in grid["items"]] == [tid]
    street = desk.client.get("/api/tickets", headers=desk.h("street")).json()
    assert street["items"] == []  # a sibling street sees nothing
    assert desk.act("grid", tid, "note", reason="现场核实: 灯杆线路老化")["http"] == 200
    assert desk.act("grid", tid, "request_extension", reason="需更换灯杆", days=2)["http"] == 200
    assert desk.act("lh", tid, "decide_extension", approved=True)["error"]["id"] == "ticket.forbidden"
    assert desk.act("boss", tid, "decide_extension", approved=True)["http"] == 200
    assert desk.act("boss", tid, "supervise", reason="群众多次反映", level=1)["http"] == 200
    reported = desk.act("lh", tid, "report_result", reason="已更换灯杆, 恢复照明")
    assert reported["http"] == 200

    events = desk.client.get(f"/api/tickets/{tid}", headers=desk.h("op")).json()["events"]
    kinds = [e["kind"] for e in events]
    assert kinds == ["accepted", "dispatched", "signed", "note", "started", "assigned", "note",
                     "extension_requested", "extension_decided", "supervised", "result_reported"]
    assert events[6]["actor"] == "department:grid" and events[6]["reason"].startswith("现场核实")

    with desk.factory() as s:
        audits = s.query(ReadAudit).all()
    assert any(a.actor == "department:lh" and tid in a.ticket_ids and a.what == "ticket_detail" for a in audits)
    assert all(other not in a.ticket_ids for a in audits if a.actor == "department:lh")
    log = desk.client.get("/api/audit", params={"ticket_id": tid}, headers=desk.h("admin")).json()
    assert {row["actor"] for row in log} >= {"department:lh", "operator:op", "department:grid"}
    assert desk.client.get("/api/audit", headers=desk.h("lh")).status_code == 403


def test_return_review_and_first_responsible(desk: Desk) -> None:
    tid = _open(desk.factory, "噪音扰民", "13812345678")
    desk.act("op", tid, "dispatch", department_id="longhua")
    desk.act("lh", tid, "sign")
    desk.act("lh", tid, "start")
    desk.act("lh", tid, "assign", unit_id="longhua.jinmao.binhai.g1")
    # 首问负责: the grid worker cannot return what the district answers for.
    assert desk.act("grid", tid, "return", reason="不归我们管")["error"]["id"] == "auth.forbidden"
    r = desk.act("lh", tid, "return", reason="")
    assert r["http"] in (409, 422)  # return is not legal from in_progress, and a reason is required
    tid2 = _open(desk.factory, "占道经营", "13812345678")
    desk.act("op", tid2, "dispatch", department_id="longhua")
    r = desk.act("lh", tid2, "return", reason="")
    assert (r["http"], r["error"]["id"]) == (422, "ticket.reason_required")
    assert desk.act("lh", tid2, "return", reason="属于美兰区辖区")["http"] == 200
    assert desk.act("op", tid2, "review_return", reason="核实属实", decision="redispatch",
                    department_id="meilan")["error"]["id"] == "ticket.forbidden"
    assert desk.act("boss", tid2, "review_return", reason="核实属实", decision="redispatch",
                    department_id="meilan")["http"] == 200
    assert desk.client.get(f"/api/tickets/{tid2}", headers=desk.h("lh")).status_code == 403
    assert desk.client.get(f"/api/tickets/{tid2}", headers=desk.h("ml")).json()["status"] == "dispatched"
    r = desk.act("boss", tid2, "dispatch", department_id="nowhere")
    assert r["http"] == 409  # dispatch is not legal from dispatched


def test_merge_and_filters(desk: Desk) -> None:
    a = _open(desk.factory, "金盘路路灯坏了", "13812345678")
    b = _open(desk.factory, "金盘路路灯不亮", "13700000000")
    for t in (a, b):
        desk.act("op", t, "dispatch", department_id="longhua")
    assert desk.act("op", b, "merge", primary_id=a)["error"]["id"] == "ticket.forbidden"
    assert desk.act("boss", b, "merge", reason="同一路灯", primary_id=a)["http"] == 200
    r = desk.client.get("/api/tickets", params={"q": "不亮"}, headers=desk.h("boss")).json()
    assert [t["id"] for t in r["items"]] == [b] and r["items"][0]["merged_into_id"] == a
    r = desk.client.get("/api/tickets", params={"status": "dispatched", "department_id": "longhua"},
                        headers=desk.h("lh")).json()
    assert r["total"] == 2
    desk.act("boss", a, "supervise", reason="督办", level=2)
    r = desk.client.get("/api/tickets", params={"supervised": True}, headers=desk.h("boss")).json()
    assert [t["id"] for t in r["items"]] == [a]


def test_anonymous_reads_masked_and_read_only(settings: Settings, session_factory: sessionmaker[Session]) -> None:
    tid = _open(session_factory, "路灯坏了", "13812345678")
    open_client = TestClient(create_app(settings.model_copy(update={"anonymous_reads": True}), session_factory))
    body = open_client.get("/api/tickets").json()
    assert body["items"][0]["caller_number"] == "138****5678"
    assert open_client.get(f"/api/tickets/{tid}").json()["allowed_actions"] == []
    r = open_client.post(f"/api/tickets/{tid}/actions", json={"action": "dispatch", "params": {}})
    assert r.status_code == 401
    closed = TestClient(create_app(settings.model_copy(update={"anonymous_reads": False}), session_factory))
    assert closed.get("/api/tickets").status_code == 401
    # The default follows where the API listens.
    assert settings.model_copy(update={"api_host": "127.0.0.1"}).anonymous_reads_allowed
    assert not settings.model_copy(update={"api_host": "0.0.0.0"}).anonymous_reads_allowed


def test_admin_creates_users(desk: Desk) -> None:
    r = desk.client.post("/api/users", headers=desk.h("admin"), json={
        "username": "water1", "password": "water-pass-1", "role": "department", "department": "water"})
    assert r.status_code == 201 and r.json()["department"] == "water"
    r = desk.client.post("/api/users", headers=desk.h("lh"), json={
        "username": "evil", "password": "evil-pass-1", "role": "admin"})
    assert r.status_code == 403
    r = desk.client.post("/api/users", headers=desk.h("admin"), json={
        "username": "w2", "password": "water-pass-1", "role": "department", "department": "atlantis"})
    assert (r.status_code, r.json()["error"]["id"]) == (422, "unit.unknown")
    units = desk.client.get("/api/units", headers=desk.h("lh")).json()
    assert any(u["code"] == "longhua.jinmao.binhai.g1" and u["kind"] == "grid" for u in units)


def test_query_string_token_reads_but_never_writes(desk: Desk) -> None:
    tid = _open(desk.factory, "路灯坏了", "13812345678")
    token = desk.tokens["op"]
    assert desk.client.get("/api/tickets", params={"token": token}).status_code == 200
    r = desk.client.post(f"/api/tickets/{tid}/actions", params={"token": token},
                         json={"action": "dispatch", "params": {"department_id": "longhua"}})
    assert (r.status_code, r.json()["error"]["id"]) == (401, "auth.required")
