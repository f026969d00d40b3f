"""Tables of the callbacks domain: one job per ticket and round, one row per dial attempt, and the
numbers of citizens who asked never to be called back (不回访)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from foundation.db import Base, UtcDateTime, utcnow


class JobState(enum.StrEnum):
    PENDING = "pending"  # waiting for next_attempt_at
    DIALING = "dialing"  # claimed by a dialer (claimed_by, lease_until); one attempt is open
    DONE = "done"  # outcome known and applied to the ticket


class JobOutcome(enum.StrEnum):
    SATISFIED = "satisfied"  # 满意
    BASICALLY_SATISFIED = "basically_satisfied"  # 基本满意
    DISSATISFIED = "dissatisfied"  # 不满意: ticket reopened
    UNREACHABLE = "unreachable"  # 无法联系 after every attempt
    OPERATOR = "operator"  # the citizen asked for a person; the operator records the outcome
    OPTED_OUT = "opted_out"  # 不回访 registered after the job was scheduled; closed unsurveyed
    NOT_APPLIED = "not_applied"  # answered, but the ticket had meanwhile left 回访 (someone else acted)


class JobKind(enum.StrEnum):
    """What the callback follows: it decides which ticket state the answer applies to."""

    RESULT = "result"  # after the department's 反馈: the ticket waits in 回访 (callback_pending)
    ON_CALL = "on_call"  # 即办件, answered and closed during the call: the ticket stays 办结 (closed)


class AttemptResult(enum.StrEnum):
    """How one dial attempt ended, from the AMI events (OriginateResponse Reason, Hangup)."""

    OPEN = "open"  # claimed; the call may be up
    ANSWERED = "answered"  # answered, and the survey got an answer
    NO_RESPONSE = "no_response"  # answered, but no usable answer (silence, hung up early)
    BUSY = "busy"  # Reason 5
    NO_ANSWER = "no_answer"  # Reason 3 (rang until the originate timeout) or 1 (hung up before answer)
    CONGESTION = "congestion"  # Reason 8
    FAILED = "failed"  # Reason 0: not reachable at all (bad number, trunk down)
    INTERRUPTED = "interrupted"  # the dialer died; no call is up any more and no answer was recorded
    SYSTEM_FAULT = "system_fault"  # answered, but the survey never began: AGI server or database down
    INVALID_NUMBER = "invalid_number"  # never dialled: the stored number cannot be a phone number


class CallbackJob(Base):
    __tablename__ = "callback_jobs"
    __table_args__ = (UniqueConstraint("ticket_id", "round", name="uq_callback_jobs_ticket_round"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    round: Mapped[int] = mapped_column(Integer)  # 1, then 2 after a reopen and a new result, ...
    kind: Mapped[str] = mapped_column(String(16), default=JobKind.RESULT)
    number: Mapped[str] = mapped_column(String(32))  # the citizen's number when scheduled
    state: Mapped[str] = mapped_column(String(16), default=JobState.PENDING, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    claimed_by: Mapped[str] = mapped_column(String(64), default="")
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)
    outcome: Mapped[str] = mapped_column(String(24), default="")
    reason: Mapped[str] = mapped_column(Text, default="")  # the citizen's reason when dissatisfied
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    attempt_rows: Mapped[list[CallbackAttempt]] = relationship(
        back_populates="job", order_by="CallbackAttempt.number")


class CallbackAttempt(Base):
    """Written (committed) before the Originate is sent: a crash can never leave a call nobody knows of."""

    __tablename__ = "callback_attempts"
    __table_args__ = (UniqueConstraint("job_id", "number", name="uq_callback_attempts_job_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("callback_jobs.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)  # 1..max_attempts + max_system_faults
    channel_id: Mapped[str] = mapped_column(String(64), unique=True)  # AMI ChannelId = the channel's Uniqueid
    dialer_id: Mapped[str] = mapped_column(String(64))
    result: Mapped[str] = mapped_column(String(16), default=AttemptResult.OPEN, index=True)
    reason_code: Mapped[int | None] = mapped_column(Integer)  # OriginateResponse Reason
    hangup_cause: Mapped[int | None] = mapped_column(Integer)  # Q.850 cause of the Hangup event
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime())  # the survey started
    satisfaction: Mapped[str] = mapped_column(String(24), default="")  # what the citizen answered
    answered_by: Mapped[str] = mapped_column(String(8), default="")  # voice | dtmf
    reason_text: Mapped[str] = mapped_column(Text, default="")
    call_id: Mapped[str | None] = mapped_column(String(32))  # calls.id of the survey (recordings)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    job: Mapped[CallbackJob] = relationship(back_populates="attempt_rows")


class CallbackOptOut(Base):
    """不回访: a citizen who asked never to be surveyed. Checked when scheduling and before each dial."""

    __tablename__ = "callback_opt_outs"

    number: Mapped[str] = mapped_column(String(32), primary_key=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
