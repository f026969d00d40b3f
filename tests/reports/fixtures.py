"""Hand-built tickets, event logs and CDR rows with explicit times, for indicators computed by hand.

The events carry the same data the workflow writes (tickets.workflow.apply_action: `from`, `to`,
`action`, `department_id`, `satisfaction`, `approved`); test_indicators_workflow checks that claim on
the real workflow."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from reports.models import CallRecord
from tickets.models import Ticket, TicketEvent


def utc(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def ticket(session: Session, number: str, *, created: datetime, department: str, status: str,
           events: list[tuple[datetime, str, dict[str, Any]]], **fields: Any) -> Ticket:
    names = {"water": "市水务局", "housing": "市住房和城乡建设局"}
    t = Ticket(number=number, created_at=created, department_id=department,
               department_name=names.get(department, department), status=status, **fields)
    session.add(t)
    session.flush()
    for at, kind, data in [(created, "accepted", {"department_id": department}), *events]:
        session.add(TicketEvent(ticket_id=t.id, at=at, actor="fixture", kind=kind, data=data))
    session.flush()
    return t


def move(frm: str, to: str, **data: Any) -> dict[str, Any]:
    return {"from": frm, "to": to, **data}


def cdr(session: Session, linkedid: str, *, start: datetime, dcontext: str = "ivr", disposition: str = "ANSWERED",
        dstchannel: str = "", userfield: str = "intake") -> None:
    raw = f"{linkedid}|{start.isoformat()}|{dcontext}|{dstchannel}|{userfield}"
    session.add(CallRecord(record_key=hashlib.sha256(raw.encode()).hexdigest(), uniqueid=linkedid,
                           linkedid=linkedid, start=start, answer=start, end=start, dcontext=dcontext,
                           disposition=disposition, dstchannel=dstchannel, userfield=userfield,
                           channel="PJSIP/trunk-0001", src="13800000000", dst="12345"))


def build_day(session: Session) -> None:
    """The day 2026-03-02 (Asia/Shanghai) = [03-01 16:00Z, 03-02 16:00Z). Water (A) and housing (B).
    Expected values are worked out in test_indicators.py."""
    d, s, ip, rr, cp, c = "dispatched", "signed", "in_progress", "result_reported", "callback_pending", "closed"
    a = "accepted"
    # T1, A: signed in 20 min, result 4 h after dispatch, closed satisfied; due 10:00, on time.
    t1 = ticket(session, "T1", created=utc(2, 1), department="water", status=c, closed_at=utc(2, 8),
                dispatched_at=utc(2, 1, 10), resolve_by=utc(2, 10), events=[
                    (utc(2, 1, 10), "dispatched", move(a, d, department_id="water")),
                    (utc(2, 1, 30), "signed", move(d, s)),
                    (utc(2, 2), "started", move(s, ip)),
                    (utc(2, 5, 10), "result_reported", move(ip, rr)),
                    (utc(2, 5, 20), "callback_scheduled", move(rr, cp)),
                    (utc(2, 8), "closed", move(cp, c, satisfaction="satisfied", outcome="callback"))])
    # T2: A signs (60 min) then returns it; 改派 to B, B signs in 10 min, result 2 h, closed 基本满意.
    ticket(session, "T2", created=utc(2, 2), department="housing", status=c, closed_at=utc(2, 7),
           dispatched_at=utc(2, 4), resolve_by=utc(2, 12), events=[
               (utc(2, 2), "dispatched", move(a, d, department_id="water")),
               (utc(2, 3), "signed", move(d, s)),
               (utc(2, 3, 30), "returned", move(s, "returned_pending_review")),
               (utc(2, 4), "return_reviewed", move("returned_pending_review", d, decision="redispatch",
                                                   department_id="housing")),
               (utc(2, 4, 10), "signed", move(d, s)),
               (utc(2, 5), "started", move(s, ip)),
               (utc(2, 6), "result_reported", move(ip, rr)),
               (utc(2, 6, 30), "callback_scheduled", move(rr, cp)),
               (utc(2, 7), "closed", move(cp, c, satisfaction="basically_satisfied", outcome="callback"))])
    # T3, B: signed in 45 min, extension requested and approved, supervised, no result by 14:00: late.
    ticket(session, "T3", created=utc(2, 3), department="housing", status=ip, dispatched_at=utc(2, 3),
           resolve_by=utc(2, 14), supervision_level=1, events=[
               (utc(2, 3), "dispatched", move(a, d, department_id="housing")),
               (utc(2, 3, 45), "signed", move(d, s)),
               (utc(2, 3, 50), "started", move(s, ip)),
               (utc(2, 4), "extension_requested", move(ip, ip, days=2, extension_pending=True)),
               (utc(2, 5), "extension_decided", move(ip, ip, approved=True, extension_pending=False)),
               (utc(2, 6), "supervised", move(ip, ip, level=1))])
    # T4, A: never signed in the period (signed after it), supervised twice (one ticket); due later.
    ticket(session, "T4", created=utc(2, 5), department="water", status=s, dispatched_at=utc(2, 5),
           resolve_by=utc(4, 5), supervision_level=2, events=[
               (utc(2, 5), "dispatched", move(a, d, department_id="water")),
               (utc(2, 6), "supervised", move(d, d, level=1)),
               (utc(2, 7), "supervised", move(d, d, level=2)),
               (utc(2, 17), "signed", move(d, s))])
    # T5: accepted, not dispatched (router's candidate: A).
    ticket(session, "T5", created=utc(2, 6), department="water", status=a, events=[])
    # T6, A: from before the period; closed without callback in P, then 不满意 reopens it (a dispatch).
    ticket(session, "T6", created=utc(1, 2), department="water", status=d, dispatched_at=utc(2, 9),
           resolve_by=utc(3, 9), supervision_level=1, events=[
               (utc(1, 2, 10), "dispatched", move(a, d, department_id="water")),
               (utc(1, 3), "signed", move(d, s)),
               (utc(1, 4), "started", move(s, ip)),
               (utc(1, 10), "result_reported", move(ip, rr)),
               (utc(2, 8, 30), "closed", move(rr, c, outcome="no_callback")),
               (utc(2, 9), "reopened", move(c, d, department_id="water", satisfaction="dissatisfied"))])
    # T7: a merged duplicate of T1: counted nowhere.
    ticket(session, "T7", created=utc(2, 1, 5), department="water", status=c, closed_at=utc(2, 8),
           merged_into_id=t1.id, events=[(utc(2, 8), "closed_with_primary", {"primary_id": t1.id})])
    # T8: 即办件, answered on the call (holder: nobody, the center).
    ticket(session, "T8", created=utc(2, 7), department="housing", status=c, closed_at=utc(2, 7, 5), events=[
        (utc(2, 7, 5), "closed_on_call", move(a, c, outcome="answered_on_call"))])
    # T9, B: from before the period; the callback could not reach the citizen in P (无法联系).
    ticket(session, "T9", created=utc(1, 1), department="housing", status=c, closed_at=utc(2, 10),
           dispatched_at=utc(1, 1), resolve_by=utc(1, 12), events=[
               (utc(1, 1), "dispatched", move(a, d, department_id="housing")),
               (utc(1, 2), "signed", move(d, s)),
               (utc(1, 3), "started", move(s, ip)),
               (utc(1, 5), "result_reported", move(ip, rr)),
               (utc(1, 6), "callback_scheduled", move(rr, cp)),
               (utc(2, 10), "callback_unreachable", move(cp, c, outcome="unreachable"))])
    # Calls: bot-only, operator, abandoned in the queue (in P); a callback call and one of the day before.
    cdr(session, "c1", start=utc(2, 1))
    cdr(session, "c2", start=utc(2, 2), userfield="operator", dstchannel="PJSIP/op1-0001")
    cdr(session, "c3", start=utc(2, 3), userfield="operator")
    cdr(session, "c4", start=utc(2, 4), dcontext="callback", userfield="")
    cdr(session, "c5", start=utc(1, 15), userfield="operator")
    session.flush()
