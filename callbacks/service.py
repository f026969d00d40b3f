"""Callback jobs in the database: scheduling after 反馈, claiming work, leases and recovery.

Two kinds of ticket are called back: those whose department reported a result (反馈 → 回访 → 办结), and
即办件, closed during the call (they stay 办结: the job's kind tells outcomes what to apply).

Exactly once rests on three facts, all in the database:
* one job per (ticket, round), UNIQUE; scheduling moves the ticket to 回访 under its row lock, so two
  schedulers cannot both create it (a 即办件 keeps its state: under the row lock, a fresh statement
  checks that no job or callback_not_due mark was committed meanwhile);
* a dialer claims a job (FOR UPDATE SKIP LOCKED on PostgreSQL; SQLite serialises writers with BEGIN
  IMMEDIATE) and commits the attempt row, with the channel id it will use, BEFORE it originates;
* a claim whose lease ran out is only released once Asterisk confirms that no channel with that id
  (or linked to it) is up (agi.callback_dialer), so a live call is never dialled again and a dead
  dialer's job is never dropped.
"""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, and_, exists, func, or_, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from accounts.roles import Role
from callbacks.models import (
    AttemptResult,
    CallbackAttempt,
    CallbackJob,
    CallbackOptOut,
    JobKind,
    JobOutcome,
    JobState,
)
from callbacks.outcomes import finish_attempt
from callbacks.rules import CallbackRules, WorkflowDeps
from foundation.errors import InvalidInput
from foundation.masking import mask_number
from tickets.lifecycle import Action
from tickets.models import Ticket, TicketEvent
from tickets.service import add_event
from tickets.states import TicketStatus
from tickets.workflow import apply_action

log = logging.getLogger(__name__)

ACTOR = "callback"
CLOSED_ON_CALL = "closed_on_call"  # the event of 即办件 (tickets.lifecycle)
NOT_DUE = "callback_not_due"  # a 即办件 considered and not called back, with the reason: considered once
PHONE = re.compile(r"^\+?[0-9]{3,20}$")


class InvalidNumber(InvalidInput):
    error_id = "callbacks.invalid_number"


def normalize_number(number: str) -> str:
    cleaned = re.sub(r"[\s\-()]", "", number or "")
    if not PHONE.match(cleaned):
        raise InvalidNumber("not a phone number", number=mask_number(number))
    return cleaned


# -- 不回访 ------------------------------------------------------------------------------------------

def opt_out(session: Session, *, number: str, reason: str = "") -> None:
    """The citizen asked never to be surveyed again (idempotent)."""
    key = normalize_number(number)
    if session.get(CallbackOptOut, key) is None:
        session.add(CallbackOptOut(number=key, reason=reason))
        session.flush()


def opted_out(session: Session, *, number: str) -> bool:
    try:
        key = normalize_number(number)
    except InvalidNumber:
        return False
    return session.get(CallbackOptOut, key) is not None


# -- scheduling ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ScheduleReport:
    scheduled: list[int]  # ticket ids given a callback job after 反馈
    closed_without: dict[int, str]  # ticket id → why no callback is due
    on_call: list[int] = field(default_factory=list)  # 即办件 given a callback job (still 办结)
    on_call_not_due: dict[int, str] = field(default_factory=dict)  # 即办件 not called back → why


def _no_callback_reason(session: Session, ticket: Ticket) -> str:
    if ticket.anonymous:
        return "不回访：匿名反映"
    if ticket.no_callback:
        return "不回访：市民要求不回访"
    if not ticket.caller_number.strip():
        return "不回访：无来电号码"
    if opted_out(session, number=ticket.caller_number):
        return "不回访：市民已登记不接受回访"
    return ""


def _new_job(session: Session, ticket: Ticket, *, kind: JobKind, now: datetime, rules: CallbackRules) -> CallbackJob:
    try:
        number = normalize_number(ticket.caller_number)
    except InvalidNumber:
        number = ticket.caller_number[:32]  # kept as given: the claim records it as unreachable
    previous = session.scalar(select(func.max(CallbackJob.round)).where(CallbackJob.ticket_id == ticket.id))
    # The delay runs from when a sweep first sees the ticket (sweeps run every few seconds; a dialer
    # that was down only makes the call later, never earlier).
    job = CallbackJob(ticket_id=ticket.id, round=(previous or 0) + 1, kind=kind, number=number,
                      state=JobState.PENDING, next_attempt_at=rules.hours.next_start(now + rules.delay))
    session.add(job)
    return job


def schedule_due(session: Session, *, now: datetime, rules: CallbackRules, deps: WorkflowDeps,
                 limit: int = 200, on_call_since: datetime | None = None) -> ScheduleReport:
    """Give every ticket whose department reported a result (反馈) its callback job, or close it with
    the reason when none is due (anonymous, 不回访, no number); and every 即办件 (closed on the call)
    its job, or a callback_not_due event saying why not. Safe to run from several processes.

    `on_call_since` limits the 即办件 looked at to those opened since then (an index range: closed
    tickets only grow, and a sweep every few seconds must not read them all); None looks at all of
    them (the dialer does so when it starts and every so often, see agi.callback_dialer)."""
    report = ScheduleReport([], {})
    tickets = session.scalars(
        select(Ticket).where(Ticket.status == TicketStatus.RESULT_REPORTED).order_by(Ticket.id).limit(limit)
        .with_for_update(skip_locked=True)).all()
    for ticket in tickets:
        why_not = _no_callback_reason(session, ticket)
        if why_not:
            apply_action(session, ticket_id=ticket.id, action=Action.CLOSE, role=Role.SYSTEM, actor=ACTOR,
                         now=now, policy=deps.policy, catalog=deps.catalog, reason=why_not)
            report.closed_without[ticket.id] = why_not
            continue
        apply_action(session, ticket_id=ticket.id, action=Action.SCHEDULE_CALLBACK, role=Role.SYSTEM, actor=ACTOR,
                     now=now, policy=deps.policy, catalog=deps.catalog)
        _new_job(session, ticket, kind=JobKind.RESULT, now=now, rules=rules)
        report.scheduled.append(ticket.id)
    _schedule_on_call(session, now=now, rules=rules, limit=limit, since=on_call_since, report=report)
    session.flush()
    return report


def _unconsidered(ticket_id: InstrumentedAttribute[int] | int) -> list[ColumnElement[bool]]:
    """A 即办件 the sweep has not yet looked at: no job (of any kind) and no callback_not_due mark."""
    return [~exists().where(CallbackJob.ticket_id == ticket_id),
            ~exists().where(TicketEvent.ticket_id == ticket_id, TicketEvent.kind == NOT_DUE)]


def _schedule_on_call(session: Session, *, now: datetime, rules: CallbackRules, limit: int,
                      since: datetime | None, report: ScheduleReport) -> None:
    """即办件: the ticket stays 办结; it gets a job (and a callback_scheduled event naming it), or once and
    for all a callback_not_due event with the reason. Either one takes it out of the next sweep."""
    closed_on_call = exists().where(TicketEvent.ticket_id == Ticket.id, TicketEvent.kind == CLOSED_ON_CALL)
    query = select(Ticket).where(Ticket.status == TicketStatus.CLOSED, closed_on_call, *_unconsidered(Ticket.id))
    if since is not None:
        # Both forms on purpose: PostgreSQL reads the created_at index range for the first; SQLite
        # (no statistics) would read every closed ticket through the status index but for the list of
        # ids, which it takes from the created_at index. bench/on_call_sweep.py, 100k 即办件 over 100
        # days: 5 ms (SQLite) and 13 ms (PostgreSQL); either form alone took 38 ms or 230 ms.
        query = query.where(Ticket.created_at >= since,
                            Ticket.id.in_(select(Ticket.id).where(Ticket.created_at >= since)))
    tickets = session.scalars(query.order_by(Ticket.id).limit(limit).with_for_update(skip_locked=True)).all()
    for ticket in tickets:
        # The state is not changed, so PostgreSQL does not re-check the query once another scheduler
        # releases the row: a fresh statement (a fresh snapshot) under the lock does.
        if not session.scalar(select(and_(*_unconsidered(ticket.id)))):
            continue
        why_not = _no_callback_reason(session, ticket)
        if why_not:
            add_event(session, ticket=ticket, actor=ACTOR, kind=NOT_DUE, reason=why_not, at=now,
                      data={"kind": str(JobKind.ON_CALL)})
            report.on_call_not_due[ticket.id] = why_not
            continue
        job = _new_job(session, ticket, kind=JobKind.ON_CALL, now=now, rules=rules)
        session.flush()  # the job's id, for the event
        add_event(session, ticket=ticket, actor=ACTOR, kind="callback_scheduled", at=now,
                  data={"job_id": job.id, "round": job.round, "kind": str(JobKind.ON_CALL),
                        "due": job.next_attempt_at.isoformat()})
        report.on_call.append(ticket.id)


# -- claiming --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Claim:
    job_id: int
    attempt_id: int
    attempt_no: int
    channel_id: str
    number: str
    ticket_id: int


def claim(session: Session, *, now: datetime, dialer_id: str, rules: CallbackRules, deps: WorkflowDeps,
          limit: int) -> list[Claim]:
    """Claim up to `limit` due jobs for this dialer and commit-ready attempt rows for them.

    Nothing is claimed outside calling hours, whatever next_attempt_at says (a dialer that was down
    overnight must not ring at 07:00 for a job due at 19:59)."""
    if limit <= 0 or not rules.hours.allows(now):
        return []
    jobs = session.scalars(
        select(CallbackJob).where(CallbackJob.state == JobState.PENDING, CallbackJob.next_attempt_at <= now)
        .order_by(CallbackJob.next_attempt_at, CallbackJob.id).limit(limit)
        .with_for_update(skip_locked=True)).all()
    claims: list[Claim] = []
    for job in jobs:
        ticket = session.get_one(Ticket, job.ticket_id)
        why_not = _no_callback_reason(session, ticket)
        if why_not:  # opted out (不回访) after scheduling: never ring, close unsurveyed with the reason
            job.state, job.outcome, job.finished_at = JobState.DONE, JobOutcome.OPTED_OUT, now
            if job.kind == JobKind.ON_CALL:  # already 办结: only say why nobody calls
                add_event(session, ticket=ticket, actor=ACTOR, kind=NOT_DUE, reason=why_not, at=now,
                          data={"kind": str(JobKind.ON_CALL), "job_id": job.id})
            else:
                apply_action(session, ticket_id=job.ticket_id, action=Action.CLOSE, role=Role.SYSTEM, actor=ACTOR,
                             now=now, policy=deps.policy, catalog=deps.catalog, reason=why_not)
            continue
        if job.kind == JobKind.ON_CALL and ticket.status != TicketStatus.CLOSED:
            # The 即办件 was reopened (by a supervisor) before its survey: its new result will be
            # called back in its own round; this call would ask about an answer that no longer stands.
            job.state, job.outcome, job.finished_at = JobState.DONE, JobOutcome.NOT_APPLIED, now
            add_event(session, ticket=ticket, actor=ACTOR, kind=NOT_DUE, reason="不回访：即办件已重新办理",
                      at=now, data={"kind": str(JobKind.ON_CALL), "job_id": job.id})
            continue
        job.attempts += 1
        job.state, job.claimed_by, job.lease_until = JobState.DIALING, dialer_id, now + rules.lease
        attempt = CallbackAttempt(job_id=job.id, number=job.attempts, channel_id=uuid.uuid4().hex,
                                  dialer_id=dialer_id, started_at=now, detail={})
        session.add(attempt)
        session.flush()
        if not PHONE.match(job.number):
            # Never dialled: the attempt is spent at once and, after the last one, 无法联系 is recorded.
            finish_attempt(session, channel_id=attempt.channel_id, result=AttemptResult.INVALID_NUMBER,
                           now=now, rules=rules, deps=deps)
            log.warning("callback job %d: number %s cannot be dialled", job.id, mask_number(job.number))
            continue
        claims.append(Claim(job.id, attempt.id, attempt.number, attempt.channel_id, job.number, job.ticket_id))
    return claims


def still_mine(session: Session, *, claim: Claim, dialer_id: str, now: datetime, rules: CallbackRules) -> bool:
    """Checked right before the Originate: the claim is this dialer's, current, and its lease has at
    least half its length to run (a dialer that stalled since claiming must not dial late)."""
    job = session.scalars(select(CallbackJob).where(CallbackJob.id == claim.job_id).with_for_update()).one()
    attempt = session.get_one(CallbackAttempt, claim.attempt_id)
    return (job.state == JobState.DIALING and job.claimed_by == dialer_id and job.attempts == claim.attempt_no
            and attempt.result == AttemptResult.OPEN and job.lease_until is not None
            and job.lease_until - now >= rules.lease / 2)


def renew_leases(session: Session, *, job_ids: list[int], dialer_id: str, now: datetime,
                 rules: CallbackRules) -> None:
    """Heartbeat for the calls this dialer is following."""
    if job_ids:
        session.execute(update(CallbackJob).where(CallbackJob.id.in_(job_ids), CallbackJob.claimed_by == dialer_id,
                                                  CallbackJob.state == JobState.DIALING)
                        .values(lease_until=now + rules.lease))


@dataclass(frozen=True)
class Expired:
    job_id: int
    channel_id: str


def expired_claims(session: Session, *, now: datetime, rules: CallbackRules, limit: int = 50) -> list[Expired]:
    """Open attempts nobody follows any more: a claim whose dialer stopped renewing its lease, or a
    job the survey completed whose dialer never saw the call end. Recovered once no call is up."""
    rows = session.execute(
        select(CallbackJob.id, CallbackAttempt.channel_id)
        .join(CallbackAttempt, CallbackAttempt.job_id == CallbackJob.id)
        .where(CallbackAttempt.result == AttemptResult.OPEN,
               or_(and_(CallbackJob.state == JobState.DIALING, CallbackJob.lease_until < now),
                   and_(CallbackJob.state == JobState.DONE, CallbackJob.finished_at < now - rules.lease)))
        .order_by(CallbackJob.id).limit(limit)).all()
    return [Expired(job_id, channel_id) for job_id, channel_id in rows]


def hold_expired(session: Session, *, expired: Expired, now: datetime, rules: CallbackRules) -> None:
    """Its call is still up: keep everyone off the job for another lease (its owner is gone, so the
    next recovery pass looks again)."""
    session.execute(update(CallbackJob).where(CallbackJob.id == expired.job_id,
                                              CallbackJob.state == JobState.DIALING)
                    .values(lease_until=now + rules.lease))


def recover(session: Session, *, expired: Expired, now: datetime, rules: CallbackRules,
            deps: WorkflowDeps) -> bool:
    """Release a dead dialer's claim, which the caller has checked has no channel up any more. The
    attempt ends as interrupted, or with the survey's answer if the citizen gave one."""
    job = session.scalars(select(CallbackJob).where(CallbackJob.id == expired.job_id)
                          .with_for_update(skip_locked=True)).one_or_none()
    if job is None:
        return False  # another recoverer holds it
    attempt = session.scalars(select(CallbackAttempt).where(CallbackAttempt.channel_id == expired.channel_id)).one()
    session.refresh(attempt)
    if attempt.result != AttemptResult.OPEN:
        return False
    if job.state == JobState.DIALING and (job.lease_until is None or job.lease_until >= now):
        return False  # its dialer came back and renewed the lease
    log.warning("callback job %d: dialer %s stopped; no call is up, releasing the claim", job.id, job.claimed_by)
    finish_attempt(session, channel_id=expired.channel_id, result=AttemptResult.INTERRUPTED, now=now,
                   rules=rules, deps=deps)
    return True
