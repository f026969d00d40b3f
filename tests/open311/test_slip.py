"""Dispatch slips: the PDF (read back), masking, and the verification code against forgery."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from accounts.models import ReadAudit
from accounts.roles import Role
from deadlines.policy import Policy
from foundation.db import transaction, utcnow
from foundation.settings import Settings
from routing.catalog import load_catalog
from tests.open311.conftest import Token
from tests.open311.pdftext import page_text
from tickets import service
from tickets.models import Ticket
from tickets.schemas import DepartmentCandidate, TicketDraft
from tickets.slip import FIELD_KEYS, normalize_code, slip_fields, slip_key, verification_code
from tickets.workflow import apply_action


def _ticket(factory: sessionmaker[Session], *, dispatch: bool = True) -> int:
    draft = TicketDraft(transcript="小区门口的路灯坏了，晚上很黑", summary="小区门口的路灯坏了", type="投诉",
                        category="城乡建设", caller_number="13812345678", place="滨海大道88号",
                        departments=[DepartmentCandidate(id="urban_mgmt", name="市城市管理和综合执法局",
                                                         confidence=0.9)])
    with transaction(factory) as s:
        t = service.open_ticket(s, draft=draft, actor="ivr")
        t.caller_name = "张三丰"
        ticket_id = t.id
    if dispatch:
        _dispatch(factory, ticket_id, "urban_mgmt")
    return ticket_id


def _dispatch(factory: sessionmaker[Session], ticket_id: int, department: str) -> None:
    with transaction(factory) as s:
        t = s.get_one(Ticket, ticket_id)
        action = "dispatch" if t.status == "accepted" else "review_return"
        params: dict[str, Any] = ({"department_id": department} if action == "dispatch"
                                  else {"decision": "redispatch", "department_id": department})
        if action == "review_return":
            apply_action(s, ticket_id=ticket_id, action="return", role="department", actor="department:x",
                         now=utcnow(), policy=Policy.load(), catalog=load_catalog(), reason="不属于本单位职责")
        apply_action(s, ticket_id=ticket_id, action=action, role="dispatcher", actor="dispatcher:x", now=utcnow(),
                     policy=Policy.load(), catalog=load_catalog(), reason="改派" if action != "dispatch" else "",
                     params=params)


def _fields(factory: sessionmaker[Session], ticket_id: int) -> dict[str, str]:
    with factory() as s:
        return slip_fields(s.get_one(Ticket, ticket_id))


def _verify(client: TestClient, key: str, **body: Any) -> Any:
    r = client.post("/api/slips/verify", json=body, headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 200, r.text
    return r.json()


def test_slip_fields_are_masked(session_factory: sessionmaker[Session]) -> None:
    fields = _fields(session_factory, _ticket(session_factory))
    assert tuple(fields) == FIELD_KEYS
    assert fields["caller_number"] == "138****5678" and fields["caller"] == "张**"
    assert fields["department"] == "市城市管理和综合执法局" and fields["sign_by"] and fields["resolve_by"]
    assert "13812345678" not in str(fields) and "张三丰" not in str(fields)


def test_pdf_holds_the_slip_and_no_personal_data(client: TestClient, token: Token, settings: Settings,
                                                 session_factory: sessionmaker[Session]) -> None:
    ticket_id = _ticket(session_factory)
    r = client.get(f"/api/tickets/{ticket_id}/slip.pdf", headers={"Authorization": f"Bearer {token(Role.DISPATCHER)}"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    pdf = r.content
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    assert pdf.count(b"/Type /Page\n") + pdf.count(b"/Type /Page ") == 1  # one page
    text = page_text(pdf)
    fields = _fields(session_factory, ticket_id)
    code = verification_code(slip_key(settings.secrets_dir), fields)
    for value in (fields["number"], fields["resolve_by"], fields["department"], fields["summary"],
                  "138****5678", "张**", "交办单", code):
        assert value in text, value
    assert "13812345678" not in text and "张三丰" not in text


def test_verify_genuine_altered_forged_and_superseded(client: TestClient, token: Token, settings: Settings,
                                                     session_factory: sessionmaker[Session]) -> None:
    key = token(Role.DEPARTMENT, "urban_mgmt")
    ticket_id = _ticket(session_factory)
    fields = _fields(session_factory, ticket_id)
    code = verification_code(slip_key(settings.secrets_dir), fields)
    number = fields["number"]

    ok = _verify(client, key, ticket_number=number, code=code, fields=fields)
    assert ok == {"valid": True, "reason": "genuine and current", "current": True, "changed": []}
    assert _verify(client, key, ticket_number=number, code=code.lower().replace("-", " "))["valid"]  # typed in

    altered = _verify(client, key, ticket_number=number, code=code, fields={**fields, "resolve_by": "2099-01-01 18:00"})
    assert not altered["valid"] and "altered" in altered["reason"]
    forged_code = verification_code(b"someone else's key", fields)
    assert not _verify(client, key, ticket_number=number, code=forged_code, fields=fields)["valid"]
    assert not _verify(client, key, ticket_number=number, code=forged_code)["valid"]
    assert not _verify(client, key, ticket_number="99999999999", code=code, fields=fields)["valid"]
    other = _fields(session_factory, _ticket(session_factory))
    assert not _verify(client, key, ticket_number=other["number"], code=code, fields=fields)["valid"]

    _dispatch(session_factory, ticket_id, "housing")  # 退单 → 改派: the printed slip is now out of date
    old = _verify(client, key, ticket_number=number, code=code, fields=fields)
    assert old["valid"] and not old["current"] and "department" in old["changed"]
    assert not _verify(client, key, ticket_number=number, code=code)["valid"]  # not the current slip any more

    r = client.post("/api/slips/verify", json={"ticket_number": number, "code": code, "fields": {"number": number}},
                    headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 422 and r.json()["error"]["id"] == "slip.fields_invalid"
    assert client.post("/api/slips/verify", json={"ticket_number": number, "code": code}).status_code == 401


def test_slip_access(client: TestClient, token: Token, session_factory: sessionmaker[Session]) -> None:
    ticket_id = _ticket(session_factory)
    url = f"/api/tickets/{ticket_id}/slip.pdf"
    assert client.get(url).status_code == 401
    own = token(Role.DEPARTMENT, "urban_mgmt")
    assert client.get(url, headers={"Authorization": f"Bearer {own}"}).status_code == 200
    r = client.get(url, headers={"Authorization": f"Bearer {token(Role.DEPARTMENT, 'water')}"})
    assert r.status_code == 403 and r.json()["error"]["id"] == "auth.forbidden"
    r = client.get("/api/tickets/424242/slip.pdf", headers={"Authorization": f"Bearer {token(Role.OPERATOR)}"})
    assert r.status_code == 404
    with session_factory() as s:  # the printed slip is a read of the ticket: audited, refusals are not
        audits = [a for a in s.query(ReadAudit).all() if a.what == "slip"]
    assert [(a.ticket_ids, a.actor.split(":")[0]) for a in audits] == [([ticket_id], "department")]


def test_key_is_per_installation(settings: Settings, tmp_path: Any) -> None:
    fields = dict.fromkeys(FIELD_KEYS, "x")
    here = verification_code(slip_key(settings.secrets_dir), fields)
    assert here == verification_code(slip_key(settings.secrets_dir), fields)  # kept, not regenerated
    assert here != verification_code(slip_key(tmp_path / "elsewhere"), fields)
    assert len(here) == 19 and normalize_code(here.lower()) == here
