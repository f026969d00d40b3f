"""The intake flow on a fake channel: real files, real VAD, real router, scripted recognition."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from asr.engine import UnavailableEngine
from ivr_flows.intake import run_intake
from ivr_flows.ports import CallServices
from tests.flows.conftest import CALLER
from tests.flows.fakes import FakeChannel, Step
from tickets import service
from tickets.models import Call, Ticket

SILENCE = b"\x00\x00" * 8000 * 2


def _run(chan: FakeChannel, services: CallServices, dialed: str = "12345") -> None:
    run_intake(chan, services, channel_name="Local/s@citizen-0001;1", uniqueid="1700000000.1",
               caller=CALLER, dialed=dialed)


def _only_ticket(factory: sessionmaker[Session]) -> Ticket | None:
    with factory() as s:
        tickets = s.scalars(select(Ticket)).all()
        assert len(tickets) <= 1
        return service.get_ticket(s, ticket_id=tickets[0].id) if tickets else None


def _call(factory: sessionmaker[Session]) -> Call:
    with factory() as s:
        return s.scalars(select(Call)).one()


def test_confirmed_request_becomes_ticket_and_goes_to_operator(
        make_services: Callable[..., CallServices], speech: Callable[[str], bytes],
        session_factory: sessionmaker[Session]) -> None:
    request = "龙华区金盘路的路灯坏了好几天了晚上很黑"
    services = make_services([request, "对"])
    chan = FakeChannel([Step(speech(request)), Step(speech("对"))])
    _run(chan, services)
    t = _only_ticket(session_factory)
    assert t is not None and t.confirmed_by_caller and not t.incomplete
    assert t.transcript == request
    assert "金盘路" in t.place
    assert t.department_candidates and len(t.department_candidates) <= 3
    assert chan.vars["TICKET_ID"] == str(t.id) and chan.vars["HOTLINE_NEXT"] == "operator"
    assert chan.played[0] == "prompt:greeting"
    assert "prompt:ask_place" not in chan.played  # the place was in the request
    readback = chan.played.index("prompt:readback_intro")
    assert chan.played[readback + 1].startswith("text:") and "金盘路" in chan.played[readback + 1]
    intro = chan.played.index("prompt:ticket_number_intro")  # the caller hears the ticket number
    assert chan.played[intro + 1:intro + 1 + len(t.number)] == [f"prompt:digit_{d}" for d in t.number]
    assert chan.played[-1] == "prompt:to_operator"
    assert [r.purpose for r in t.recordings] == ["request", "confirm"]
    assert all(Path(r.path).exists() for r in t.recordings)
    assert _call(session_factory).outcome == "operator"


def test_place_is_asked_once_when_missing(make_services: Callable[..., CallServices],
                                          speech: Callable[[str], bytes],
                                          session_factory: sessionmaker[Session]) -> None:
    services = make_services(["公司拖欠我三个月工资不发", "美兰区白龙街道", "是的"])
    chan = FakeChannel([Step(speech("公司拖欠我三个月工资不发")), Step(speech("美兰区白龙街道")),
                        Step(speech("是的"))])
    _run(chan, services)
    assert chan.played.count("prompt:ask_place") == 1
    t = _only_ticket(session_factory)
    assert t is not None and t.confirmed_by_caller and "白龙街道" in t.place


def test_operator_word_mid_call_reaches_queue_at_once(make_services: Callable[..., CallServices],
                                                      speech: Callable[[str], bytes],
                                                      session_factory: sessionmaker[Session]) -> None:
    services = make_services(["小区门口垃圾没人清理", "我要转人工"])
    chan = FakeChannel([Step(speech("小区门口垃圾没人清理")), Step(speech("我要转人工"))])
    _run(chan, services)
    assert chan.vars["HOTLINE_NEXT"] == "operator"
    assert chan.vars["HOTLINE_REASON"] == "caller_asked_operator"
    assert len(chan.recorded) == 2  # nothing more was asked after 人工
    t = _only_ticket(session_factory)
    assert t is not None and not t.confirmed_by_caller and "垃圾" in t.transcript
    assert chan.vars["TICKET_ID"] == str(t.id)


def test_zero_during_greeting_reaches_queue_without_ticket(make_services: Callable[..., CallServices],
                                                           session_factory: sessionmaker[Session]) -> None:
    chan = FakeChannel([], press_during_prompt={"prompt:greeting": "0"})
    _run(chan, make_services([]))
    assert chan.vars["HOTLINE_NEXT"] == "operator" and chan.vars["HOTLINE_REASON"] == "caller_pressed_0"
    assert chan.recorded == [] and "TICKET_ID" not in chan.vars
    assert _only_ticket(session_factory) is None


@pytest.mark.parametrize(("said", "line", "kind"), [
    ("我家厨房着火了", "119", "fire"),
    ("救命啊有人拿刀打架", "110", "police"),
    ("我爸突然晕倒了", "120", "medical"),
])
def test_emergency_goes_straight_to_its_line(make_services: Callable[..., CallServices],
                                             speech: Callable[[str], bytes],
                                             session_factory: sessionmaker[Session],
                                             said: str, line: str, kind: str) -> None:
    chan = FakeChannel([Step(speech(said))])
    _run(chan, make_services([said]))
    assert chan.vars["HOTLINE_NEXT"] == "emergency" and chan.vars["HOTLINE_EMERGENCY"] == line
    t = _only_ticket(session_factory)
    assert t is not None and t.emergency == kind
    assert _call(session_factory).outcome == "emergency"


def test_two_failed_recognitions_reach_a_person_never_a_loop(
        make_services: Callable[..., CallServices], session_factory: sessionmaker[Session]) -> None:
    chan = FakeChannel([Step(SILENCE), Step(SILENCE), Step(SILENCE)])
    _run(chan, make_services(["路灯坏了", "路灯坏了"]))  # scripted, but no speech arrives: ''
    assert len(chan.recorded) == 2
    assert chan.played.count("prompt:repeat") == 1
    assert chan.vars["HOTLINE_REASON"] == "not_recognised"
    assert chan.played[-1] == "prompt:to_operator_unrecognised"
    assert _only_ticket(session_factory) is None


def test_rejected_readback_twice_reaches_a_person(make_services: Callable[..., CallServices],
                                                  speech: Callable[[str], bytes],
                                                  session_factory: sessionmaker[Session]) -> None:
    a, b = "金盘路有工厂排放污水", "金盘路工厂晚上排放黑烟"
    chan = FakeChannel([Step(speech(a)), Step(speech("不对")), Step(speech(b)), Step(speech("不对"))])
    _run(chan, make_services([a, "不对", b, "不对"]))
    assert chan.played.count("prompt:retry_request") == 1
    assert chan.vars["HOTLINE_REASON"] == "caller_rejected_readback"
    t = _only_ticket(session_factory)
    assert t is not None and not t.confirmed_by_caller and b in t.transcript


def test_dtmf_one_confirms(make_services: Callable[..., CallServices], speech: Callable[[str], bytes],
                          session_factory: sessionmaker[Session]) -> None:
    request = "美兰区海府路公交站的站牌倒了"
    chan = FakeChannel([Step(speech(request))], press_during_prompt={"prompt:confirm_question": "1"})
    _run(chan, make_services([request]))
    t = _only_ticket(session_factory)
    assert t is not None and t.confirmed_by_caller


def test_hangup_while_speaking_keeps_recording_and_partial_ticket(
        make_services: Callable[..., CallServices], speech: Callable[[str], bytes],
        session_factory: sessionmaker[Session]) -> None:
    said = "我们小区已经停水两天了"
    chan = FakeChannel([Step(speech(said), hangup=True)])
    _run(chan, make_services([said]))
    t = _only_ticket(session_factory)
    assert t is not None and t.incomplete and not t.confirmed_by_caller
    assert t.transcript == said
    assert len(t.recordings) == 1 and t.recordings[0].ended_by == "hangup"
    assert t.recordings[0].speech_seconds > 0.5 and Path(t.recordings[0].path).stat().st_size > 8000
    assert _call(session_factory).outcome == "hangup"


def test_hangup_during_greeting_leaves_no_ticket(make_services: Callable[..., CallServices],
                                                 session_factory: sessionmaker[Session]) -> None:
    chan = FakeChannel([], hangup_on_prompt="greeting")
    _run(chan, make_services([]))
    assert _only_ticket(session_factory) is None
    assert _call(session_factory).outcome == "hangup"


def test_without_asr_speech_is_kept_for_operator_transcription(
        make_services: Callable[..., CallServices], speech: Callable[[str], bytes],
        session_factory: sessionmaker[Session]) -> None:
    chan = FakeChannel([Step(speech("龙华区金盘路的路灯坏了"))])
    _run(chan, make_services(asr=UnavailableEngine("no model in this test")))
    assert chan.vars["HOTLINE_REASON"] == "asr_unavailable"
    t = _only_ticket(session_factory)
    assert t is not None and t.needs_transcription and t.transcript == ""
    assert len(t.recordings) == 1 and t.recordings[0].speech_seconds > 0.5


def test_dialed_legacy_number_is_a_routing_hint(make_services: Callable[..., CallServices],
                                                speech: Callable[[str], bytes],
                                                session_factory: sessionmaker[Session]) -> None:
    said = "龙华区金盘路附近有股很难闻的味道"
    chan = FakeChannel([Step(speech(said)), Step(speech("对"))])
    _run(chan, make_services([said, "对"]), dialed="12369")
    t = _only_ticket(session_factory)
    assert t is not None and t.dialed_number == "12369"
    assert t.department_id == "eco_env"
