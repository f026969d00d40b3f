"""Callbacks of 即办件 (closed during the call): scheduled once, never for anonymous / 不回访 / opted-out
citizens, answers recorded on the closed ticket or reopening it, 无法联系, the reports' counts, and
the migration that spares the 即办件 closed before it (on SQLite and PostgreSQL)."""

from __future__ import annotations

import importlib.util
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from agi import callback_dialer as dialer_module
from agi.callback_dialer import Dialer
from callbacks import outcomes, service
from callbacks.models import AttemptResult, CallbackJob, JobState
from callbacks.rules import CallbackRules, WorkflowDeps
from foundation.db import transaction
from foundation.settings import Settings
from reports.indicators import compute
from tests.callbacks.conftest import CITIZEN, MONDAY_10, SH
from tests.callbacks.race import race
from tests.conftest import REPO
from tickets.lifecycle import Satisfaction
from tickets.models import Ticket, TicketEvent
from tickets.schemas import DepartmentCandidate
from tickets.workflow import apply_action


def _schedule(sf: sessionmaker[Session], rules: CallbackRules, deps: WorkflowDeps,
              now: datetime = MONDAY_10) -> service.ScheduleReport:
    with transaction(sf) as s:
        return service.schedule_due(s, now=now, rules=rules, deps=deps)


def _claim(sf: sessionmaker[Session], rules: CallbackRules, deps: WorkflowDeps, now: datetime,
           dialer: str = "d1") -> list[service.Claim]:
    with transaction(sf) as s:
        return service.claim(s, now=now, dialer_id=dialer, rules=rules, deps=deps, limit=5)


def _events(sf: sessionmaker[Session], tid: int) -> list[TicketEvent]:
    with sf() as s:
        return list(s.scalars(select(TicketEvent).where(TicketEvent.ticket_id == tid).order_by(TicketEvent.id)))


def _ticket(sf: sessionmaker[Session], tid: int) -> Ticket:
    with sf() as s:
        return s.get_one(Ticket, tid)


def _jobs(sf: sessionmaker[Session], tid: int) -> list[CallbackJob]:
    with sf() as s:
        return list(s.scalars(select(CallbackJob).where(CallbackJob.ticket_id == tid).order_by(CallbackJob.id)))


def _answer(sf: sessionmaker[Session], deps: WorkflowDeps, c: service.Claim, sat: Satisfaction,
            reason: str = "", at: datetime = MONDAY_10) -> None:
    with transaction(sf) as s:
        target = outcomes.start_survey(s, channel_id=c.channel_id, now=at)
        assert target is not None and target.on_call
    with transaction(sf) as s:
        outcomes.note_answer(s, channel_id=c.channel_id, satisfaction=sat, answered_by="voice")
        if reason:
            outcomes.note_reason(s, channel_id=c.channel_id, reason=reason)
    with transaction(sf) as s:
        assert outcomes.complete_survey(s, channel_id=c.channel_id, now=at, deps=deps)


def test_on_call_ticket_gets_one_job_and_stays_closed(
        session_factory: sessionmaker[Session], rules: CallbackRules, deps: WorkflowDeps,
        on_call_ticket: Callable[..., int]) -> None:
    tid = on_call_ticket()
    closed_at = _ticket(session_factory, tid).closed_at
    sweep = MONDAY_10 + timedelta(hours=1, minutes=30)
    report = _schedule(session_factory, rules, deps, now=sweep)
    assert (report.on_call, report.scheduled, report.on_call_not_due) == ([tid], [], {})
    t = _ticket(session_factory, tid)
    assert (t.status, t.closed_at, t.satisfaction) == ("closed", closed_at, "")
    (job,) = _jobs(session_factory, tid)
    # 11:30 + 1 h delay is the lunch break: 14:00, as for any callback
    assert (job.kind, job.round, job.state, job.number) == ("on_call", 1, "pending", CITIZEN)
    assert job.next_attempt_at == datetime(2025, 11, 24, 14, 0, tzinfo=SH)
    scheduled = _events(session_factory, tid)[-1]
    assert scheduled.kind == "callback_scheduled" and scheduled.data["job_id"] == job.id
    assert scheduled.data["kind"] == "on_call" and "to" not in scheduled.data  # no state change
    # the next sweeps find nothing to do
    again = _schedule(session_factory, rules, deps, now=sweep + timedelta(seconds=5))
    assert (again.on_call, again.on_call_not_due) == ([], {})
    assert len(_jobs(session_factory, tid)) == 1
    assert [e.kind for e in _events(session_factory, tid)].count("callback_scheduled") == 1


@pytest.mark.parametrize(("fields", "caller", "why"), [
    ({"anonymous": True}, CITIZEN, "匿名"),
    ({"no_callback": True}, CITIZEN, "市民要求不回访"),
    ({}, "", "无来电号码"),
    ({}, "opted-out", "不接受回访"),
])
def test_no_callback_for_anonymous_declined_numberless_or_opted_out_and_said_once(
        session_factory: sessionmaker[Session], rules: CallbackRules, deps: WorkflowDeps,
        on_call_ticket: Callable[..., int], fields: dict[str, bool], caller: str, why: str) -> None:
    if caller == "opted-out":
        caller = CITIZEN
        with transaction(session_factory) as s:
            service.opt_out(s, number=CITIZEN, reason="电话告知不接受回访")
    tid = on_call_ticket(caller=caller, **fields)
    before = [e.kind for e in _events(session_factory, tid)]
    report = _schedule(session_factory, rules, deps)
    assert report.on_call == [] and why in report.on_call_not_due[tid]
    for i in range(1, 3):  # later sweeps: considered once, nothing more written
        later = _schedule(session_factory, rules, deps, now=MONDAY_10 + timedelta(seconds=5 * i))
        assert (later.on_call, later.on_call_not_due) == ([], {})
    events = _events(session_factory, tid)
    assert [e.kind for e in events] == [*before, "callback_not_due"]
    assert why in events[-1].reason and "to" not in events[-1].data
    t = _ticket(session_factory, tid)
    assert (t.status, t.satisfaction) == ("closed", "")
    assert _jobs(session_factory, tid) == []


def test_result_tickets_and_on_call_tickets_in_one_sweep(
        session_factory: sessionmaker[Session], rules: CallbackRules, deps: WorkflowDeps,
        on_call_ticket: Callable[..., int], reported_ticket: Callable[..., int]) -> None:
    reported = reported_ticket(caller="13900000001")
    on_call = on_call_ticket(caller="13900000002")
    report = _schedule(session_factory, rules, deps)
    assert (report.scheduled, report.on_call) == ([reported], [on_call])
    assert [j.kind for j in _jobs(session_factory, reported)] == ["result"]
    assert _ticket(session_factory, reported).status == "callback_pending"


@pytest.mark.parametrize("sat", [Satisfaction.SATISFIED, Satisfaction.BASICALLY_SATISFIED])
def test_satisfied_is_recorded_on_the_closed_ticket(
        session_factory: sessionmaker[Session], rules: CallbackRules, deps: WorkflowDeps,
        on_call_ticket: Callable[..., int], sat: Satisfaction) -> None:
    tid = on_call_ticket()
    closed_at = _ticket(session_factory, tid).closed_at
    _schedule(session_factory, rules, deps)
    (c,) = _claim(session_factory, rules, deps, MONDAY_10 + timedelta(hours=1))
    answered_at = MONDAY_10 + timedelta(hours=1, minutes=1)
    _answer(session_factory, deps, c, sat, at=answered_at)
    t = _ticket(session_factory, tid)
    assert (t.status, t.satisfaction, t.closed_at) == ("closed", str(sat), closed_at)
    answered = _events(session_factory, tid)[-1]
    assert answered.kind == "callback_answered" and answered.at == answered_at
    assert (answered.data["satisfaction"], answered.data["applied"], answered.data["kind"]) == (str(sat), True,
                                                                                               "on_call")
    (job,) = _jobs(session_factory, tid)
    assert (job.state, job.outcome) == ("done", str(sat))
    # the dialer's end of the call afterwards changes nothing
    with transaction(session_factory) as s:
        state = outcomes.finish_attempt(s, channel_id=c.channel_id, result=AttemptResult.NO_RESPONSE,
                                        now=answered_at, rules=rules, deps=deps)
    assert state == JobState.DONE and _ticket(session_factory, tid).status == "closed"


@pytest.mark.parametrize(("fields", "department"), [
    ({}, "housing_fund"),  # the router's choice, stored on the ticket when it was opened
    ({"department_id": ""}, "housing_fund"),  # none on the ticket: the router's first suggestion
    ({"department_id": "hrss", "department_name": "市人力资源和社会保障局"}, "hrss"),  # the operator's choice
])
def test_dissatisfied_reopens_to_the_routed_department_under_supervision(
        session_factory: sessionmaker[Session], rules: CallbackRules, deps: WorkflowDeps,
        on_call_ticket: Callable[..., int], fields: dict[str, Any], department: str) -> None:
    tid = on_call_ticket(**fields)
    _schedule(session_factory, rules, deps)
    (c,) = _claim(session_factory, rules, deps, MONDAY_10 + timedelta(hours=1))
    _answer(session_factory, deps, c, Satisfaction.DISSATISFIED, reason="材料清单和窗口说的不一样")
    t = _ticket(session_factory, tid)
    assert (t.status, t.department_id, t.satisfaction) == ("dispatched", department, "dissatisfied")
    assert t.supervision_level >= 1 and t.closed_at is None and t.sign_by is not None
    events = _events(session_factory, tid)
    assert [e.kind for e in events][-2:] == ["reopened", "callback_answered"]
    reopened = events[-2]
    assert reopened.reason == "回访不满意：材料清单和窗口说的不一样"
    assert (reopened.data["from"], reopened.data["department_id"]) == ("closed", department)
    (job,) = _jobs(session_factory, tid)
    assert (job.outcome, job.reason) == ("dissatisfied", "材料清单和窗口说的不一样")


@pytest.mark.parametrize(("fields", "category", "candidates", "expected"), [
    ({"department_id": "hrss"}, "劳动和社会保障", None, "hrss"),
    ({"department_id": ""}, "劳动和社会保障", None, "housing_fund"),
    ({"department_id": ""}, "劳动和社会保障", [DepartmentCandidate(id="gone", name="撤销的部门", confidence=0.9),
                                         DepartmentCandidate(id="medical_insurance", name="医保局", confidence=0.5)],
     "medical_insurance"),  # a suggestion the catalog no longer knows is skipped
    ({"department_id": ""}, "教育文体", [], "education"),  # no suggestion: who serves the category
    ({"department_id": ""}, "", [], "district"),  # nothing at all: the catalog's fallback (属地兜底)
])
def test_department_for_reopen(session_factory: sessionmaker[Session], deps: WorkflowDeps,
                               on_call_ticket: Callable[..., int], fields: dict[str, str], category: str,
                               candidates: list[DepartmentCandidate] | None, expected: str) -> None:
    tid = on_call_ticket(category=category, departments=candidates, **fields)
    with session_factory() as s:
        assert outcomes.department_for_reopen(s, s.get_one(Ticket, tid), deps.catalog) == expected


def test_unreachable_is_recorded_and_the_ticket_stays_closed(
        session_factory: sessionmaker[Session], rules: CallbackRules, deps: WorkflowDeps,
        on_call_ticket: Callable[..., int]) -> None:
    tid = on_call_ticket()
    _schedule(session_factory, rules, deps)
    now = MONDAY_10 + timedelta(hours=1)
    for result in (AttemptResult.BUSY, AttemptResult.NO_ANSWER, AttemptResult.FAILED):
        (c,) = _claim(session_factory, rules, deps, now)
        with transaction(session_factory) as s:
            outcomes.finish_attempt(s, channel_id=c.channel_id, result=result, now=now, rules=rules, deps=deps)
        now = rules.hours.next_start(now + timedelta(hours=3))
    (job,) = _jobs(session_factory, tid)
    assert (job.state, job.outcome, job.attempts) == ("done", "unreachable", 3)
    t = _ticket(session_factory, tid)
    assert (t.status, t.satisfaction) == ("closed", "")
    events = _events(session_factory, tid)
    assert events[-1].kind == "callback_attempts_exhausted" and events[-1].data["kind"] == "on_call"
    assert events[-1].data["attempts"] == ["busy", "no_answer", "failed"]
    assert "callback_unreachable" not in [e.kind for e in events]  # no state change


def test_opting_out_after_scheduling_cancels_the_call(
        session_factory: sessionmaker[Session], rules: CallbackRules, deps: WorkflowDeps,
        on_call_ticket: Callable[..., int]) -> None:
    tid = on_call_ticket()
    assert _schedule(session_factory, rules, deps).on_call == [tid]
    with transaction(session_factory) as s:
        service.opt_out(s, number=CITIZEN, reason="来电要求不再回访")
    assert _claim(session_factory, rules, deps, MONDAY_10 + timedelta(hours=1)) == []  # due, never rung
    (job,) = _jobs(session_factory, tid)
    assert (job.state, job.outcome, job.attempts) == ("done", "opted_out", 0)
    assert _ticket(session_factory, tid).status == "closed"
    last = _events(session_factory, tid)[-1]
    assert last.kind == "callback_not_due" and "不接受回访" in last.reason


def test_reopened_before_the_call_is_not_called_about_the_old_answer(
        session_factory: sessionmaker[Session], rules: CallbackRules, deps: WorkflowDeps,
        on_call_ticket: Callable[..., int]) -> None:
    tid = on_call_ticket()
    _schedule(session_factory, rules, deps)
    with transaction(session_factory) as s:  # a supervisor finds the answer wrong and reopens it
        apply_action(s, ticket_id=tid, action="reopen", role="dispatcher", actor="boss", now=MONDAY_10,
                     policy=deps.policy, catalog=deps.catalog, reason="答复有误", params={"department_id": "hrss"})
    assert _claim(session_factory, rules, deps, MONDAY_10 + timedelta(hours=1)) == []
    (job,) = _jobs(session_factory, tid)
    assert (job.state, job.outcome, job.attempts) == ("done", "not_applied", 0)
    assert _ticket(session_factory, tid).status == "dispatched"


def test_answer_after_a_reopen_during_the_call_is_kept_not_applied(
        session_factory: sessionmaker[Session], rules: CallbackRules, deps: WorkflowDeps,
        on_call_ticket: Callable[..., int]) -> None:
    tid = on_call_ticket()
    _schedule(session_factory, rules, deps)
    (c,) = _claim(session_factory, rules, deps, MONDAY_10 + timedelta(hours=1))
    with transaction(session_factory) as s:
        apply_action(s, ticket_id=tid, action="reopen", role="dispatcher", actor="boss", now=MONDAY_10,
                     policy=deps.policy, catalog=deps.catalog, reason="答复有误", params={"department_id": "hrss"})
    _answer(session_factory, deps, c, Satisfaction.SATISFIED)
    t = _ticket(session_factory, tid)
    assert (t.status, t.satisfaction) == ("dispatched", "")
    (job,) = _jobs(session_factory, tid)
    assert job.outcome == "not_applied" and _events(session_factory, tid)[-1].data["applied"] is False


def test_reports_count_on_call_callbacks(
        session_factory: sessionmaker[Session], rules: CallbackRules, deps: WorkflowDeps,
        on_call_ticket: Callable[..., int], reported_ticket: Callable[..., int]) -> None:
    happy, unhappy, silent, anonymous = (on_call_ticket(caller=f"1390000001{i}") for i in range(4))
    with transaction(session_factory) as s:
        s.get_one(Ticket, anonymous).anonymous = True
    busy_result = reported_ticket(caller="13900000020")  # an ordinary callback, unreachable too
    _schedule(session_factory, rules, deps)
    now = MONDAY_10 + timedelta(hours=1)
    claims = {c.ticket_id: c for c in _claim(session_factory, rules, deps, now)}
    assert set(claims) == {happy, unhappy, silent, busy_result}
    _answer(session_factory, deps, claims[happy], Satisfaction.SATISFIED, at=now)
    _answer(session_factory, deps, claims[unhappy], Satisfaction.DISSATISFIED, reason="没有解决", at=now)
    one_try = replace(rules, max_attempts=1)
    for tid in (silent, busy_result):
        with transaction(session_factory) as s:
            outcomes.finish_attempt(s, channel_id=claims[tid].channel_id, result=AttemptResult.BUSY, now=now,
                                    rules=one_try, deps=deps)
    day = datetime(2025, 11, 24, tzinfo=SH)
    with session_factory() as s:
        o = compute(s, start=day, end=day + timedelta(days=1), now=day + timedelta(days=1)).overall
    assert (o.satisfaction_rate.numerator, o.satisfaction_rate.denominator) == (1, 2)
    assert o.unreachable == 2  # the 即办件 and the ordinary ticket, each once
    # closed in the day: 4 即办件 and the ordinary ticket (callback_unreachable); answered: 2 即办件
    assert (o.callback_rate.numerator, o.callback_rate.denominator) == (2, 5)


def test_concurrent_schedulers_make_one_job_per_on_call_ticket(
        session_factory: sessionmaker[Session], rules: CallbackRules, deps: WorkflowDeps,
        on_call_ticket: Callable[..., int]) -> None:
    ids = [on_call_ticket(caller=f"139{i:08d}") for i in range(16)]
    ids += [on_call_ticket(caller=f"138{i:08d}", anonymous=True) for i in range(4)]

    def schedule(_: int) -> None:
        for _ in range(3):
            with transaction(session_factory) as s:
                service.schedule_due(s, now=MONDAY_10, rules=rules, deps=deps, limit=5)

    race(4, schedule)
    with session_factory() as s:
        per_ticket = Counter(s.scalars(select(CallbackJob.ticket_id)))
        marks = Counter(s.scalars(select(TicketEvent.ticket_id).where(
            TicketEvent.kind.in_(["callback_scheduled", "callback_not_due"]))))
    assert sorted(per_ticket) == ids[:16] and set(per_ticket.values()) == {1}
    assert sorted(marks) == ids and set(marks.values()) == {1}


def test_migration_spares_on_call_tickets_closed_before_it(
        session_factory: sessionmaker[Session], rules: CallbackRules, deps: WorkflowDeps,
        on_call_ticket: Callable[..., int]) -> None:
    path = REPO / "foundation" / "migrations" / "versions" / "0009_callback_job_kind.py"
    spec = importlib.util.spec_from_file_location("migration_0009", path)
    assert spec is not None and spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    already = on_call_ticket(caller="13900000032")
    _schedule(session_factory, rules, deps)  # `already` has its job: the migration leaves it alone
    old = on_call_ticket(caller="13900000031")  # closed before the migration, never swept
    for _ in range(2):  # idempotent
        with transaction(session_factory) as s:
            migration.mark_past_on_call(s.connection(), now=MONDAY_10)
    with session_factory() as s:
        marks = s.scalars(select(TicketEvent).where(TicketEvent.kind == "callback_not_due")).all()
    assert [(e.ticket_id, e.data, e.at, e.actor) for e in marks] == [(old, {"kind": "on_call"}, MONDAY_10,
                                                                     "migration-0009")]
    assert _schedule(session_factory, rules, deps).on_call == []
    assert _jobs(session_factory, old) == [] and len(_jobs(session_factory, already)) == 1


def _age(sf: sessionmaker[Session], tid: int, created_at: datetime) -> int:
    with transaction(sf) as s:
        s.get_one(Ticket, tid).created_at = created_at
    return tid


def test_on_call_since_looks_only_at_tickets_opened_since(
        session_factory: sessionmaker[Session], rules: CallbackRules, deps: WorkflowDeps,
        on_call_ticket: Callable[..., int]) -> None:
    old = _age(session_factory, on_call_ticket(), MONDAY_10 - timedelta(days=10))
    with transaction(session_factory) as s:
        recent = service.schedule_due(s, now=MONDAY_10, rules=rules, deps=deps,
                                      on_call_since=MONDAY_10 - timedelta(days=2))
    assert recent.on_call == []
    with transaction(session_factory) as s:
        every = service.schedule_due(s, now=MONDAY_10, rules=rules, deps=deps, on_call_since=None)
    assert every.on_call == [old]


class NoAmi:
    """TEST DOUBLE: an AMI connection that is down, so the dialer's tick only sweeps (never dials)."""

    connected = False


def test_dialer_looks_at_every_on_call_ticket_at_start_and_hourly_else_recent_ones(
        session_factory: sessionmaker[Session], settings: Settings, rules: CallbackRules, deps: WorkflowDeps,
        on_call_ticket: Callable[..., int], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dialer_module, "SCHEDULE_LIMIT", 2)
    long_ago = MONDAY_10 - timedelta(days=10)
    old = [_age(session_factory, on_call_ticket(caller=f"1390000004{i}"), long_ago) for i in range(5)]
    d = Dialer(settings=settings, session_factory=session_factory, ami=NoAmi(),  # type: ignore[arg-type]
               rules=rules, deps=deps, dialer_id="t", clock=lambda: MONDAY_10)

    def tick(*, hourly: bool = False) -> set[int]:
        d._last.pop("schedule", None)  # due now (sweeps are 5 s apart)
        if hourly:
            d._last.pop("catch_up", None)
        with session_factory() as s:
            before = set(s.scalars(select(CallbackJob.ticket_id)))
        d.tick()
        with session_factory() as s:
            return set(s.scalars(select(CallbackJob.ticket_id))) - before

    # at start: every 即办件, in batches, until a batch is not full
    assert tick() | tick() == set(old[:4]) and tick() == {old[4]}
    late = _age(session_factory, on_call_ticket(caller="13900000050"), long_ago)  # closed long after opening
    fresh = _age(session_factory, on_call_ticket(caller="13900000051"), MONDAY_10 - timedelta(hours=1))
    assert tick() == {fresh}  # every 5 s: the recent ones only
    assert tick(hourly=True) == {late}
