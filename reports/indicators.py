"""The indicators of a period, overall and per department. Each one is defined once, here.

Scope: merged duplicates (并单, `merged_into_id` set) are left out of every ticket indicator: their
primary is counted instead. Times are the event log's (tickets.workflow writes one event per action,
with `data.from`/`data.to`), so a ticket re-dispatched or reopened is measured per round, and a
department is credited with what happened while the ticket was theirs.

P is the period [start, end); `now` is when the report is made (a period still in progress is
measured as far as it has gone).

- 接通率 answer_rate = answered calls / offered calls, from Asterisk's CDRs (reports.cdr: offered =
  every call into the intake context, abandoned ones included; answered = served to the end by the
  bot, or taken by a person). Overall only: a call has no department yet.
- 受理量 accepted = tickets created in P.
- 办结率 completion_rate = of the tickets created in P, those closed (status 办结, closed before the
  end of P) / tickets created in P. A reopened ticket is no longer closed.
- 及时率 on_time_rate = of the tickets whose resolution deadline (`resolve_by`) falls in P and is
  decided (the department reported a result, or the deadline has passed by `now`), those whose result
  (反馈, the last `result_reported` event since the latest dispatch) came at or before the deadline.
- 满意率 satisfaction_rate = (满意 + 基本满意) / surveyed, over satisfaction answers given in P (the
  last answer per ticket in P; any event whose data carries `satisfaction`).
- 回访率 callback_rate = of the tickets closed in P (events closed, closed_on_call,
  callback_unreachable), those with a satisfaction answer at or after that closing. 无法联系
  (callback_unreachable in P, or for a 即办件, which stays closed, callback_attempts_exhausted of an
  on_call job in P) is counted apart as `unreachable`.
- 平均签收时长 avg_sign_minutes = mean of (签收 − the dispatch before it) over sign-fors in P.
- 平均办理时长 avg_resolve_hours = mean of (反馈 − the dispatch before it) over results reported in P.
- 退单率 return_rate = returns (退单 events) in P / dispatches in P (every move into 派单: dispatch,
  改派 or 驳回 after a return review, reopen).
- 延期 extensions = extensions approved in P (extension_requests = requested in P).
- 督办 supervised = distinct tickets put under supervision (督办, any level) in P.

Per department: ticket cohorts (accepted, completion, on-time) by the ticket's current department;
events (sign-for, results, returns, extensions, supervision, satisfaction, callbacks) by the
department holding the ticket when the event happened. Not yet dispatched: department "".
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select, union
from sqlalchemy.orm import Session

from callbacks.models import JobKind
from reports.cdr import CallOutcomeCount, count_calls
from tickets.lifecycle import Satisfaction
from tickets.models import Ticket, TicketEvent
from tickets.states import TicketStatus

SATISFIED = frozenset({Satisfaction.SATISFIED, Satisfaction.BASICALLY_SATISFIED})
ANSWERS = frozenset(Satisfaction)
CLOSING_KINDS = frozenset({"closed", "closed_on_call", "callback_unreachable"})
UNDISPATCHED = ""


@dataclass(frozen=True)
class Rate:
    numerator: int
    denominator: int

    @property
    def value(self) -> float | None:
        return self.numerator / self.denominator if self.denominator else None

    def as_json(self) -> dict[str, Any]:
        v = self.value
        return {"numerator": self.numerator, "denominator": self.denominator,
                "value": None if v is None else round(v, 4)}


@dataclass(frozen=True)
class Mean:
    total: float
    count: int

    @property
    def value(self) -> float | None:
        return self.total / self.count if self.count else None

    def as_json(self) -> dict[str, Any]:
        v = self.value
        return {"count": self.count, "value": None if v is None else round(v, 2)}


@dataclass
class _Acc:
    """Counters for one department (or overall) while the events are walked."""

    accepted: int = 0
    closed_of_accepted: int = 0
    due_decided: int = 0
    on_time: int = 0
    surveyed: int = 0
    satisfied: int = 0
    closed_in_period: int = 0
    revisited: int = 0
    unreachable: int = 0
    sign_minutes: list[float] = field(default_factory=list)
    resolve_hours: list[float] = field(default_factory=list)
    dispatches: int = 0
    returns: int = 0
    extensions: int = 0
    extension_requests: int = 0
    supervised: set[int] = field(default_factory=set)


@dataclass(frozen=True)
class Indicators:
    department_id: str | None  # None: overall
    department_name: str
    accepted: int
    completion_rate: Rate
    on_time_rate: Rate
    satisfaction_rate: Rate
    callback_rate: Rate
    unreachable: int
    avg_sign_minutes: Mean
    avg_resolve_hours: Mean
    return_rate: Rate
    extensions: int
    extension_requests: int
    supervised: int
    answer_rate: Rate | None = None  # overall only
    calls: CallOutcomeCount | None = None

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"department_id": self.department_id, "department_name": self.department_name,
                               "accepted": self.accepted}
        for name in ("completion_rate", "on_time_rate", "satisfaction_rate", "callback_rate",
                     "avg_sign_minutes", "avg_resolve_hours", "return_rate"):
            out[name] = getattr(self, name).as_json()
        out.update(unreachable=self.unreachable, extensions=self.extensions,
                   extension_requests=self.extension_requests, supervised=self.supervised)
        if self.answer_rate is not None and self.calls is not None:
            out["answer_rate"] = self.answer_rate.as_json()
            out["calls"] = {"offered": self.calls.offered, "answered": self.calls.answered,
                            "by_bot": self.calls.by_bot, "by_person": self.calls.by_person,
                            "abandoned": self.calls.abandoned}
        return out


@dataclass(frozen=True)
class PeriodIndicators:
    start: datetime
    end: datetime
    now: datetime
    overall: Indicators
    departments: list[Indicators]

    def as_json(self) -> dict[str, Any]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat(), "as_of": self.now.isoformat(),
                "overall": self.overall.as_json(), "departments": [d.as_json() for d in self.departments]}


def _in(moment: datetime | None, start: datetime, end: datetime) -> bool:
    return moment is not None and start <= moment < end


def _load(session: Session, start: datetime, end: datetime) -> tuple[list[Ticket], dict[int, list[TicketEvent]]]:
    """Tickets touched by P (created, due, or with an event in P) and their whole event logs."""
    ids = union(
        select(Ticket.id).where(Ticket.created_at >= start, Ticket.created_at < end),
        select(Ticket.id).where(Ticket.resolve_by >= start, Ticket.resolve_by < end),
        select(TicketEvent.ticket_id).where(TicketEvent.at >= start, TicketEvent.at < end),
    ).subquery()
    tickets = list(session.scalars(select(Ticket).where(Ticket.id.in_(select(ids.c.id)),
                                                        Ticket.merged_into_id.is_(None))))
    events: dict[int, list[TicketEvent]] = defaultdict(list)
    wanted = [t.id for t in tickets]
    for i in range(0, len(wanted), 1000):  # bounded IN lists
        chunk = wanted[i:i + 1000]
        for ev in session.scalars(select(TicketEvent).where(TicketEvent.ticket_id.in_(chunk))
                                  .order_by(TicketEvent.ticket_id, TicketEvent.at, TicketEvent.id)):
            events[ev.ticket_id].append(ev)
    return tickets, events


def _is_dispatch(ev: TicketEvent) -> bool:
    data = ev.data or {}
    return data.get("to") == TicketStatus.DISPATCHED and data.get("from") != TicketStatus.DISPATCHED


def _walk(ticket: Ticket, events: Iterable[TicketEvent], start: datetime, end: datetime, now: datetime,
          acc: dict[str, _Acc], names: dict[str, str]) -> None:
    current = ticket.department_id or UNDISPATCHED
    names.setdefault(current, ticket.department_name)
    # Ticket cohorts: by the current department.
    if _in(ticket.created_at, start, end):
        for key in (current, None):
            a = acc[_k(key)]
            a.accepted += 1
            if ticket.status == TicketStatus.CLOSED and ticket.closed_at is not None and ticket.closed_at < end:
                a.closed_of_accepted += 1
    evs = list(events)
    if _in(ticket.resolve_by, start, end) and ticket.dispatched_at is not None and ticket.resolve_by is not None:
        results = [e.at for e in evs if e.kind == "result_reported" and e.at >= ticket.dispatched_at]
        result_at = results[-1] if results else None
        if result_at is not None or ticket.resolve_by <= now:
            for key in (current, None):
                a = acc[_k(key)]
                a.due_decided += 1
                a.on_time += int(result_at is not None and result_at <= ticket.resolve_by)
    # Events: by the department holding the ticket at the time.
    holder = UNDISPATCHED
    dispatched_at: datetime | None = None
    answer_in_period: str | None = None
    answer_holder = holder
    closes: list[tuple[datetime, str]] = []
    answers: list[datetime] = []
    for ev in evs:
        data = ev.data or {}
        if _is_dispatch(ev):
            holder = str(data.get("department_id") or holder or current)
            dispatched_at = ev.at
        if data.get("satisfaction") in ANSWERS:
            answers.append(ev.at)
        inside = _in(ev.at, start, end)
        if not inside:
            continue
        targets = (acc[_k(holder)], acc[_k(None)])
        if _is_dispatch(ev):
            for a in targets:
                a.dispatches += 1
        if ev.kind == "signed" and dispatched_at is not None:
            for a in targets:
                a.sign_minutes.append((ev.at - dispatched_at).total_seconds() / 60)
        elif ev.kind == "result_reported" and dispatched_at is not None:
            for a in targets:
                a.resolve_hours.append((ev.at - dispatched_at).total_seconds() / 3600)
        elif ev.kind == "returned":
            for a in targets:
                a.returns += 1
        elif ev.kind == "extension_requested":
            for a in targets:
                a.extension_requests += 1
        elif ev.kind == "extension_decided" and data.get("approved") is True:
            for a in targets:
                a.extensions += 1
        elif ev.kind == "supervised":
            for a in targets:
                a.supervised.add(ticket.id)
        if ev.kind in CLOSING_KINDS:
            closes.append((ev.at, holder))
        if ev.kind == "callback_unreachable" or (ev.kind == "callback_attempts_exhausted"
                                                 and data.get("kind") == JobKind.ON_CALL):
            for a in targets:
                a.unreachable += 1
        if data.get("satisfaction") in ANSWERS:
            answer_in_period, answer_holder = str(data["satisfaction"]), holder
    if answer_in_period is not None:
        for a in (acc[_k(answer_holder)], acc[_k(None)]):
            a.surveyed += 1
            a.satisfied += int(answer_in_period in SATISFIED)
    if closes:
        closed_at, closer = closes[0]  # a ticket closed twice in P is one closure to revisit
        revisited = any(t >= closed_at for t in answers)
        for a in (acc[_k(closer)], acc[_k(None)]):
            a.closed_in_period += 1
            a.revisited += int(revisited)


_OVERALL = "\x00overall"


def _k(department: str | None) -> str:
    return _OVERALL if department is None else department


def _indicators(department: str | None, name: str, a: _Acc) -> Indicators:
    return Indicators(
        department_id=department, department_name=name, accepted=a.accepted,
        completion_rate=Rate(a.closed_of_accepted, a.accepted), on_time_rate=Rate(a.on_time, a.due_decided),
        satisfaction_rate=Rate(a.satisfied, a.surveyed), callback_rate=Rate(a.revisited, a.closed_in_period),
        unreachable=a.unreachable, avg_sign_minutes=Mean(sum(a.sign_minutes), len(a.sign_minutes)),
        avg_resolve_hours=Mean(sum(a.resolve_hours), len(a.resolve_hours)),
        return_rate=Rate(a.returns, a.dispatches), extensions=a.extensions,
        extension_requests=a.extension_requests, supervised=len(a.supervised),
    )


def compute(session: Session, *, start: datetime, end: datetime, now: datetime,
            department_names: dict[str, str] | None = None) -> PeriodIndicators:
    """All indicators of [start, end) as of `now`, overall and per department (see the module doc)."""
    tickets, events = _load(session, start, end)
    acc: dict[str, _Acc] = defaultdict(_Acc)
    names: dict[str, str] = dict(department_names or {})
    for t in tickets:
        _walk(t, events.get(t.id, []), start, end, now, acc, names)
        if t.department_id and not names.get(t.department_id):
            names[t.department_id] = t.department_name
    calls = count_calls(session, start=start, end=end)
    overall = _indicators(None, "全市", acc.pop(_OVERALL, _Acc()))
    overall = Indicators(**{**overall.__dict__, "answer_rate": Rate(calls.answered, calls.offered), "calls": calls})
    departments = [_indicators(d, names.get(d) or ("未派单" if d == UNDISPATCHED else d), a)
                   for d, a in sorted(acc.items())]
    return PeriodIndicators(start=start, end=end, now=now, overall=overall, departments=departments)


def open_backlog(session: Session, *, now: datetime) -> dict[str, int]:
    """Open tickets now: how many, how many past their resolution deadline (超期), how many under 督办."""
    def count(*where: ColumnElement[bool]) -> int:
        return session.scalar(select(func.count()).select_from(Ticket).where(
            Ticket.status != TicketStatus.CLOSED, Ticket.merged_into_id.is_(None), *where)) or 0

    return {"open": count(), "overdue": count(Ticket.resolve_by.is_not(None), Ticket.resolve_by < now),
            "supervised_open": count(Ticket.supervision_level >= 1)}
