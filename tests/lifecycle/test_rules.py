"""Lifecycle rules beyond the table: paths, roles, reasons, parameters and error ids."""

from __future__ import annotations

import pytest

from foundation.errors import Conflict, InvalidInput
from tickets.lifecycle import (
    Forbidden,
    InvalidParameter,
    InvalidTransition,
    ReasonRequired,
    UnknownAction,
    allowed_actions,
    transition,
)


def test_happy_path_with_callback() -> None:
    steps = [
        ("dispatch", "operator", {"department_id": "water"}, "dispatched", "dispatched"),
        ("sign", "department", {}, "signed", "signed"),
        ("start", "department", {}, "in_progress", "started"),
        ("report_result", "department", {}, "result_reported", "result_reported"),
        ("schedule_callback", "system", {}, "callback_pending", "callback_scheduled"),
        ("close", "system", {"satisfaction": "basically_satisfied"}, "closed", "closed"),
    ]
    state = "accepted"
    for action, role, params, to, kind in steps:
        t = transition(state, action, role=role, **params)
        assert (t.to_state, t.event_kind) == (to, kind)
        state = t.to_state
    assert t.data == {"satisfaction": "basically_satisfied", "outcome": "callback"}


def test_dissatisfied_callback_reopens() -> None:
    with pytest.raises(InvalidParameter, match="reopen"):
        transition("callback_pending", "close", role="system", satisfaction="dissatisfied")
    t = transition("closed", "reopen", role="system", reason="回访不满意：问题未解决")
    assert t.to_state == "dispatched" and t.reason == "回访不满意：问题未解决"
    t = transition("callback_pending", "reopen", role="system", reason="回访不满意：问题未解决")
    assert t.to_state == "dispatched"  # straight from 回访, never closed in between


def test_close_on_call_and_unreachable_outcomes() -> None:
    assert transition("accepted", "close_on_call", role="operator").data == {"outcome": "answered_on_call"}
    t = transition("callback_pending", "mark_unreachable", role="system")
    assert (t.to_state, t.data) == ("closed", {"outcome": "unreachable"})


def test_return_and_review() -> None:
    t = transition("signed", "return", role="department", reason="不属于本单位职责")
    assert t.to_state == "returned_pending_review"
    redispatch = transition(
        t.to_state, "review_return", role="dispatcher", reason="改派供电", decision="redispatch", department_id="power"
    )
    assert (redispatch.to_state, redispatch.data) == (
        "dispatched",
        {"decision": "redispatch", "department_id": "power"},
    )
    reject = transition(t.to_state, "review_return", role="dispatcher", reason="属于职责范围", decision="reject")
    assert (reject.to_state, reject.data) == ("dispatched", {"decision": "reject"})
    with pytest.raises(InvalidParameter, match="department_id"):
        transition(t.to_state, "review_return", role="dispatcher", reason="改派", decision="redispatch")
    with pytest.raises(InvalidParameter, match="decision"):
        transition(t.to_state, "review_return", role="dispatcher", reason="改派", decision="maybe")


def test_extension_keeps_state_and_sets_flag() -> None:
    t = transition("in_progress", "request_extension", role="department", reason="需协调多部门", days=5)
    assert (t.to_state, t.changes_state, t.data) == ("in_progress", False, {"days": 5, "extension_pending": True})
    with pytest.raises(InvalidTransition, match="already pending"):
        transition("in_progress", "request_extension", role="department", reason="再延", days=5, extension_pending=True)
    ok = transition("in_progress", "decide_extension", role="dispatcher", approved=True, days=3, extension_pending=True)
    assert ok.data == {"approved": True, "extension_pending": False, "days": 3}
    with pytest.raises(InvalidTransition, match="no extension request"):
        transition("in_progress", "decide_extension", role="dispatcher", approved=True)
    with pytest.raises(ReasonRequired, match="refusing"):
        transition("in_progress", "decide_extension", role="dispatcher", approved=False, extension_pending=True)
    with pytest.raises(InvalidParameter, match="days"):
        transition("signed", "request_extension", role="department", reason="需协调")


def test_supervise_levels_and_merge() -> None:
    for level in (1, 2, 3):
        assert transition("signed", "supervise", role="system", level=level).data == {"level": level}
    for bad in (0, 4, "2", True):
        with pytest.raises(InvalidParameter, match="level"):
            transition("signed", "supervise", role="dispatcher", level=bad)
    t = transition("accepted", "merge", role="dispatcher", primary_id=7, primary_state="dispatched")
    assert (t.to_state, t.data) == ("accepted", {"primary_id": 7})
    with pytest.raises(InvalidTransition, match="both tickets must be open"):
        transition("accepted", "merge", role="dispatcher", primary_id=7, primary_state="closed")


@pytest.mark.parametrize(
    ("state", "action", "role", "params"),
    [
        ("dispatched", "return", "department", {}),
        ("returned_pending_review", "review_return", "dispatcher", {"decision": "reject"}),
        ("signed", "request_extension", "department", {"days": 2}),
        ("closed", "reopen", "system", {}),
        ("result_reported", "close", "dispatcher", {}),  # no callback: say why
    ],
)
def test_reason_required(state: str, action: str, role: str, params: dict[str, object]) -> None:
    for blank in ("", "   "):
        with pytest.raises(ReasonRequired) as info:
            transition(state, action, role=role, reason=blank, **params)
        assert info.value.error_id == "ticket.reason_required" and isinstance(info.value, InvalidInput)
        assert info.value.http_status == 422


def test_invalid_transition_names_state_and_allowed_actions() -> None:
    with pytest.raises(InvalidTransition) as info:
        transition("accepted", "sign", role="department")
    err = info.value
    assert isinstance(err, Conflict) and err.error_id == "ticket.invalid_transition" and err.http_status == 409
    assert "'accepted'" in err.message and "dispatch, supervise, merge, close_on_call, note" in err.message
    assert err.details["allowed"] == ["dispatch", "supervise", "merge", "close_on_call", "note"]


@pytest.mark.parametrize(
    ("state", "action", "role"),
    [
        ("accepted", "dispatch", "department"),
        ("dispatched", "sign", "dispatcher"),
        ("accepted", "close_on_call", "dispatcher"),
        ("callback_pending", "mark_unreachable", "dispatcher"),
        ("signed", "supervise", "department"),
        ("signed", "sign", "nobody"),
    ],
)
def test_forbidden(state: str, action: str, role: str) -> None:
    with pytest.raises(Forbidden) as info:
        transition(state, action, role=role)
    assert (info.value.error_id, info.value.http_status) == ("ticket.forbidden", 403)


def test_allowed_actions_by_role() -> None:
    assert allowed_actions("accepted", "operator") == ["dispatch", "close_on_call", "note"]
    assert allowed_actions("dispatched", "department") == ["sign", "return", "note"]
    assert allowed_actions("in_progress", "department") == ["report_result", "request_extension", "note", "assign"]
    assert allowed_actions("callback_pending", "system") == ["supervise", "close", "reopen", "mark_unreachable"]
    assert allowed_actions("closed", "department") == []
    assert allowed_actions("closed", "system") == ["reopen"]
    assert allowed_actions("signed", "hacker") == []


def test_unknown_inputs() -> None:
    with pytest.raises(UnknownAction):
        transition("accepted", "teleport", role="admin")
    with pytest.raises(ValueError, match="unknown ticket state"):
        transition("lost", "dispatch", role="operator", department_id="water")
    with pytest.raises(InvalidParameter, match="unexpected parameter"):
        transition("dispatched", "sign", role="department", departmnet_id="water")


def test_merge_needs_the_primary() -> None:
    with pytest.raises(InvalidParameter, match="primary_state"):
        transition("signed", "merge", role="dispatcher", primary_id=7)
    with pytest.raises(InvalidParameter, match="primary_id"):
        transition("signed", "merge", role="dispatcher", primary_state="signed")
