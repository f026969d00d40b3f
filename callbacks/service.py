"""Callback jobs in the database: scheduling after 反馈, claiming work, leases and recovery.

Exactly once rests on three facts, all in the database:
* one job per (ticket, round), UNIQUE; scheduling moves the ticket to 回访 under its row lock, so two
  schedulers cannot both create it;
* a dialer claims a job (FOR UPDATE SKIP LOCKED on PostgreSQL; SQLite serialises writers with BEGIN
  IMMEDIATE) and commits the attempt row, with the channel id it will use, BEFORE it originates;
* a claim whose lease ran out is only released once Asterisk confirms that no channel with that id
  (or linked to it) is up (callbacks.dialer), so a live call is never dialled again and a dead
  dialer's job is never dropped.
"""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from agi.masking import mask_number
from callbacks.models import AttemptResult, CallbackAttempt, CallbackJob, CallbackOptOut, JobOutcome, JobState
from callbacks.outcomes import finish_attempt
from callbacks.rules import CallbackRules, WorkflowDeps
from hotline.errors import InvalidInput
from tickets.lifecycle import Action, Role
from tickets.models import Ticket
from tickets.states import TicketStatus
from tickets.workflow import apply_action

log = logging.getLogger(__name__)

ACTOR = "callback"
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
    scheduled: list[int]  # ticket ids given a callback job
    closed_without: dict[int, str]  # ticket id → why no callback is due


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


def schedule_due(session: Session, *, now: datetime, rules: CallbackRules, deps: WorkflowDeps,
                 limit: int = 200) -> ScheduleReport:
    """Give every ticket whose department reported a result (反馈) its callback job, or close it with
    the reason when none is due (anonymous, 不回访, no number). Safe to run from several processes."""
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
        try:
            number = normalize_number(ticket.caller_number)
        except InvalidNumber:
            number = ticket.caller_number[:32]  # kept as given: the claim records it as unreachable
        previous = session.scalar(select(func.max(CallbackJob.round)).where(CallbackJob.ticket_id == ticket.id))
        # The delay runs from when a sweep first sees the result (sweeps run every few seconds; a dialer
        # that was down only makes the call later, never earlier).
        due = rules.hours.next_start(now + rules.delay)
        apply_action(session, ticket_id=ticket.id, action=Action.SCHEDULE_CALLBACK, role=Role.SYSTEM, actor=ACTOR,
                     now=now, policy=deps.policy, catalog=deps.catalog)
        session.add(CallbackJob(ticket_id=ticket.id, round=(previous or 0) + 1, number=number,
                                state=JobState.PENDING, next_attempt_at=due))
        report.scheduled.append(ticket.id)
    session.flush()
    return report


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
        why_not = _no_callback_reason(session, session.get_one(Ticket, job.ticket_id))
        if why_not:  # opted out (不回访) after scheduling: never ring, close unsurveyed with the reason
            job.state, job.outcome = JobState.DONE, JobOutcome.OPTED_OUT
            apply_action(session, ticket_id=job.ticket_id, action=Action.CLOSE, role=Role.SYSTEM, actor=ACTOR,
                         now=now, policy=deps.policy, catalog=deps.catalog, reason=why_not)
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
