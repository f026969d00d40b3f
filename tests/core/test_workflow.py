"""Lifecycle actions applied to stored tickets, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from deadlines.policy import Policy
from foundation.db import transaction
from foundation.errors import DomainError
from routing.catalog import Catalog, load_catalog
from tickets import service
from tickets.lifecycle import InvalidTransition
from tickets.models import Ticket, TicketEvent
from tickets.schemas import TicketDraft
from tickets.workflow import UnknownDepartment, apply_action

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2025, 9, 30, 16, 0, tzinfo=SH)  # the afternoon before the National Day holiday


@pytest.fixture(scope="module")
def policy() -> Policy:
    return Policy.load()


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def _open(factory: sessionmaker[Session], **kw: object) -> int:
    draft = TicketDraft(transcript="公司拖欠工资三个月", type="投诉", category="劳动和社会保障", **kw)  # type: ignore[arg-type]
    with transaction(factory) as s:
        return service.open_ticket(s, draft=draft, actor="ivr").id


def _act(factory: sessionmaker[Session], policy: Policy, catalog: Catalog, ticket_id: int, action: str, role: str,
         *, now: datetime = T0, reason: str = "", **params: object) -> Ticket:
    with transaction(factory) as s:
        return apply_action(s, ticket_id=ticket_id, action=action, role=role, actor=f"{role}-1", now=now,
                            policy=policy, catalog=catalog, reason=reason, params=params)


def test_a_ticket_travels_from_accepted_to_closed(session_factory: sessionmaker[Session], policy: Policy,
                                                  catalog: Catalog) -> None:
    tid = _open(session_factory)
    t = _act(session_factory, policy, catalog, tid, "dispatch", "dispatcher", department_id="hrss")
    assert t.status == "dispatched" and t.department_id == "hrss"
    assert t.sign_by == T0 + timedelta(minutes=30)
    # A complaint gets one working day; 1-8 October 2025 are holidays, so the 9th.
    assert t.resolve_by == datetime(2025, 10, 9, 23, 59, 59, tzinfo=SH)
    for action in ("sign", "start", "report_result"):
        t = _act(session_factory, policy, catalog, tid, action, "department", now=T0 + timedelta(minutes=10))
    t = _act(session_factory, policy, catalog, tid, "schedule_callback", "system")
    t = _act(session_factory, policy, catalog, tid, "close", "system", satisfaction="satisfied")
    assert t.status == "closed" and t.satisfaction == "satisfied" and t.closed_at is not None
    assert t.signed_at == T0 + timedelta(minutes=10)
    with session_factory() as s:
        kinds = s.scalars(select(TicketEvent.kind).where(TicketEvent.ticket_id == tid).order_by(TicketEvent.id)).all()
    assert kinds == ["accepted", "dispatched", "signed", "started", "result_reported", "callback_scheduled", "closed"]


def test_an_illegal_transition_changes_nothing(session_factory: sessionmaker[Session], policy: Policy,
                                               catalog: Catalog) -> None:
    tid = _open(session_factory)
    with pytest.raises(InvalidTransition) as err:
        _act(session_factory, policy, catalog, tid, "sign", "department")
    assert err.value.error_id == "ticket.invalid_transition" and err.value.http_status == 409
    with pytest.raises(UnknownDepartment):
        _act(session_factory, policy, catalog, tid, "dispatch", "dispatcher", department_id="nope")
    with session_factory() as s:
        t = service.get_ticket(s, ticket_id=tid)
        assert t.status == "accepted" and t.department_id == "" and t.dispatched_at is None
        assert [e.kind for e in t.events] == ["accepted"]


def test_return_and_redispatch_restart_the_clock(session_factory: sessionmaker[Session], policy: Policy,
                                                 catalog: Catalog) -> None:
    tid = _open(session_factory)
    _act(session_factory, policy, catalog, tid, "dispatch", "dispatcher", department_id="housing")
    t = _act(session_factory, policy, catalog, tid, "return", "department", reason="不属于本单位职责")
    assert t.status == "returned_pending_review"
    later = T0 + timedelta(days=10)
    t = _act(session_factory, policy, catalog, tid, "review_return", "dispatcher", now=later, reason="改派人社局",
             decision="redispatch", department_id="hrss")
    assert t.status == "dispatched" and t.department_id == "hrss"
    assert t.dispatched_at == later and t.sign_by == later + timedelta(minutes=30)


def test_extension_moves_the_deadline_once_approved(session_factory: sessionmaker[Session], policy: Policy,
                                                    catalog: Catalog) -> None:
    tid = _open(session_factory)
    _act(session_factory, policy, catalog, tid, "dispatch", "dispatcher", department_id="hrss")
    _act(session_factory, policy, catalog, tid, "sign", "department")
    t = _act(session_factory, policy, catalog, tid, "request_extension", "department", reason="需现场核查", days=2)
    before = t.resolve_by
    assert t.extension_pending
    with pytest.raises(InvalidTransition):  # one request at a time
        _act(session_factory, policy, catalog, tid, "request_extension", "department", reason="again", days=1)
    t = _act(session_factory, policy, catalog, tid, "decide_extension", "dispatcher", approved=True)
    assert not t.extension_pending
    # Two working days after the 9th: Friday the 10th, then Saturday the 11th, an adjusted working day.
    assert before is not None and t.resolve_by == datetime(2025, 10, 11, 23, 59, 59, tzinfo=SH)


def test_merged_duplicate_closes_with_its_primary(session_factory: sessionmaker[Session], policy: Policy,
                                                  catalog: Catalog) -> None:
    primary, dup = _open(session_factory), _open(session_factory)
    _act(session_factory, policy, catalog, dup, "merge", "dispatcher", primary_id=primary)
    _act(session_factory, policy, catalog, primary, "close_on_call", "operator")
    with session_factory() as s:
        d = service.get_ticket(s, ticket_id=dup)
        assert d.status == "closed" and d.merged_into_id == primary
        assert d.events[-1].kind == "closed_with_primary"


def test_dissatisfied_callback_reopens_under_supervision(session_factory: sessionmaker[Session], policy: Policy,
                                                         catalog: Catalog) -> None:
    tid = _open(session_factory)
    _act(session_factory, policy, catalog, tid, "dispatch", "dispatcher", department_id="hrss")
    for action in ("sign", "start", "report_result"):
        _act(session_factory, policy, catalog, tid, action, "department")
    _act(session_factory, policy, catalog, tid, "schedule_callback", "system")
    _act(session_factory, policy, catalog, tid, "close", "system", satisfaction="basically_satisfied")
    t = _act(session_factory, policy, catalog, tid, "reopen", "system", reason="市民不满意：工资仍未发放")
    assert t.status == "dispatched" and t.supervision_level >= 1 and t.closed_at is None


def test_errors_are_domain_errors_with_stable_ids(session_factory: sessionmaker[Session], policy: Policy,
                                                  catalog: Catalog) -> None:
    tid = _open(session_factory)
    with pytest.raises(DomainError) as err:
        _act(session_factory, policy, catalog, tid, "dispatch", "department", department_id="hrss")
    assert err.value.error_id == "ticket.forbidden"
    with pytest.raises(DomainError) as err:
        _act(session_factory, policy, catalog, 999999, "dispatch", "dispatcher", department_id="hrss")
    assert err.value.error_id == "ticket.not_found"
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(TicketEvent)) == 1
