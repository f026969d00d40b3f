"""Overflow on a fake channel: nobody answered in the queue, the bot completes the intake, marks the
ticket 待回拨 and promises a call back within the configured minutes."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from agi.errors import AgiHangup
from foundation.db import transaction
from ivr_flows.intake import run_intake
from ivr_flows.overflow import promise_text, run_overflow
from ivr_flows.ports import CallServices
from tests.flows.conftest import CALLER
from tests.flows.fakes import QueueLeg, Step
from tickets import service
from tickets.models import Ticket

UNIQUEID = "1700000000.7"


def _overflow(chan: QueueLeg, services: CallServices) -> int | None:
    chan.vars.setdefault("HOTLINE_QUEUESTATUS", "TIMEOUT")
    return run_overflow(chan, services, channel_name="Local/s@citizen-0001;1", uniqueid=UNIQUEID, caller=CALLER,
                        dialed="")


def _ticket(factory: sessionmaker[Session], ticket_id: int) -> Ticket:
    with factory() as s:
        return service.get_ticket(s, ticket_id=ticket_id)


def test_a_confirmed_intake_is_marked_and_the_caller_told_when(
        make_services: Callable[..., CallServices], speech: Callable[[str], bytes],
        session_factory: sessionmaker[Session]) -> None:
    request = "龙华区金盘路的路灯坏了好几天了晚上很黑"
    services = make_services([request, "对"])
    chan = QueueLeg([Step(speech(request)), Step(speech("对"))])
    run_intake(chan, services, channel_name="Local/s@citizen-0001;1", uniqueid=UNIQUEID, caller=CALLER,
               dialed="12345")
    tid = int(chan.vars["TICKET_ID"])
    chan.played.clear()
    assert _overflow(chan, services) == tid
    assert len(chan.recorded) == 2  # nothing more was asked
    promise = promise_text(services.settings.overflow_callback_minutes)
    assert chan.played == ["prompt:overflow_registered", f"text:{promise}"]
    t = _ticket(session_factory, tid)
    assert t.missed_callback and t.callback_due_by is not None
    ev = [e for e in t.events if e.kind == "missed_callback"]
    assert len(ev) == 1 and ev[0].reason == "queue TIMEOUT"


def test_no_ticket_yet_the_bot_asks_and_opens_one(make_services: Callable[..., CallServices],
                                                  speech: Callable[[str], bytes],
                                                  session_factory: sessionmaker[Session]) -> None:
    """The intake never ran (AGI down when the call came in): the overflow leg takes the request."""
    request = "公司拖欠我三个月工资不发"
    services = make_services([request])
    chan = QueueLeg([Step(speech(request))])
    tid = _overflow(chan, services)
    assert tid is not None and chan.vars["TICKET_ID"] == str(tid)
    assert chan.played[0] == "prompt:overflow_busy" and chan.played[-1].startswith("text:我们会在30分钟内")
    t = _ticket(session_factory, tid)
    assert t.transcript == request and t.department_id == "hrss" and t.missed_callback
    assert t.caller_number == CALLER and [r.purpose for r in t.recordings] == ["overflow"]


def test_an_intake_that_opened_no_ticket_is_completed(make_services: Callable[..., CallServices],
                                                     speech: Callable[[str], bytes],
                                                     session_factory: sessionmaker[Session]) -> None:
    services = make_services(["我要转人工", "小区门口垃圾堆了好几天没人清理"])
    chan = QueueLeg([Step(speech("我要转人工")), Step(speech("小区门口垃圾堆了好几天没人清理"))])
    run_intake(chan, services, channel_name="Local/s@citizen-0001;1", uniqueid=UNIQUEID, caller=CALLER,
               dialed="12345")
    assert "TICKET_ID" not in chan.vars  # asked for a person at once: nothing worth a ticket yet
    tid = _overflow(chan, services)
    assert tid is not None
    t = _ticket(session_factory, tid)
    assert "垃圾" in t.transcript and t.missed_callback and t.dialed_number == "12345"
    assert [r.purpose for r in t.recordings] == ["request", "overflow"]


def test_hangup_while_asked_still_owes_a_call(make_services: Callable[..., CallServices],
                                              speech: Callable[[str], bytes],
                                              session_factory: sessionmaker[Session]) -> None:
    services = make_services(["我们小区已经停水两天了"])
    chan = QueueLeg([Step(speech("我们小区已经停水两天了"), hangup=True)])
    with pytest.raises(AgiHangup):
        _overflow(chan, services)
    with transaction(session_factory) as s:
        t = s.scalars(select(Ticket)).one()
        assert t.missed_callback and t.transcript == "我们小区已经停水两天了" and t.caller_number == CALLER


def test_a_ticket_that_landed_meanwhile_is_completed_not_doubled(session_factory: sessionmaker[Session]) -> None:
    """Intake's ticket was in its journal (database down) when the overflow leg began, and was
    replayed while the caller spoke: the overflow completes that ticket instead of opening another."""
    from console.missed import store_overflow_request
    from console.schemas import OverflowRequest
    from tickets.schemas import TicketDraft

    with transaction(session_factory) as s:
        call_id = service.start_call(s, channel="Local/s@citizen-0001;1", uniqueid=UNIQUEID, caller_number=CALLER,
                                     dialed_number="12345").id
        replayed = service.open_ticket(s, draft=TicketDraft(call_id=call_id, caller_number=CALLER,
                                                            transcript="停水"), actor="replay").id
    with transaction(session_factory) as s:
        tid = store_overflow_request(s, call_id=call_id, ticket_id=None, caller=CALLER, dialed="12345",
                                     request=OverflowRequest(text="我们小区已经停水两天了", speech_s=2.0))
    assert tid == replayed
    with session_factory() as s:
        assert s.scalars(select(Ticket).where(Ticket.call_id == call_id)).all() == [s.get(Ticket, replayed)]
