"""Desk services on SQLite and PostgreSQL: pickups, the screen pop, the one-click confirm (corrections
stored as router training rows), 即办件 from the knowledge base, and 待回拨."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from console import missed, service
from console.follower import Pickup
from console.models import OperatorPickup
from console.schemas import ConfirmForm
from deadlines.policy import Policy
from foundation.db import transaction
from knowledge import service as kb
from routing.catalog import load_catalog
from routing.models import RoutingCorrection
from tickets import service as tickets
from tickets.lifecycle import InvalidTransition
from tickets.models import Ticket, TicketEvent
from tickets.schemas import DepartmentCandidate, TicketDraft

CATALOG = load_catalog()
POLICY = Policy.load()
CALLER = "13800000001"


def _ticket(factory: sessionmaker[Session], text: str = "龙华区金盘路的路灯坏了好几天了晚上很黑",
            caller: str = CALLER) -> int:
    with transaction(factory) as s:
        draft = TicketDraft(caller_number=caller, transcript=text, summary="路灯坏了", type="投诉", category="城乡建设",
                            place="龙华区金盘路", router_source="keywords", confirmed_by_caller=True,
                            departments=[DepartmentCandidate(id="urban_mgmt", name="市城市管理和综合执法局",
                                                             confidence=0.8),
                                         DepartmentCandidate(id="power", name="市供电公司", confidence=0.1),
                                         DepartmentCandidate(id="district", name="区人民政府", confidence=0.05)])
        return tickets.open_ticket(s, draft=draft, actor="ivr").id


def _pickup(ticket_id: int | None, uniqueid: str = "u1", station: str = "op1", at: float = 0.0) -> Pickup:
    return Pickup(station=station, ticket_id=ticket_id, caller_uniqueid=uniqueid, caller_channel="Local/s@citizen;1",
                  caller_number=CALLER, operator_channel="PJSIP/op1-1", queue="operators", hold_seconds=3,
                  at=at or datetime.now(UTC).timestamp(), via="AgentConnect")


def _form(**over: object) -> ConfirmForm:
    base: dict[str, object] = {"transcript": "龙华区金盘路路灯坏了好几天，晚上很黑", "summary": "金盘路路灯不亮",
                               "type": "投诉", "category": "城乡建设", "department_id": "urban_mgmt",
                               "place": "龙华区金盘路"}
    return ConfirmForm.model_validate({**base, **over})


def test_pickup_is_stored_once_and_logged_on_the_ticket(session_factory: sessionmaker[Session]) -> None:
    tid = _ticket(session_factory)
    with transaction(session_factory) as s:
        a = service.record_pickup(s, pickup=_pickup(tid))
        b = service.record_pickup(s, pickup=_pickup(tid))  # the same event seen by a second worker
        assert a.id == b.id
    with transaction(session_factory) as s:
        assert len(s.scalars(select(OperatorPickup)).all()) == 1
        kinds = [e.kind for e in s.scalars(select(TicketEvent).where(TicketEvent.ticket_id == tid))]
        assert kinds == ["accepted", "operator_pickup"]


def test_a_stale_ticket_id_pops_without_a_ticket(session_factory: sessionmaker[Session]) -> None:
    with transaction(session_factory) as s:
        row = service.record_pickup(s, pickup=_pickup(99999))
        assert row.ticket_id is None
        pop = service.pop_for_pickup(s, row=row, caller_number=CALLER)
    assert pop.ticket is None and pop.caller_number == CALLER


def test_screen_pop_has_ticket_recordings_earlier_tickets_and_kb(session_factory: sessionmaker[Session]) -> None:
    with transaction(session_factory) as s:
        kb.seed(s, catalog=CATALOG)
    older = _ticket(session_factory, "小区门口垃圾堆了好几天")
    _ticket(session_factory, "别人的问题", caller="13900000000")
    tid = _ticket(session_factory)
    with transaction(session_factory) as s:
        call = tickets.start_call(s, channel="c", uniqueid="u1", caller_number=CALLER, dialed_number="12345")
        rec = tickets.add_recording(s, call_id=call.id, turn=1, purpose="request", path="/x/1.wav")
        rec.ticket_id = tid
    with transaction(session_factory) as s:
        row = service.record_pickup(s, pickup=_pickup(tid, at=1_700_000_000.5))
        pop = service.pop_for_pickup(s, row=row)
    assert pop.ticket is not None and pop.ticket.id == tid and pop.picked_up_at == 1_700_000_000.5
    assert [c.id for c in pop.ticket.department_candidates] == ["urban_mgmt", "power", "district"]
    assert [e.id for e in pop.earlier] == [older]  # same number only, not itself
    assert [r.url for r in pop.recordings] == [f"/api/console/recordings/{rec.id}"]
    assert pop.kb and pop.kb[0].title == "路灯不亮怎么报修"


def test_current_pop_is_the_latest_unhandled_pickup(session_factory: sessionmaker[Session]) -> None:
    t1, t2 = _ticket(session_factory), _ticket(session_factory)
    now = datetime.now(UTC)
    with transaction(session_factory) as s:
        service.record_pickup(s, pickup=_pickup(t1, "u1", at=(now - timedelta(minutes=5)).timestamp()))
        service.record_pickup(s, pickup=_pickup(t2, "u2", at=(now - timedelta(minutes=1)).timestamp()))
        service.record_pickup(s, pickup=_pickup(t1, "u3", station="op2", at=(now - timedelta(hours=3)).timestamp()))
    with transaction(session_factory) as s:
        pop = service.current_pop(s, station="op1")
        assert pop is not None and pop.ticket is not None and pop.ticket.id == t2
        assert service.current_pop(s, station="op2") is None  # too old
        assert service.current_pop(s, station="op3") is None


def test_confirm_with_corrections_dispatches_and_stores_a_training_row(
        session_factory: sessionmaker[Session]) -> None:
    tid = _ticket(session_factory)
    with transaction(session_factory) as s:
        service.record_pickup(s, pickup=_pickup(tid))
    with transaction(session_factory) as s:
        res = service.confirm(s, ticket_id=tid, form=_form(type="求助", department_id="power"), role="operator",
                              actor="operator:op", policy=POLICY, catalog=CATALOG)
    assert res.status == "dispatched" and res.changed and res.department_id == "power"
    with transaction(session_factory) as s:
        t = s.get_one(Ticket, tid)
        assert (t.type, t.department_id, t.department_name) == ("求助", "power", "市供电公司")
        assert t.transcript == "龙华区金盘路路灯坏了好几天，晚上很黑" and t.summary == "金盘路路灯不亮"
        assert t.dispatched_at is not None and t.sign_by is not None
        c = s.scalars(select(RoutingCorrection)).one()
        assert (c.original_type, c.type, c.original_department_id, c.department_id) == (
            "投诉", "求助", "urban_mgmt", "power")
        assert c.text == t.transcript and c.original_text.startswith("龙华区金盘路的路灯") and c.changed
        assert c.router_source == "keywords" and c.actor == "operator:op"
        assert s.scalars(select(OperatorPickup)).one().handled
        ev = next(e for e in t.events if e.kind == "operator_confirmed")
        assert set(ev.data["diff"]) == {"transcript", "type", "department_id"}


def test_confirm_without_changes_is_a_positive_training_row(session_factory: sessionmaker[Session]) -> None:
    tid = _ticket(session_factory)
    with transaction(session_factory) as s:
        res = service.confirm(s, ticket_id=tid, form=_form(transcript="龙华区金盘路的路灯坏了好几天了晚上很黑"),
                              role="operator", actor="operator:op", policy=POLICY, catalog=CATALOG)
    assert not res.changed
    with transaction(session_factory) as s:
        assert not s.scalars(select(RoutingCorrection)).one().changed


def test_close_on_call_from_a_kb_answer(session_factory: sessionmaker[Session]) -> None:
    with transaction(session_factory) as s:
        kb.seed(s, catalog=CATALOG)
    tid = _ticket(session_factory, "你们晚上有人接电话吗")
    with transaction(session_factory) as s:
        entry = kb.search(s, query="你们晚上有人接电话吗")[0][0]
        res = service.confirm(s, ticket_id=tid, form=_form(transcript="你们晚上有人接电话吗", type="咨询",
                                                           category="其他", department_id="district",
                                                           action="close_on_call", kb_entry_id=entry.id),
                              role="operator", actor="operator:op", policy=POLICY, catalog=CATALOG)
    assert res.status == "closed"
    with transaction(session_factory) as s:
        t = tickets.get_ticket(s, ticket_id=tid)
        closed = next(e for e in t.events if e.kind == "closed_on_call")
        assert "12345热线服务时间" in closed.reason and t.closed_at is not None


@pytest.mark.parametrize("bad", [{"type": "闲聊"}, {"category": "火星"}, {"department_id": "nasa"},
                                 {"transcript": "  "}])
def test_bad_forms_are_refused_and_change_nothing(session_factory: sessionmaker[Session],
                                                  bad: dict[str, str]) -> None:
    tid = _ticket(session_factory)
    with pytest.raises(service.InvalidCorrection), transaction(session_factory) as s:
        service.confirm(s, ticket_id=tid, form=_form(**bad), role="operator", actor="operator:op",
                        policy=POLICY, catalog=CATALOG)
    with transaction(session_factory) as s:
        assert s.get_one(Ticket, tid).status == "accepted" and not s.scalars(select(RoutingCorrection)).all()


def test_a_refused_transition_stores_no_correction(session_factory: sessionmaker[Session]) -> None:
    tid = _ticket(session_factory)
    with transaction(session_factory) as s:
        service.confirm(s, ticket_id=tid, form=_form(), role="operator", actor="operator:op", policy=POLICY,
                        catalog=CATALOG)
    with pytest.raises(InvalidTransition), transaction(session_factory) as s:  # already dispatched
        service.confirm(s, ticket_id=tid, form=_form(type="建议"), role="operator", actor="operator:op",
                        policy=POLICY, catalog=CATALOG)
    with transaction(session_factory) as s:
        assert len(s.scalars(select(RoutingCorrection)).all()) == 1
        assert s.get_one(Ticket, tid).type == "投诉"


def test_a_pop_without_ticket_opens_one_on_confirm(session_factory: sessionmaker[Session]) -> None:
    with transaction(session_factory) as s:
        service.record_pickup(s, pickup=_pickup(None, "u9"))
    with transaction(session_factory) as s:
        res = service.confirm(s, ticket_id=None, form=_form(caller_number=CALLER, caller_uniqueid="u9"),
                              role="operator", actor="operator:op", policy=POLICY, catalog=CATALOG)
    with transaction(session_factory) as s:
        t = s.get_one(Ticket, res.ticket_id)
        assert t.caller_number == CALLER and t.status == "dispatched" and t.router_source == "operator"
        row = s.scalars(select(OperatorPickup)).one()
        assert row.ticket_id == t.id and row.handled


def test_missed_callback_listed_until_called_back(session_factory: sessionmaker[Session]) -> None:
    t1, t2 = _ticket(session_factory), _ticket(session_factory)
    now = datetime.now(UTC)
    with transaction(session_factory) as s:
        missed.mark_missed_callback(s, ticket_id=t1, due_by=now + timedelta(minutes=30), reason="TIMEOUT")
        missed.mark_missed_callback(s, ticket_id=t2, due_by=now + timedelta(minutes=10), reason="TIMEOUT")
    with transaction(session_factory) as s:
        assert [t.id for t in service.pending_callbacks(s)] == [t2, t1]
        service.mark_called_back(s, ticket_id=t2, actor="operator:op")
    with transaction(session_factory) as s:
        assert [t.id for t in service.pending_callbacks(s)] == [t1]
        with pytest.raises(service.InvalidInput):
            service.mark_called_back(s, ticket_id=t2, actor="operator:op")
        # confirming a callback ticket settles it too
        service.confirm(s, ticket_id=t1, form=_form(), role="operator", actor="operator:op", policy=POLICY,
                        catalog=CATALOG)
    with transaction(session_factory) as s:
        assert service.pending_callbacks(s) == []
        assert [e.kind for e in tickets.get_ticket(s, ticket_id=t1).events].count("called_back") == 1


def test_a_pop_sent_again_after_the_caller_hung_up_says_so(session_factory: sessionmaker[Session]) -> None:
    """A page that reconnects gets the station's current pop again: it must not show the call as going on."""
    tid = _ticket(session_factory)
    at = datetime.now(UTC).timestamp()
    with transaction(session_factory) as s:
        service.record_pickup(s, pickup=_pickup(tid, at=at))
    with session_factory() as s:
        pop = service.current_pop(s, station="op1")
        assert pop is not None and not pop.call_ended
    with transaction(session_factory) as s:
        service.record_call_end(s, station="op1", caller_uniqueid="u1", at=at + 2)
    with session_factory() as s:
        pop = service.current_pop(s, station="op1")
        assert pop is not None and pop.call_ended and pop.ticket is not None and pop.ticket.id == tid
