"""The overdue sweep: tickets late to sign for or late to resolve get 督办 at the level the policy
gives for how late they are, applied through the ticket workflow (event log: who, when, why) and
announced through the outbox.

Idempotent and safe with several sweepers at once: each escalation locks its ticket (FOR UPDATE
SKIP LOCKED on PostgreSQL; SQLite serialises writers), re-checks it, and inserts an
`EscalationMark` whose unique key (ticket, kind, level, deadline) no second sweeper can insert
again. The mark, the workflow action and the outbox rows commit together or not at all.

Which tickets count:
- late sign-for: dispatched (派单), not yet signed, past `sign_by`;
- late resolution: dispatched, signed or in progress, past `resolve_by` (反馈 stops the clock);
- never closed tickets, returned tickets awaiting the center's review (the department handed it
  back; a re-dispatch sets new deadlines), or duplicates merged into another ticket (the primary
  carries the case).
A sweep that finds a ticket already at level 3 with no marks (scheduler down for days) applies
level 3 once rather than replaying 1 and 2.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute, Session, sessionmaker

from accounts.roles import Role
from deadlines.calendar import CalendarYearNotCovered, to_local
from deadlines.policy import Policy
from escalation.models import EscalationMark
from escalation.outbox import enqueue
from foundation.db import transaction
from foundation.errors import DomainError
from foundation.notifications import Notification
from routing.catalog import Catalog
from tickets.lifecycle import Action
from tickets.models import Ticket
from tickets.states import TicketStatus
from tickets.workflow import apply_action

log = logging.getLogger(__name__)

ACTOR = "system:escalation"
LEVEL_NAMES = {1: "一", 2: "二", 3: "三"}


class Kind(StrEnum):
    SIGN = "sign"  # 签收超时
    RESOLVE = "resolve"  # 办理超时


_LABEL = {Kind.SIGN: "签收超时", Kind.RESOLVE: "办理超时"}
_DEADLINE: dict[Kind, InstrumentedAttribute[datetime | None]] = {Kind.SIGN: Ticket.sign_by,
                                                                 Kind.RESOLVE: Ticket.resolve_by}
_STATES = {
    Kind.SIGN: frozenset({TicketStatus.DISPATCHED}),
    Kind.RESOLVE: frozenset({TicketStatus.DISPATCHED, TicketStatus.SIGNED, TicketStatus.IN_PROGRESS}),
}


@dataclass(frozen=True)
class Due:
    """One escalation the sweep decided on, before it is applied."""

    ticket_id: int
    kind: Kind
    level: int
    deadline: datetime


@dataclass
class SweepResult:
    candidates: int = 0  # late tickets seen (per kind)
    escalated: list[Due] = field(default_factory=list)
    already: int = 0  # applied meanwhile by another sweeper, or the ticket moved on
    busy: int = 0  # ticket locked by someone else: next sweep
    errors: int = 0


def _late(kind: Kind, now: datetime) -> ColumnElement[bool]:
    deadline = _DEADLINE[kind]
    return and_(Ticket.status.in_(_STATES[kind]), deadline.is_not(None), deadline < now,
                Ticket.merged_into_id.is_(None))


def find_due(session: Session, *, policy: Policy, now: datetime) -> tuple[list[Due], int, int]:
    """Escalations due at `now` (level above the highest mark for the current deadline), the number
    of late tickets seen, and how many could not be assessed (logged)."""
    due: list[Due] = []
    seen = errors = 0
    for kind in Kind:
        deadline = _DEADLINE[kind]
        mark = and_(EscalationMark.ticket_id == Ticket.id, EscalationMark.kind == str(kind),
                    EscalationMark.deadline == deadline)
        rows = session.execute(
            select(Ticket.id, deadline, Ticket.dispatched_at, func.coalesce(func.max(EscalationMark.level), 0))
            .outerjoin(EscalationMark, mark).where(_late(kind, now))
            .group_by(Ticket.id, deadline, Ticket.dispatched_at).order_by(Ticket.id)
        ).all()
        for ticket_id, when, dispatched_at, marked in rows:
            seen += 1
            try:
                level = _level(policy, when, now, dispatched_at)
            except CalendarYearNotCovered as e:
                # Late is certain; how late in working days is not. Level 1 now, the rest once the
                # chinese-calendar package is upgraded.
                errors += 1
                level = 1
                log.error("ticket %d: %s deadline %s: %s; escalating to level 1 only", ticket_id, kind,
                          when.isoformat(), e)
            except (DomainError, ValueError) as e:
                errors += 1
                log.error("ticket %d: cannot assess %s deadline %s: %s", ticket_id, kind, when.isoformat(), e)
                continue
            if level > marked:
                due.append(Due(ticket_id, kind, level, when))
    return due, seen, errors


def _level(policy: Policy, deadline: datetime, now: datetime, dispatched_at: datetime | None) -> int:
    # The allowance thresholds need a dispatch before the deadline; without one, working days only.
    start = dispatched_at if dispatched_at is not None and dispatched_at < deadline else None
    return min(policy.overdue_level(deadline, now, dispatched_at=start), max(LEVEL_NAMES))


def sweep(factory: sessionmaker[Session], *, policy: Policy, catalog: Catalog, channels: Sequence[str],
          now: datetime, batch: int = 100, should_stop: Callable[[], bool] = lambda: False) -> SweepResult:
    """Escalate every overdue ticket once per (kind, level, deadline); see the module doc."""
    with factory() as s:
        due, seen, errors = find_due(s, policy=policy, now=now)
    result = SweepResult(candidates=seen, errors=errors)
    for start in range(0, len(due), batch):
        if should_stop():
            break
        # One transaction per batch: few commits, and locks are held for a moment only.
        with transaction(factory) as s:
            for item in due[start:start + batch]:
                _escalate(s, item, policy=policy, catalog=catalog, channels=channels, now=now, result=result)
    return result


def _escalate(s: Session, item: Due, *, policy: Policy, catalog: Catalog, channels: Iterable[str], now: datetime,
              result: SweepResult) -> None:
    ticket = s.scalars(select(Ticket).where(Ticket.id == item.ticket_id).with_for_update(skip_locked=True)
                       ).one_or_none()
    if ticket is None:
        result.busy += 1
        return
    # Re-check under the lock: the department may have signed, or another sweeper escalated.
    marked = s.scalar(select(func.max(EscalationMark.level)).where(
        EscalationMark.ticket_id == item.ticket_id, EscalationMark.kind == str(item.kind),
        EscalationMark.deadline == item.deadline)) or 0
    if (ticket.status not in _STATES[item.kind] or ticket.merged_into_id is not None
            or getattr(ticket, _DEADLINE[item.kind].key) != item.deadline or marked >= item.level):
        result.already += 1
        return
    try:
        with s.begin_nested():
            s.add(EscalationMark(ticket_id=item.ticket_id, kind=str(item.kind), level=item.level,
                                 deadline=item.deadline, swept_at=now))
            s.flush()
            apply_action(s, ticket_id=ticket.id, action=Action.SUPERVISE, role=Role.SYSTEM, actor=ACTOR, now=now,
                         policy=policy, catalog=catalog, reason=_reason(item, now), params={"level": item.level})
            enqueue(s, notification=notification_for(ticket, item, now), channels=channels, now=now)
    except IntegrityError:  # the unique mark: someone else got there first
        result.already += 1
        return
    except DomainError as e:  # refused by the workflow: this ticket only, the batch goes on
        result.errors += 1
        log.error("ticket %d: %s escalation to level %d refused: %s", item.ticket_id, item.kind, item.level, e)
        return
    result.escalated.append(item)


def _late_by(item: Due, now: datetime) -> str:
    minutes = int((now - item.deadline) / timedelta(minutes=1))
    if minutes < 120:
        return f"{minutes} 分钟"
    if minutes < 48 * 60:
        return f"{minutes // 60} 小时"
    return f"{minutes // (24 * 60)} 天"


def _reason(item: Due, now: datetime) -> str:
    deadline = to_local(item.deadline).strftime("%Y-%m-%d %H:%M")
    return f"{_LABEL[item.kind]}：期限 {deadline}，已超 {_late_by(item, now)}，{LEVEL_NAMES[item.level]}级督办"


def notification_for(ticket: Ticket, item: Due, now: datetime) -> Notification:
    deadline_utc = item.deadline.astimezone(UTC)
    return Notification(
        kind=f"supervision.{item.kind}_late",
        title=f"{LEVEL_NAMES[item.level]}级督办：工单 {ticket.number} {_LABEL[item.kind]}",
        body=f"{ticket.department_name or ticket.department_id or '未指定单位'}；{_reason(item, now)}",
        severity="critical" if item.level >= 3 else "warning",
        ticket_id=ticket.id,
        department=ticket.department_id or None,
        key=f"escalation:{ticket.id}:{item.kind}:{item.level}:{deadline_utc.isoformat()}",
        data={"ticket_number": ticket.number, "level": item.level, "late": str(item.kind),
              "deadline": deadline_utc.isoformat(), "status": ticket.status,
              "late_minutes": int((now - item.deadline) / timedelta(minutes=1))},
    )
