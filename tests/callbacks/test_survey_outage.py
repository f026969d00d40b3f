"""The satisfaction survey with the database unavailable (real SQLite / PostgreSQL, real files, real
VAD, scripted recognition): before it starts, the citizen is told we will call again and the dialer
does; once it has started, the answer goes to the call's journal and the replay applies it once."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from callbacks import service
from callbacks.models import AttemptResult, CallbackAttempt, CallbackJob
from callbacks.outcomes import finish_attempt
from callbacks.rules import CallbackRules, WorkflowDeps
from foundation.db import make_engine, transaction
from foundation.settings import Settings
from ivr_flows.ports import CallServices
from ivr_flows.replay import replay_journal
from ivr_flows.survey import SurveyServices, run_survey
from routing.classify import Router
from tests.callbacks.conftest import CITIZEN, MONDAY_10
from tests.doubles.scripted_asr import ScriptedAsrEngine
from tests.faults.outages import BreakingChannel, journal_ops, journals, unreachable_url
from tests.flows.fakes import NamedPrompts, Step
from tickets.models import Call, Recording, Ticket, TicketEvent

ANSWERED_AT = MONDAY_10 + timedelta(hours=1)


@pytest.fixture
def gone(settings: Settings) -> Iterator[Engine]:
    engine = make_engine(unreachable_url(settings))
    yield engine
    engine.dispose()


@dataclass
class Survey:
    """A claimed callback, and a session factory for the survey that the test can point elsewhere."""

    ticket_id: int
    channel_id: str
    factory: sessionmaker[Session]
    services: SurveyServices


@pytest.fixture
def survey(session_factory: sessionmaker[Session], settings: Settings, rules: CallbackRules, deps: WorkflowDeps,
           reported_ticket: Callable[..., int]) -> Callable[[list[str]], Survey]:
    def claim(script: list[str]) -> Survey:
        tid = reported_ticket()
        with transaction(session_factory) as s:
            service.schedule_due(s, now=MONDAY_10, rules=rules, deps=deps)
        with transaction(session_factory) as s:
            (c,) = service.claim(s, now=ANSWERED_AT, dialer_id="t", rules=rules, deps=deps, limit=1)
        factory = sessionmaker(bind=session_factory.kw["bind"], expire_on_commit=False)
        calls = CallServices(settings=settings, session_factory=factory, prompts=NamedPrompts(),
                             asr=ScriptedAsrEngine({CITIZEN: script}), router=Router.load(None))  # type: ignore[arg-type]
        return Survey(tid, c.channel_id, factory, SurveyServices(calls, deps))

    return claim


def _run(sv: Survey, chan: BreakingChannel) -> None:
    run_survey(chan, sv.services, channel_name="Local/13800138000@sim-callee-1;1", uniqueid=sv.channel_id)


def _state(sf: sessionmaker[Session], tid: int) -> tuple[Ticket, CallbackJob, CallbackAttempt]:
    with sf() as s:
        job = s.scalars(select(CallbackJob).where(CallbackJob.ticket_id == tid)).one()
        return s.get_one(Ticket, tid), job, s.scalars(select(CallbackAttempt)).one()


def _finish(sf: sessionmaker[Session], channel_id: str, rules: CallbackRules, deps: WorkflowDeps) -> str:
    """The dialer's end of the attempt (the call is over)."""
    with transaction(sf) as s:
        return str(finish_attempt(s, channel_id=channel_id, result=AttemptResult.ANSWERED,
                                  now=ANSWERED_AT + timedelta(minutes=2), rules=rules, deps=deps))


def test_database_down_when_the_citizen_picks_up(survey: Callable[[list[str]], Survey], gone: Engine,
                                                 session_factory: sessionmaker[Session], settings: Settings,
                                                 rules: CallbackRules, deps: WorkflowDeps) -> None:
    sv = survey(["满意"])
    sv.factory.configure(bind=gone)
    chan = BreakingChannel([])
    _run(sv, chan)
    assert chan.played == ["prompt:survey_unavailable"] and chan.vars == {"HOTLINE_NEXT": "done"}
    assert journals(settings) == []  # nothing was said: nothing to keep
    assert _finish(session_factory, sv.channel_id, rules, deps) == "pending"  # called again later
    t, job, a = _state(session_factory, sv.ticket_id)
    assert t.status == "callback_pending" and not a.satisfaction
    # our outage, not the citizen's doing: not one of their attempts, and the next waits for the longest backoff
    assert a.result == "system_fault" and job.next_attempt_at == rules.hours.next_start(
        ANSWERED_AT + timedelta(minutes=2) + rules.fault_backoff)


def test_the_answer_given_during_an_outage_is_applied_once(
        survey: Callable[[list[str]], Survey], gone: Engine, speech: Callable[[str], bytes],
        session_factory: sessionmaker[Session], settings: Settings, rules: CallbackRules,
        deps: WorkflowDeps) -> None:
    """The database goes away as the citizen answers 不满意: the survey goes on to the reason and the
    thanks; the dialer ends the attempt meanwhile (no answer in the database: it would call again);
    the replay applies the answer: reopened with the reason, and no further call."""
    reason = "路灯还是不亮"
    sv = survey(["不满意", reason])
    chan = BreakingChannel([Step(speech("不满意")), Step(speech(reason))],
                           on_turn={1: lambda: sv.factory.configure(bind=gone)})
    _run(sv, chan)
    assert chan.played[-1] == "prompt:survey_thanks_reopened"
    [journal] = journals(settings)
    assert journal_ops(journal) == ["finish_recording", "survey_answer", "add_recording", "finish_recording",
                             "survey_reason", "survey_complete", "end_call"]
    assert _finish(session_factory, sv.channel_id, rules, deps) == "pending"

    backup = settings.home / "survey-copy.jsonl"
    shutil.copy(journal, backup)
    report = replay_journal(session_factory, settings.journal_dir, deps=lambda: deps)
    assert (report.replayed, report.recovered, report.rejected) == (1, 0, 0)
    t, job, a = _state(session_factory, sv.ticket_id)
    assert (t.status, t.satisfaction) == ("dispatched", "dissatisfied")
    assert (job.state, job.outcome, job.reason) == ("done", "dissatisfied", reason)
    assert (a.satisfaction, a.answered_by, a.reason_text) == ("dissatisfied", "voice", reason)
    with session_factory() as s:
        call = s.scalars(select(Call)).one()
        assert (call.ticket_id, call.outcome) == (sv.ticket_id, "done")
        assert [r.purpose for r in s.scalars(select(Recording).where(Recording.ticket_id == sv.ticket_id))] == \
            ["satisfaction", "reason"]
        events = s.scalar(select(func.count()).select_from(TicketEvent)) or 0
    shutil.copy(backup, journal)  # replayed twice: nothing applied twice
    assert replay_journal(session_factory, settings.journal_dir, deps=lambda: deps).replayed == 1
    with session_factory() as s:
        assert (s.scalar(select(func.count()).select_from(TicketEvent)) or 0) == events
    assert _state(session_factory, sv.ticket_id)[0].status == "dispatched"


def test_a_survey_journal_without_the_rules_waits_aside(
        survey: Callable[[list[str]], Survey], gone: Engine, speech: Callable[[str], bytes],
        session_factory: sessionmaker[Session], settings: Settings) -> None:
    """A replayer that cannot apply a survey's answer does not drop it: the journal is set aside."""
    sv = survey(["满意"])
    chan = BreakingChannel([Step(speech("满意"))], on_turn={1: lambda: sv.factory.configure(bind=gone)})
    _run(sv, chan)
    report = replay_journal(session_factory, settings.journal_dir)
    assert (report.replayed, report.rejected) == (0, 1)
    assert len(list((settings.journal_dir / "rejected").glob("*.jsonl"))) == 1


def test_a_survey_whose_process_died_after_the_answer(
        survey: Callable[[list[str]], Survey], gone: Engine, speech: Callable[[str], bytes],
        session_factory: sessionmaker[Session], settings: Settings, rules: CallbackRules,
        deps: WorkflowDeps) -> None:
    """Database gone at the answer, then the process dies while the citizen gives the reason: the
    replay closes the call and applies the answer it kept, so nobody rings the citizen again."""
    sv = survey(["不满意", "路灯还是不亮"])

    def crash() -> None:
        raise RuntimeError("the survey's process dies here")

    chan = BreakingChannel([Step(speech("不满意")), Step(speech("路灯还是不亮"))],
                           on_turn={1: lambda: sv.factory.configure(bind=gone), 2: crash})
    with pytest.raises(RuntimeError):
        _run(sv, chan)
    [journal] = journals(settings)
    assert "survey_answer" in journal_ops(journal) and "survey_complete" not in journal_ops(journal)
    assert _finish(session_factory, sv.channel_id, rules, deps) == "pending"
    report = replay_journal(session_factory, settings.journal_dir, deps=lambda: deps)
    assert (report.replayed, report.recovered, report.rejected) == (1, 1, 0)
    t, job, a = _state(session_factory, sv.ticket_id)
    assert (t.status, job.state, job.outcome, a.satisfaction) == ("dispatched", "done", "dissatisfied", "dissatisfied")
    with session_factory() as s:
        assert s.scalars(select(Call)).one().transfer_reason == "agi_lost"
