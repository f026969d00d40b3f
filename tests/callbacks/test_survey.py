"""The survey flow on a fake channel (real files, real VAD, scripted recognition): answers by voice and
by key, the reason when dissatisfied, 人工, silence, and a hangup while giving the reason."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from callbacks import service
from callbacks.models import CallbackAttempt, CallbackJob
from callbacks.rules import CallbackRules, WorkflowDeps
from foundation.db import transaction
from foundation.settings import Settings
from ivr_flows.ports import CallServices
from ivr_flows.survey import SurveyServices, run_survey, satisfaction_of
from routing.classify import Router
from tests.callbacks.conftest import CITIZEN, MONDAY_10
from tests.doubles.scripted_asr import ScriptedAsrEngine
from tests.flows.fakes import FakeChannel, NamedPrompts, Step
from tickets.lifecycle import Satisfaction
from tickets.models import Call, Ticket

SILENCE = b"\x00\x00" * 8000 * 2


@pytest.mark.parametrize(("text", "digit", "expected"), [
    ("满意", "", Satisfaction.SATISFIED), ("非常满意", "", Satisfaction.SATISFIED),
    ("基本满意", "", Satisfaction.BASICALLY_SATISFIED), ("还可以吧", "", Satisfaction.BASICALLY_SATISFIED),
    ("不满意", "", Satisfaction.DISSATISFIED), ("不太 满意", "", Satisfaction.DISSATISFIED),
    ("", "1", Satisfaction.SATISFIED), ("", "2", Satisfaction.BASICALLY_SATISFIED),
    ("", "3", Satisfaction.DISSATISFIED), ("你好", "", None), ("", "7", None), ("", "", None),
])
def test_satisfaction_of(text: str, digit: str, expected: Satisfaction | None) -> None:
    assert satisfaction_of(text, digit) == expected


@pytest.fixture
def call(session_factory: sessionmaker[Session], settings: Settings, rules: CallbackRules, deps: WorkflowDeps,
         reported_ticket: Callable[..., int], on_call_ticket: Callable[..., int]
         ) -> Callable[..., tuple[int, FakeChannel]]:
    """Claim a callback for a fresh ticket (after 反馈, or a 即办件 with on_call=True) and run the survey
    on a fake channel with the citizen's steps."""

    def run(steps: list[Step], script: list[str], *, on_call: bool = False, **chan: object) -> tuple[int, FakeChannel]:
        tid = on_call_ticket() if on_call else reported_ticket()
        with transaction(session_factory) as s:
            service.schedule_due(s, now=MONDAY_10, rules=rules, deps=deps)
        with transaction(session_factory) as s:
            (c,) = service.claim(s, now=MONDAY_10 + timedelta(hours=1), dialer_id="t", rules=rules, deps=deps,
                                 limit=1)
        calls = CallServices(settings=settings, session_factory=session_factory, prompts=NamedPrompts(),
                             asr=ScriptedAsrEngine({CITIZEN: script}), router=Router.load(None))  # type: ignore[arg-type]
        channel = FakeChannel(steps, **chan)  # type: ignore[arg-type]
        run_survey(channel, SurveyServices(calls, deps), channel_name="Local/13800138000@sim-callee-1;1",
                   uniqueid=c.channel_id)
        return tid, channel

    return run


def _state(sf: sessionmaker[Session], tid: int) -> tuple[Ticket, CallbackJob, CallbackAttempt]:
    with sf() as s:
        job = s.scalars(select(CallbackJob).where(CallbackJob.ticket_id == tid)).one()
        return s.get_one(Ticket, tid), job, s.scalars(select(CallbackAttempt)).one()


def test_satisfied_by_voice(call: Callable[..., tuple[int, FakeChannel]], speech: Callable[[str], bytes],
                            session_factory: sessionmaker[Session]) -> None:
    tid, chan = call([Step(speech("满意"))], ["满意"])
    t, job, a = _state(session_factory, tid)
    assert (t.status, t.satisfaction, job.outcome, a.answered_by) == ("closed", "satisfied", "satisfied", "voice")
    assert chan.played[0] == "prompt:survey_greeting"
    assert chan.played[1].startswith("text:您反映的金盘路路灯不亮，已由")
    assert chan.played[-1] == "prompt:survey_thanks" and chan.vars["HOTLINE_NEXT"] == "done"
    with session_factory() as s:
        c = s.scalars(select(Call)).one()
    assert (c.ticket_id, c.dialed_number, c.outcome) == (tid, "callback", "done")


def test_on_call_ticket_is_read_back_as_answered_on_the_call(
        call: Callable[..., tuple[int, FakeChannel]], speech: Callable[[str], bytes],
        session_factory: sessionmaker[Session]) -> None:
    tid, chan = call([Step(speech("基本满意"))], ["基本满意"], on_call=True)
    assert chan.played[1] == "text:您反映的公积金提取需要什么材料，已在来电时答复。"
    t, job, a = _state(session_factory, tid)
    assert (t.status, t.satisfaction, job.kind, job.outcome) == ("closed", "basically_satisfied", "on_call",
                                                                 "basically_satisfied")
    assert a.answered_by == "voice" and chan.played[-1] == "prompt:survey_thanks"


def test_key_3_then_reason_reopens(call: Callable[..., tuple[int, FakeChannel]], speech: Callable[[str], bytes],
                                   session_factory: sessionmaker[Session]) -> None:
    tid, chan = call([Step(speech("路灯还是不亮")), ], ["路灯还是不亮"],
                     press_during_prompt={"prompt:survey_question": "3"})
    t, job, a = _state(session_factory, tid)
    assert (t.status, t.satisfaction, a.answered_by) == ("dispatched", "dissatisfied", "dtmf")
    assert job.reason == "路灯还是不亮" and chan.played[-1] == "prompt:survey_thanks_reopened"


def test_unclear_then_key_falls_back_to_dtmf(call: Callable[..., tuple[int, FakeChannel]],
                                             speech: Callable[[str], bytes],
                                             session_factory: sessionmaker[Session]) -> None:
    tid, chan = call([Step(speech("你好你好")), Step(digit="2")], ["你好你好"])
    assert "prompt:survey_question_dtmf" in chan.played
    t, _job, a = _state(session_factory, tid)
    assert (t.satisfaction, a.answered_by) == ("basically_satisfied", "dtmf")


def test_silence_twice_is_no_answer_and_changes_nothing(call: Callable[..., tuple[int, FakeChannel]],
                                                        session_factory: sessionmaker[Session]) -> None:
    tid, chan = call([Step(SILENCE), Step(SILENCE)], [])
    t, job, a = _state(session_factory, tid)
    assert (t.status, job.state, a.satisfaction) == ("callback_pending", "dialing", "")
    assert a.answered_at is not None and chan.played[-1] == "prompt:survey_no_answer"


def test_operator_word_hands_over(call: Callable[..., tuple[int, FakeChannel]], speech: Callable[[str], bytes],
                                  session_factory: sessionmaker[Session]) -> None:
    tid, chan = call([Step(speech("我要转人工"))], ["转人工"])
    t, job, _ = _state(session_factory, tid)
    assert chan.vars["HOTLINE_NEXT"] == "operator" and chan.vars["TICKET_ID"] == str(tid)
    assert (job.state, job.outcome, t.status) == ("done", "operator", "callback_pending")


def test_hangup_while_giving_the_reason_keeps_it(call: Callable[..., tuple[int, FakeChannel]],
                                                 speech: Callable[[str], bytes],
                                                 session_factory: sessionmaker[Session]) -> None:
    tid, _ = call([Step(speech("不满意")), Step(speech("垃圾还在"), hangup=True)], ["不满意", "垃圾还在"])
    t, job, _ = _state(session_factory, tid)
    assert (t.status, job.outcome, job.reason) == ("dispatched", "dissatisfied", "垃圾还在")


def test_unknown_channel_is_not_surveyed(session_factory: sessionmaker[Session], settings: Settings,
                                         deps: WorkflowDeps) -> None:
    calls = CallServices(settings=settings, session_factory=session_factory, prompts=NamedPrompts(),
                         asr=ScriptedAsrEngine({}), router=Router.load(None))  # type: ignore[arg-type]
    chan = FakeChannel([])
    run_survey(chan, SurveyServices(calls, deps), channel_name="PJSIP/x-1", uniqueid="nope")
    assert chan.played == [] and chan.vars == {"HOTLINE_NEXT": "done"}
