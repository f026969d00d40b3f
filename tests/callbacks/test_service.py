"""Scheduling on 反馈, 不回访 and anonymous tickets, claims, attempts and backoff, outcomes on the ticket
(on SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from callbacks import outcomes, service
from callbacks.models import AttemptResult, CallbackAttempt, CallbackJob, JobState
from callbacks.rules import CallbackRules, WorkflowDeps
from foundation.db import transaction
from tests.callbacks.conftest import CITIZEN, MONDAY_10, SH
from tickets.lifecycle import Satisfaction
from tickets.models import Ticket, TicketEvent
from tickets.workflow import apply_action


def _schedule(sf: sessionmaker[Session], rules: CallbackRules, deps: WorkflowDeps,
              now: datetime = MONDAY_10) -> service.ScheduleReport:
    with transaction(sf) as s:
        return service.schedule_due(s, now=now, rules=rules, deps=deps)


def _claim(sf: sessionmaker[Session], rules: CallbackRules, deps: WorkflowDeps, now: datetime,
           dialer: str = "d1", limit: int = 5) -> list[service.Claim]:
    with transaction(sf) as s:
        return service.claim(s, now=now, dialer_id=dialer, rules=rules, deps=deps, limit=limit)


def _finish(sf: sessionmaker[Session], rules: CallbackRules, deps: WorkflowDeps, c: service.Claim,
            result: AttemptResult, now: datetime) -> JobState:
    with transaction(sf) as s:
        return outcomes.finish_attempt(s, channel_id=c.channel_id, result=result, now=now, rules=rules, deps=deps)


def _ticket(sf: sessionmaker[Session], tid: int) -> tuple[Ticket, list[str]]:
    with sf() as s:
        t = s.get_one(Ticket, tid)
        kinds = list(s.scalars(select(TicketEvent.kind).where(TicketEvent.ticket_id == tid).order_by(TicketEvent.id)))
        return t, kinds


def _job(sf: sessionmaker[Session], tid: int) -> CallbackJob:
    with sf() as s:
        return s.scalars(select(CallbackJob).where(CallbackJob.ticket_id == tid)).one()


def test_result_reported_gets_a_job_after_the_delay_inside_calling_hours(
        session_factory: sessionmaker[Session], rules: CallbackRules, deps: WorkflowDeps,
        reported_ticket: Callable[..., int]) -> None:
    tid = reported_ticket()
    report = _schedule(session_factory, rules, deps, now=MONDAY_10 + timedelta(hours=1, minutes=30))
    assert report.scheduled == [tid]
    t, kinds = _ticket(session_factory, tid)
    assert t.status == "callback_pending" and kinds[-1] == "callback_scheduled"
    job = _job(session_factory, tid)
    # 11:30 + 1 h delay is the lunch break: 14:00
    assert (job.round, job.state, job.number) == (1, "pending", CITIZEN)
    assert job.next_attempt_at == datetime(2025, 11, 24, 14, 0, tzinfo=SH)
    assert _schedule(session_factory, rules, deps).scheduled == []  # idempotent


@pytest.mark.parametrize(("flags", "caller", "why"), [
    ({"anonymous": True}, CITIZEN, "匿名"),
    ({"no_callback": True}, CITIZEN, "市民要求不回访"),
    ({}, "", "无来电号码"),
])
def test_no_callback_for_anonymous_declined_or_numberless(
        session_factory: sessionmaker[Session], rules: CallbackRules, deps: WorkflowDeps,
        reported_ticket: Callable[..., int], flags: dict[str, bool], caller: str, why: str) -> None:
    tid = reported_ticket(caller=caller, **flags)
    report = _schedule(session_factory, rules, deps)
    assert report.scheduled == [] and why in report.closed_without[tid]
    t, _ = _ticket(session_factory, tid)
    assert t.status == "closed" and t.satisfaction == ""
    with session_factory() as s:
        assert s.scalars(select(CallbackJob)).all() == []
        closed = s.scalars(select(TicketEvent).where(TicketEvent.ticket_id == tid, TicketEvent.kind == "closed")).one()
        assert why in closed.reason and closed.data["outcome"] == "no_callback"


def test_opted_out_citizen_is_never_called(session_factory: sessionmaker[Session], rules: CallbackRules,
                                           deps: WorkflowDeps, reported_ticket: Callable[..., int]) -> None:
    with transaction(session_factory) as s:
        service.opt_out(s, number="138-0013-8000", reason="电话告知不接受回访")
        service.opt_out(s, number=CITIZEN)  # idempotent
    tid = reported_ticket()
    assert "不接受回访" in _schedule(session_factory, rules, deps).closed_without[tid]
    with transaction(session_factory) as s, pytest.raises(service.InvalidNumber):
        service.opt_out(s, number="not a number")


def test_opting_out_after_scheduling_cancels_the_call(session_factory: sessionmaker[Session],
                                                     rules: CallbackRules, deps: WorkflowDeps,
                                                     reported_ticket: Callable[..., int]) -> None:
    tid = reported_ticket()
    assert _schedule(session_factory, rules, deps).scheduled == [tid]
    with transaction(session_factory) as s:
        service.opt_out(s, number=CITIZEN, reason="来电要求不再回访")
    assert _claim(session_factory, rules, deps, MONDAY_10 + timedelta(hours=1)) == []  # due, never rung
    t, kinds = _ticket(session_factory, tid)
    assert t.status == "closed" and t.satisfaction == "" and kinds[-1] == "closed"
    job = _job(session_factory, tid)
    assert (job.state, job.outcome, job.attempts) == ("done", "opted_out", 0)


def test_nothing_is_claimed_before_due_or_outside_calling_hours(
        session_factory: sessionmaker[Session], rules: CallbackRules, deps: WorkflowDeps,
        reported_ticket: Callable[..., int]) -> None:
    reported_ticket()
    _schedule(session_factory, rules, deps)  # due 11:00
    assert _claim(session_factory, rules, deps, MONDAY_10 + timedelta(minutes=30)) == []  # not due yet
    assert _claim(session_factory, rules, deps, datetime(2025, 11, 24, 21, 0, tzinfo=SH)) == []  # night
    assert _claim(session_factory, rules, deps, datetime(2025, 11, 29, 11, 0, tzinfo=SH)) == []  # Saturday
    claims = _claim(session_factory, rules, deps, MONDAY_10 + timedelta(hours=1))
    assert len(claims) == 1 and claims[0].number == CITIZEN and claims[0].attempt_no == 1


def test_busy_and_no_answer_back_off_then_unreachable(
        session_factory: sessionmaker[Session], rules: CallbackRules, deps: WorkflowDeps,
        reported_ticket: Callable[..., int]) -> None:
    tid = reported_ticket()
    _schedule(session_factory, rules, deps)
    now = MONDAY_10 + timedelta(hours=1)
    (c1,) = _claim(session_factory, rules, deps, now)
    assert _claim(session_factory, rules, deps, now, dialer="d2") == []  # claimed: nobody else gets it
    assert _finish(session_factory, rules, deps, c1, AttemptResult.BUSY, now) == JobState.PENDING
    assert _job(session_factory, tid).next_attempt_at == now + timedelta(minutes=30)
    assert _claim(session_factory, rules, deps, now + timedelta(minutes=29)) == []
    (c2,) = _claim(session_factory, rules, deps, now + timedelta(minutes=30))
    assert c2.attempt_no == 2 and c2.channel_id != c1.channel_id
    later = now + timedelta(minutes=31)  # 11:31 + 2 h = 13:31, lunch: 14:00
    assert _finish(session_factory, rules, deps, c2, AttemptResult.NO_ANSWER, later) == JobState.PENDING
    assert _job(session_factory, tid).next_attempt_at == datetime(2025, 11, 24, 14, 0, tzinfo=SH)
    (c3,) = _claim(session_factory, rules, deps, datetime(2025, 11, 24, 14, 0, tzinfo=SH))
    assert _finish(session_factory, rules, deps, c3, AttemptResult.FAILED, later) == JobState.DONE
    # the same end reported twice changes nothing
    assert _finish(session_factory, rules, deps, c3, AttemptResult.BUSY, later) == JobState.DONE
    job = _job(session_factory, tid)
    assert (job.outcome, job.attempts) == ("unreachable", 3)
    t, kinds = _ticket(session_factory, tid)
    assert t.status == "closed" and kinds[-2:] == ["callback_unreachable", "callback_attempts_exhausted"]
    with session_factory() as s:
        results = s.scalars(select(CallbackAttempt.result).order_by(CallbackAttempt.number)).all()
    assert results == ["busy", "no_answer", "failed"]


def _answer(sf: sessionmaker[Session], deps: WorkflowDeps, c: service.Claim, sat: Satisfaction,
            reason: str = "") -> None:
    with transaction(sf) as s:
        assert outcomes.start_survey(s, channel_id=c.channel_id, now=MONDAY_10) is not None
    with transaction(sf) as s:
        outcomes.note_answer(s, channel_id=c.channel_id, satisfaction=sat, answered_by="voice")
    if reason:
        with transaction(sf) as s:
            outcomes.note_reason(s, channel_id=c.channel_id, reason=reason)
    with transaction(sf) as s:
        assert outcomes.complete_survey(s, channel_id=c.channel_id, now=MONDAY_10, deps=deps)
    with transaction(sf) as s:
        assert not outcomes.complete_survey(s, channel_id=c.channel_id, now=MONDAY_10, deps=deps)  # once


def test_attempts_our_side_spoiled_do_not_use_up_the_citizens(
        session_factory: sessionmaker[Session], rules: CallbackRules, deps: WorkflowDeps,
        reported_ticket: Callable[..., int]) -> None:
    """Picked up while the survey could not start (database or AGI server down), or the dialer died:
    retried after the longest backoff, not counted; only past max_system_faults of them does the job end."""
    tid = reported_ticket()
    _schedule(session_factory, rules, deps)
    now = MONDAY_10 + timedelta(hours=1)
    ends = [AttemptResult.NO_RESPONSE, AttemptResult.BUSY, AttemptResult.ANSWERED, AttemptResult.BUSY]
    for i, end in enumerate(ends):
        (c,) = _claim(session_factory, rules, deps, now)
        assert _finish(session_factory, rules, deps, c, end, now) == JobState.PENDING, i
        wait = timedelta(hours=2) if end != AttemptResult.BUSY else timedelta(minutes=30 if i == 1 else 120)
        assert _job(session_factory, tid).next_attempt_at == rules.hours.next_start(now + wait), i
        now = _job(session_factory, tid).next_attempt_at
    # two citizen attempts (busy) and two faults so far; the dialer dies on the fifth
    (c,) = _claim(session_factory, rules, deps, now)
    with transaction(session_factory) as s:
        assert service.recover(s, expired=service.Expired(c.job_id, c.channel_id), now=now + rules.lease * 2,
                               rules=rules, deps=deps)
    assert _job(session_factory, tid).state == JobState.PENDING
    now = _job(session_factory, tid).next_attempt_at
    (c,) = _claim(session_factory, rules, deps, now)  # the fourth fault: one more than allowed
    assert _finish(session_factory, rules, deps, c, AttemptResult.NO_RESPONSE, now) == JobState.DONE
    job = _job(session_factory, tid)
    assert (job.outcome, job.attempts) == ("unreachable", 6)
    with session_factory() as s:
        results = s.scalars(select(CallbackAttempt.result).order_by(CallbackAttempt.number)).all()
    assert results == ["system_fault", "busy", "system_fault", "busy", "interrupted", "system_fault"]


def test_a_picked_up_survey_that_started_is_the_citizens_attempt(
        session_factory: sessionmaker[Session], rules: CallbackRules, deps: WorkflowDeps,
        reported_ticket: Callable[..., int]) -> None:
    """The survey began (we asked) and got no answer: that counts, as before."""
    tid = reported_ticket()
    _schedule(session_factory, rules, deps)
    now = MONDAY_10 + timedelta(hours=1)
    for _ in range(rules.max_attempts):
        (c,) = _claim(session_factory, rules, deps, now)
        with transaction(session_factory) as s:
            outcomes.start_survey(s, channel_id=c.channel_id, now=now)
        _finish(session_factory, rules, deps, c, AttemptResult.NO_RESPONSE, now)
        now = _job(session_factory, tid).next_attempt_at
    job = _job(session_factory, tid)
    assert (job.state, job.outcome, job.attempts) == ("done", "unreachable", 3)


def test_satisfied_closes_the_ticket_with_the_answer(
        session_factory: sessionmaker[Session], rules: CallbackRules, deps: WorkflowDeps,
        reported_ticket: Callable[..., int]) -> None:
    tid = reported_ticket()
    _schedule(session_factory, rules, deps)
    (c,) = _claim(session_factory, rules, deps, MONDAY_10 + timedelta(hours=1))
    _answer(session_factory, deps, c, Satisfaction.BASICALLY_SATISFIED)
    t, kinds = _ticket(session_factory, tid)
    assert (t.status, t.satisfaction) == ("closed", "basically_satisfied")
    assert kinds[-2:] == ["closed", "callback_answered"]
    assert _finish(session_factory, rules, deps, c, AttemptResult.NO_RESPONSE, MONDAY_10) == JobState.DONE
    with session_factory() as s:
        assert s.scalars(select(CallbackAttempt.result)).one() == "answered"
    assert _job(session_factory, tid).outcome == "basically_satisfied"


def test_dissatisfied_reopens_to_the_department_with_the_reason_under_supervision(
        session_factory: sessionmaker[Session], rules: CallbackRules, deps: WorkflowDeps,
        reported_ticket: Callable[..., int]) -> None:
    tid = reported_ticket()
    _schedule(session_factory, rules, deps)
    (c,) = _claim(session_factory, rules, deps, MONDAY_10 + timedelta(hours=1))
    _answer(session_factory, deps, c, Satisfaction.DISSATISFIED, reason="路灯还是不亮")
    t, kinds = _ticket(session_factory, tid)
    assert kinds[-2:] == ["reopened", "callback_answered"]
    assert (t.status, t.department_id, t.satisfaction) == ("dispatched", "urban_mgmt", "dissatisfied")
    assert t.supervision_level >= 1 and t.closed_at is None and t.sign_by is not None
    with session_factory() as s:
        reopened = s.scalars(select(TicketEvent).where(TicketEvent.ticket_id == tid,
                                                       TicketEvent.kind == "reopened")).one()
    assert reopened.reason == "回访不满意：路灯还是不亮" and reopened.data["from"] == "callback_pending"
    # The department reports again: round 2 of the callback, a new job.
    for action in ("sign", "start", "report_result"):
        with transaction(session_factory) as s:
            apply_action(s, ticket_id=tid, action=action, role="department", actor="d", now=MONDAY_10,
                                 policy=deps.policy, catalog=deps.catalog)
    _schedule(session_factory, rules, deps)
    with session_factory() as s:
        assert s.scalars(select(CallbackJob.round).order_by(CallbackJob.round)).all() == [1, 2]


def test_answer_given_then_dialer_finishes_first_still_applies_once(
        session_factory: sessionmaker[Session], rules: CallbackRules, deps: WorkflowDeps,
        reported_ticket: Callable[..., int]) -> None:
    """The survey process died after hearing 满意: the dialer's end of call applies the answer."""
    tid = reported_ticket()
    _schedule(session_factory, rules, deps)
    (c,) = _claim(session_factory, rules, deps, MONDAY_10 + timedelta(hours=1))
    with transaction(session_factory) as s:
        outcomes.start_survey(s, channel_id=c.channel_id, now=MONDAY_10)
        outcomes.note_answer(s, channel_id=c.channel_id, satisfaction=Satisfaction.SATISFIED, answered_by="dtmf")
    assert _finish(session_factory, rules, deps, c, AttemptResult.NO_RESPONSE, MONDAY_10) == JobState.DONE
    t, kinds = _ticket(session_factory, tid)
    assert (t.status, t.satisfaction) == ("closed", "satisfied") and kinds.count("callback_answered") == 1


def test_answered_without_an_answer_is_retried(
        session_factory: sessionmaker[Session], rules: CallbackRules, deps: WorkflowDeps,
        reported_ticket: Callable[..., int]) -> None:
    reported_ticket()
    _schedule(session_factory, rules, deps)
    (c,) = _claim(session_factory, rules, deps, MONDAY_10 + timedelta(hours=1))
    with transaction(session_factory) as s:
        outcomes.start_survey(s, channel_id=c.channel_id, now=MONDAY_10)
    assert _finish(session_factory, rules, deps, c, AttemptResult.ANSWERED, MONDAY_10) == JobState.PENDING
    with session_factory() as s:
        assert s.scalars(select(CallbackAttempt.result)).one() == "no_response"


def test_invalid_number_is_never_dialled(session_factory: sessionmaker[Session], rules: CallbackRules,
                                         deps: WorkflowDeps, reported_ticket: Callable[..., int]) -> None:
    tid = reported_ticket(caller="12;Dial(x)")
    _schedule(session_factory, rules, deps)
    now = MONDAY_10 + timedelta(hours=1)
    for _ in range(3):
        assert _claim(session_factory, rules, deps, now) == []
        now += timedelta(hours=3)
        now = rules.hours.next_start(now)
    job = _job(session_factory, tid)
    assert (job.state, job.outcome, job.attempts) == ("done", "unreachable", 3)
    with session_factory() as s:
        assert set(s.scalars(select(CallbackAttempt.result))) == {"invalid_number"}


def test_expired_claim_is_recovered_once_and_retried(
        session_factory: sessionmaker[Session], rules: CallbackRules, deps: WorkflowDeps,
        reported_ticket: Callable[..., int]) -> None:
    tid = reported_ticket()
    _schedule(session_factory, rules, deps)
    now = MONDAY_10 + timedelta(hours=1)
    (c,) = _claim(session_factory, rules, deps, now)
    with session_factory() as s:
        assert service.expired_claims(s, now=now + timedelta(seconds=60), rules=rules) == []  # lease running
        (e,) = service.expired_claims(s, now=now + timedelta(seconds=121), rules=rules)
    assert e.channel_id == c.channel_id
    later = now + timedelta(seconds=121)
    with transaction(session_factory) as s:
        assert service.recover(s, expired=e, now=later, rules=rules, deps=deps)
    with transaction(session_factory) as s:
        assert not service.recover(s, expired=e, now=later, rules=rules, deps=deps)
    job = _job(session_factory, tid)
    assert (job.state, job.attempts, job.claimed_by) == ("pending", 1, "")
    with session_factory() as s:
        assert s.scalars(select(CallbackAttempt.result)).one() == "interrupted"


def test_a_lapsed_claim_is_not_dialled(session_factory: sessionmaker[Session], rules: CallbackRules,
                                       deps: WorkflowDeps, reported_ticket: Callable[..., int]) -> None:
    reported_ticket()
    _schedule(session_factory, rules, deps)
    now = MONDAY_10 + timedelta(hours=1)
    (c,) = _claim(session_factory, rules, deps, now)
    with transaction(session_factory) as s:
        assert service.still_mine(s, claim=c, dialer_id="d1", now=now, rules=rules)
        assert not service.still_mine(s, claim=c, dialer_id="d2", now=now, rules=rules)
        assert not service.still_mine(s, claim=c, dialer_id="d1", now=now + timedelta(seconds=61), rules=rules)
