"""What a callback found out, applied to the ticket (through tickets.workflow, role SYSTEM).

Two processes write here: the survey (AGI, while the citizen is on the line) records the answer
and completes the job; the dialer closes the attempt when the call has ended. Both lock the job row
first, and every step checks what is already done, so either order, or both, give one outcome.

A job after 反馈 finds its ticket in 回访 and closes, reopens or marks it 无法联系. A 即办件's job
(kind on_call) finds it 办结 and keeps it so: 满意 / 基本满意 and 无法联系 are recorded on the closed
ticket; 不满意 reopens it to the department the router (or the operator) chose, under supervision.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from accounts.models import Unit
from accounts.roles import Role
from callbacks.models import AttemptResult, CallbackAttempt, CallbackJob, JobKind, JobOutcome, JobState
from callbacks.rules import CallbackRules, WorkflowDeps
from foundation.errors import NotFound
from routing.catalog import Catalog
from tickets.lifecycle import Action, Satisfaction
from tickets.models import Ticket
from tickets.service import add_event, attach_recordings
from tickets.states import TicketStatus
from tickets.workflow import apply_action

log = logging.getLogger(__name__)

# Attempts spoiled by our side: they do not count against the citizen's attempts.
OUR_FAULTS = frozenset({AttemptResult.SYSTEM_FAULT, AttemptResult.INTERRUPTED})
ACTOR = "callback"
NO_REASON = "市民未说明原因"


class UnknownAttempt(NotFound):
    error_id = "callbacks.unknown_attempt"


def _locked(session: Session, channel_id: str) -> tuple[CallbackJob, CallbackAttempt]:
    attempt = session.scalars(select(CallbackAttempt).where(CallbackAttempt.channel_id == channel_id)).one_or_none()
    if attempt is None:
        raise UnknownAttempt(f"no callback attempt for channel {channel_id!r}", channel_id=channel_id)
    job = session.scalars(select(CallbackJob).where(CallbackJob.id == attempt.job_id).with_for_update()).one()
    session.refresh(attempt)  # read after the lock: the other writer may just have committed
    return job, attempt


@dataclass(frozen=True)
class SurveyTarget:
    """What the survey says to the citizen, read when the call is answered."""

    job_id: int
    ticket_id: int
    ticket_number: str
    summary: str
    department_name: str
    reported_on: datetime
    number: str
    on_call: bool = False  # a 即办件: answered during the call, no department worked on it


def start_survey(session: Session, *, channel_id: str, now: datetime) -> SurveyTarget | None:
    """The citizen answered: None if this call is not (or no longer) a survey to run."""
    try:
        job, attempt = _locked(session, channel_id)
    except UnknownAttempt:
        return None
    if job.state != JobState.DIALING or attempt.result != AttemptResult.OPEN or attempt.number != job.attempts:
        log.warning("callback channel %s answered but its job %d is %s: no survey", channel_id, job.id, job.state)
        return None
    attempt.answered_at = now
    ticket = session.get_one(Ticket, job.ticket_id)
    return SurveyTarget(job.id, ticket.id, ticket.number, (ticket.summary or ticket.transcript)[:40],
                        ticket.department_name, ticket.created_at, job.number, on_call=job.kind == JobKind.ON_CALL)


def note_answer(session: Session, *, channel_id: str, satisfaction: Satisfaction, answered_by: str,
                call_id: str | None = None) -> None:
    """Keep the answer the moment it is heard (a hangup while giving the reason loses nothing)."""
    _, attempt = _locked(session, channel_id)
    attempt.satisfaction, attempt.answered_by = str(satisfaction), answered_by
    if call_id:
        attempt.call_id = call_id


def note_reason(session: Session, *, channel_id: str, reason: str, recording_path: str = "") -> None:
    _, attempt = _locked(session, channel_id)
    attempt.reason_text = reason
    if recording_path:
        attempt.detail = {**attempt.detail, "reason_recording": recording_path}


def to_operator(session: Session, *, channel_id: str, now: datetime) -> None:
    """人工: a person takes the citizen over and records the outcome; the robot will not call again."""
    job, attempt = _locked(session, channel_id)
    if job.state == JobState.DONE:
        return
    if attempt.satisfaction:
        return  # already answered: complete_survey applies it
    job.state, job.outcome, job.finished_at = JobState.DONE, JobOutcome.OPERATOR, now
    job.claimed_by, job.lease_until = "", None
    ticket = session.get_one(Ticket, job.ticket_id)
    add_event(session, ticket=ticket, actor=ACTOR, kind="callback_to_operator",
              data={"job_id": job.id, "round": job.round, "attempt": attempt.number})


def complete_survey(session: Session, *, channel_id: str, now: datetime, deps: WorkflowDeps) -> bool:
    """Apply the recorded answer to the ticket once. False when there is none (yet) or it was applied."""
    job, attempt = _locked(session, channel_id)
    if job.state == JobState.DONE or not attempt.satisfaction:
        return False
    _apply_answer(session, job, attempt, now=now, deps=deps)
    return True


def complete_call_survey(session: Session, *, channel_id: str, call_id: str, ticket_id: int, now: datetime,
                         deps: WorkflowDeps) -> bool:
    """complete_survey, with the survey call's recordings (the reason given) filed on the ticket."""
    applied = complete_survey(session, channel_id=channel_id, now=now, deps=deps)
    attach_recordings(session, call_id=call_id, ticket_id=ticket_id)
    return applied


def _apply_answer(session: Session, job: CallbackJob, attempt: CallbackAttempt, *, now: datetime,
                  deps: WorkflowDeps) -> None:
    ticket = session.get_one(Ticket, job.ticket_id)
    satisfaction = Satisfaction(attempt.satisfaction)
    reason = attempt.reason_text.strip()
    outcome = JobOutcome(str(satisfaction))
    on_call = job.kind == JobKind.ON_CALL
    data = {"job_id": job.id, "round": job.round, "kind": str(job.kind), "attempt": attempt.number,
            "satisfaction": str(satisfaction), "answered_by": attempt.answered_by, "reason": reason,
            "call_id": attempt.call_id}
    if ticket.status != (TicketStatus.CLOSED if on_call else TicketStatus.CALLBACK_PENDING):
        # Someone acted on the ticket meanwhile (a supervisor closed or reopened it): keep the answer,
        # change nothing.
        outcome = JobOutcome.NOT_APPLIED
        log.warning("callback job %d: ticket %s is %s, answer kept but not applied", job.id, ticket.number,
                    ticket.status)
    elif satisfaction == Satisfaction.DISSATISFIED:
        department = ticket.department_id if not on_call else department_for_reopen(session, ticket, deps.catalog)
        params = {"department_id": department} if department else {}
        apply_action(session, ticket_id=ticket.id, action=Action.REOPEN, role=Role.SYSTEM, actor=ACTOR, now=now,
                     policy=deps.policy, catalog=deps.catalog, reason=f"回访不满意：{reason or NO_REASON}",
                     params=params)
        ticket.satisfaction = str(satisfaction)  # REOPEN clears it; the survey's verdict stays visible
    elif on_call:
        ticket.satisfaction = str(satisfaction)  # 办结 already: the verdict is recorded, the state stays
    else:
        apply_action(session, ticket_id=ticket.id, action=Action.CLOSE, role=Role.SYSTEM, actor=ACTOR, now=now,
                     policy=deps.policy, catalog=deps.catalog, params={"satisfaction": str(satisfaction)})
    add_event(session, ticket=ticket, actor=ACTOR, kind="callback_answered", reason=reason, at=now,
              data={**data, "applied": outcome != JobOutcome.NOT_APPLIED})
    job.state, job.outcome, job.reason, job.finished_at = JobState.DONE, outcome, reason, now
    job.claimed_by, job.lease_until = "", None


def department_for_reopen(session: Session, ticket: Ticket, catalog: Catalog) -> str:
    """Where a 即办件 goes when the citizen is not satisfied: the department on the ticket (the router's
    first choice, or the operator's), else the router's next suggestions, else the first department
    serving its category, else the catalog's fallback. Only targets the workflow can dispatch to."""
    suggested = [c.get("id") for c in ticket.department_candidates or [] if isinstance(c, dict)]
    serving = [d.id for d in catalog.for_category(ticket.category)] if ticket.category in catalog.categories else []
    for code in (ticket.department_id, *suggested, *serving):
        if isinstance(code, str) and code and _dispatchable(session, catalog, code):
            return code
    return catalog.fallback


def _dispatchable(session: Session, catalog: Catalog, code: str) -> bool:
    try:
        catalog.get(code)
        return True
    except KeyError:
        unit = session.get(Unit, code)
        return unit is not None and unit.kind in ("department", "district")


def finish_attempt(session: Session, *, channel_id: str, result: AttemptResult, now: datetime,
                   rules: CallbackRules, deps: WorkflowDeps, reason_code: int | None = None,
                   hangup_cause: int | None = None) -> JobState:
    """The call of this attempt is over (or never happened): record how, then complete the job, retry
    it after the backoff, or after the last attempt record 无法联系. Idempotent."""
    job, attempt = _locked(session, channel_id)
    if attempt.result != AttemptResult.OPEN:
        return JobState(job.state)
    attempt.ended_at, attempt.reason_code, attempt.hangup_cause = now, reason_code, hangup_cause
    if attempt.satisfaction:
        attempt.result = AttemptResult.ANSWERED
        if job.state != JobState.DONE:
            _apply_answer(session, job, attempt, now=now, deps=deps)
        return JobState(job.state)
    if attempt.answered_at is not None:
        # The citizen picked up; without an answer the survey did not happen (silence, hung up early).
        attempt.result = AttemptResult.ANSWERED if job.state == JobState.DONE else AttemptResult.NO_RESPONSE
    elif result in (AttemptResult.ANSWERED, AttemptResult.NO_RESPONSE):
        # Picked up, yet the survey never began: the AGI server or the database was down. Not the
        # citizen's doing, so it must not bring them closer to 无法联系.
        attempt.result = AttemptResult.SYSTEM_FAULT
        log.warning("callback job %d attempt %d: answered but the survey never started (our fault)",
                    job.id, attempt.number)
    else:
        attempt.result = result
    if job.state == JobState.DONE or attempt.number != job.attempts:
        return JobState(job.state)
    job.claimed_by, job.lease_until = "", None
    results = [AttemptResult(r) for r in session.scalars(
        select(CallbackAttempt.result).where(CallbackAttempt.job_id == job.id).order_by(CallbackAttempt.number))]
    faults = sum(r in OUR_FAULTS for r in results)
    spent = len(results) - faults
    if spent < rules.max_attempts and faults <= rules.max_system_faults:
        job.state = JobState.PENDING
        wait = rules.fault_backoff if attempt.result in OUR_FAULTS else rules.backoff_after(spent)
        job.next_attempt_at = rules.hours.next_start(now + wait)
        return JobState.PENDING
    ticket = session.get_one(Ticket, job.ticket_id)
    job.state, job.outcome, job.finished_at = JobState.DONE, JobOutcome.UNREACHABLE, now
    # A 即办件 stays 办结: the event (with the job's kind) is what reports count as 无法联系.
    if job.kind == JobKind.RESULT and ticket.status == TicketStatus.CALLBACK_PENDING:
        apply_action(session, ticket_id=ticket.id, action=Action.MARK_UNREACHABLE, role=Role.SYSTEM, actor=ACTOR,
                     now=now, policy=deps.policy, catalog=deps.catalog)
    add_event(session, ticket=ticket, actor=ACTOR, kind="callback_attempts_exhausted", at=now,
              data={"job_id": job.id, "round": job.round, "kind": str(job.kind), "attempts": [str(r) for r in results]})
    return JobState.DONE
