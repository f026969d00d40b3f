"""The overdue sweep on SQLite and PostgreSQL: what escalates, to which level, and only once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from escalation import service
from escalation.service import ACTOR
from tests.escalation.conftest import SH, T0, Desk, RecordingNotifier, minutes
from tickets.lifecycle import InvalidTransition

SIGN_BY = T0 + minutes(30)
RESOLVE_BY = datetime(2025, 9, 17, 23, 59, 59, tzinfo=SH)  # a complaint: one working day


def test_a_sweep_run_twice_escalates_once_and_notifies_once(desk: Desk) -> None:
    tid = desk.dispatched()
    log = RecordingNotifier()
    now = SIGN_BY + minutes(5)
    first, second = desk.sweep(now), desk.sweep(now)
    assert [(e.ticket_id, e.kind, e.level) for e in first.escalated] == [(tid, "sign", 1)]
    assert second.escalated == [] and second.candidates == 1
    assert desk.deliver({"log": log}, now).delivered == 1
    assert desk.deliver({"log": log}, now).delivered == 0
    assert desk.marks() == [(tid, "sign", 1)]
    (event,) = desk.supervised(tid)
    assert event.actor == ACTOR and event.data["level"] == 1 and event.data["from"] == "dispatched"
    assert "签收超时" in event.reason and "5 分钟" in event.reason
    assert desk.ticket(tid).supervision_level == 1
    (note,) = log.sent
    assert note.kind == "supervision.sign_late" and note.ticket_id == tid and note.severity == "warning"
    assert note.department == "urban_mgmt" and note.title.startswith("一级督办")
    assert note.key == f"escalation:{tid}:sign:1:{SIGN_BY.astimezone(UTC).isoformat()}"
    assert "13812345678" not in repr(note)  # the caller's number stays out of notifications
    (row,) = desk.outbox()
    assert row.delivered_at == now and row.attempts == 1 and row.last_error == ""


def test_on_time_tickets_are_left_alone(desk: Desk) -> None:
    desk.dispatched()
    result = desk.sweep(SIGN_BY)  # the deadline itself is still on time
    assert result.candidates == 0 and result.escalated == [] and desk.outbox() == []


def test_levels_rise_one_two_three_as_time_passes(desk: Desk) -> None:
    tid = desk.dispatched()
    log = RecordingNotifier()
    # Sign-for allows 30 min: level 2 once late by half of it, level 3 once late by all of it.
    for late, level in ((1, 1), (14, 1), (16, 2), (29, 2), (31, 3), (600, 3)):
        now = SIGN_BY + minutes(late)
        desk.sweep(now)
        desk.deliver({"log": log}, now)
        assert desk.ticket(tid).supervision_level == level, late
    assert [m[2] for m in desk.marks() if m[1] == "sign"] == [1, 2, 3]
    assert [e.data["level"] for e in desk.supervised(tid)] == [1, 2, 3]
    assert [(n.title[:4], n.severity) for n in log.sent] == [
        ("一级督办", "warning"), ("二级督办", "warning"), ("三级督办", "critical")]


def test_a_late_first_sweep_applies_the_current_level_once(desk: Desk) -> None:
    tid = desk.dispatched()
    result = desk.sweep(SIGN_BY + timedelta(hours=3))  # the scheduler was down: no replay of 1 and 2
    assert [(e.kind, e.level) for e in result.escalated] == [("sign", 3)]
    assert [e.data["level"] for e in desk.supervised(tid)] == [3]


def test_late_resolution_is_told_apart_from_late_sign_for(desk: Desk) -> None:
    signed = desk.dispatched()
    desk.act(signed, "sign", "department", now=T0 + minutes(10))
    desk.act(signed, "start", "department", now=T0 + minutes(20))
    unsigned = desk.dispatched()
    now = datetime(2025, 9, 18, 9, 0, tzinfo=SH)  # resolution late by 9 h: level 1
    result = desk.sweep(now)
    assert sorted((e.ticket_id, e.kind, e.level) for e in result.escalated) == [
        (signed, "resolve", 1), (unsigned, "resolve", 1), (unsigned, "sign", 3)]
    log = RecordingNotifier()
    desk.deliver({"log": log}, now)
    kinds = sorted((n.ticket_id, n.kind) for n in log.sent)
    assert kinds == [(signed, "supervision.resolve_late"), (unsigned, "supervision.resolve_late"),
                     (unsigned, "supervision.sign_late")]
    assert all("办理超时" in n.title for n in log.sent if n.kind == "supervision.resolve_late")
    # The resolution allowance is ~38 h: late by more than half of it (19 h) is level 2.
    later = RESOLVE_BY + timedelta(hours=20)
    assert [(e.ticket_id, e.level) for e in desk.sweep(later).escalated] == [(signed, 2), (unsigned, 2)]


def test_a_result_reported_stops_the_clock(desk: Desk) -> None:
    tid = desk.dispatched()
    for action in ("sign", "start", "report_result"):
        desk.act(tid, action, "department", now=T0 + minutes(10))
    assert desk.sweep(RESOLVE_BY + timedelta(days=3)).candidates == 0


def test_closed_returned_and_merged_tickets_never_escalate(desk: Desk) -> None:
    closed = desk.dispatched()
    for action in ("sign", "start", "report_result"):
        desk.act(closed, action, "department", now=T0 + minutes(5))
    desk.act(closed, "close", "system", now=T0 + minutes(6), reason="来电人不需要回访")
    returned = desk.dispatched()
    desk.act(returned, "return", "department", now=T0 + minutes(5), reason="不属于本单位职责")
    primary, duplicate = desk.dispatched(), desk.dispatched()
    desk.act(duplicate, "merge", "dispatcher", now=T0 + minutes(5), primary_id=primary)
    accepted = desk.open()  # never dispatched: no deadlines yet
    result = desk.sweep(T0 + timedelta(days=30))
    escalated = {e.ticket_id for e in result.escalated}
    assert escalated == {primary}
    for quiet in (closed, returned, duplicate, accepted):
        assert desk.supervised(quiet) == [] and desk.ticket(quiet).supervision_level == 0


def test_a_redispatch_resets_the_clock(desk: Desk) -> None:
    tid = desk.dispatched()
    assert len(desk.sweep(SIGN_BY + minutes(5)).escalated) == 1
    # 退单 then 改派 two hours later: a new department, a new 30 minutes.
    desk.act(tid, "return", "department", now=T0 + minutes(40), reason="不属于本单位职责")
    t1 = T0 + timedelta(hours=2)
    desk.act(tid, "review_return", "dispatcher", now=t1, reason="改派供水", decision="redispatch",
             department_id="water")
    assert desk.sweep(t1 + minutes(29)).escalated == []  # new deadline not passed: nothing
    result = desk.sweep(t1 + minutes(35))
    assert [(e.kind, e.level, e.deadline) for e in result.escalated] == [("sign", 1, t1 + minutes(30))]
    assert [m for m in desk.marks() if m[1] == "sign"] == [(tid, "sign", 1), (tid, "sign", 1)]
    assert len(desk.supervised(tid)) == 2


def test_an_approved_extension_moves_the_resolution_deadline(desk: Desk) -> None:
    tid = desk.dispatched()
    desk.act(tid, "sign", "department", now=T0 + minutes(5))
    desk.act(tid, "request_extension", "department", now=T0 + minutes(6), reason="需要现场勘查", days=2)
    desk.act(tid, "decide_extension", "dispatcher", now=T0 + minutes(7), approved=True)
    # Late for the original Wednesday deadline, on time for the extended Friday one.
    assert desk.sweep(datetime(2025, 9, 18, 9, 0, tzinfo=SH)).escalated == []
    result = desk.sweep(datetime(2025, 9, 20, 9, 0, tzinfo=SH))
    assert [(e.kind, e.level) for e in result.escalated] == [("resolve", 1)]


def test_a_refused_escalation_leaves_no_trace_and_the_batch_goes_on(desk: Desk,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    refused, fine = desk.dispatched(), desk.dispatched()
    real = service.apply_action

    def refusing_apply_action(session: Any, **kw: Any) -> Any:  # TEST DOUBLE: the workflow says no once
        if kw["ticket_id"] == refused:
            raise InvalidTransition("refused for the test")
        return real(session, **kw)

    monkeypatch.setattr(service, "apply_action", refusing_apply_action)
    result = desk.sweep(SIGN_BY + minutes(5))
    assert [e.ticket_id for e in result.escalated] == [fine] and result.errors == 1
    assert [m[0] for m in desk.marks()] == [fine]  # the refused ticket's mark was rolled back with it
    assert {r.payload["ticket_id"] for r in desk.outbox()} == {fine}
    monkeypatch.setattr(service, "apply_action", real)
    assert [e.ticket_id for e in desk.sweep(SIGN_BY + minutes(6)).escalated] == [refused]  # tried again
