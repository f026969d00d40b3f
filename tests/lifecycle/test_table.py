"""The transition table, swept: exactly the specified (state, action) pairs are legal, for the specified roles."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from accounts.roles import Role
from tickets.lifecycle import Action, Forbidden, InvalidTransition, LifecycleState, legal_pairs, transition

OPEN = tuple(s for s in LifecycleState if s != "closed")

# The spec, written out independently of the module: (state, action) -> resulting state.
EXPECTED: Mapping[tuple[str, str], str] = MappingProxyType(
    {
        ("accepted", "dispatch"): "dispatched",
        ("accepted", "close_on_call"): "closed",
        ("dispatched", "sign"): "signed",
        ("signed", "start"): "in_progress",
        ("in_progress", "report_result"): "result_reported",
        ("dispatched", "return"): "returned_pending_review",
        ("signed", "return"): "returned_pending_review",
        ("returned_pending_review", "review_return"): "dispatched",
        ("signed", "request_extension"): "signed",
        ("in_progress", "request_extension"): "in_progress",
        ("signed", "decide_extension"): "signed",
        ("in_progress", "decide_extension"): "in_progress",
        **{(str(s), "supervise"): str(s) for s in OPEN},
        **{(str(s), "merge"): str(s) for s in OPEN},
        ("result_reported", "schedule_callback"): "callback_pending",
        ("callback_pending", "close"): "closed",
        ("result_reported", "close"): "closed",
        ("closed", "reopen"): "dispatched",
        ("callback_pending", "reopen"): "dispatched",
        ("callback_pending", "mark_unreachable"): "closed",
        **{(str(s), "note"): str(s) for s in OPEN},
        ("signed", "assign"): "signed",
        ("in_progress", "assign"): "in_progress",
    }
)

ROLES: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "dispatch": frozenset({"operator", "dispatcher", "admin"}),
        "sign": frozenset({"department"}),
        "start": frozenset({"department"}),
        "report_result": frozenset({"department"}),
        "return": frozenset({"department"}),
        "review_return": frozenset({"dispatcher", "admin"}),
        "request_extension": frozenset({"department"}),
        "decide_extension": frozenset({"dispatcher", "admin"}),
        "supervise": frozenset({"dispatcher", "system", "admin"}),
        "merge": frozenset({"dispatcher", "admin"}),
        "close_on_call": frozenset({"operator"}),
        "schedule_callback": frozenset({"system", "dispatcher", "admin"}),
        "close": frozenset({"system", "dispatcher", "admin"}),
        "reopen": frozenset({"system", "dispatcher", "admin"}),
        "mark_unreachable": frozenset({"system"}),
        "note": frozenset({"operator", "dispatcher", "admin", "department"}),
        "assign": frozenset({"department"}),
    }
)


def valid_params(state: str, action: str) -> dict[str, Any]:
    """Parameters that make `action` acceptable, so only the table decides legality."""
    params: dict[str, dict[str, Any]] = {
        "dispatch": {"department_id": "water"},
        "review_return": {"decision": "redispatch", "department_id": "power"},
        "request_extension": {"days": 3},
        "decide_extension": {"approved": True, "extension_pending": True},
        "supervise": {"level": 2},
        "assign": {"unit_id": "longhua.jinmao"},
        "merge": {"primary_id": 42, "primary_state": "in_progress"},
        "close": {} if state == "result_reported" else {"satisfaction": "satisfied"},
    }
    return params.get(action, {})


def test_table_is_the_spec() -> None:
    assert {(str(s), str(a)) for s, a in legal_pairs()} == set(EXPECTED)
    assert set(ROLES) == {str(a) for a in Action}


def outcome(state: str, action: str, role: str) -> str:
    try:
        t = transition(state, action, role=role, reason="原因", **valid_params(state, action))
    except (Forbidden, InvalidTransition) as exc:
        return type(exc).__name__
    assert (t.from_state, t.action) == (state, action) and t.event_kind
    return str(t.to_state)


def expected(state: str, action: str, role: str) -> str:
    if role not in ROLES[action]:  # role is checked first
        return "Forbidden"
    return EXPECTED.get((state, action), "InvalidTransition")


def test_sweep_every_state_action_role() -> None:
    grid = [(str(s), str(a), str(r)) for s in LifecycleState for a in Action for r in Role]
    assert len(grid) == 8 * 17 * 5
    actual = {key: outcome(*key) for key in grid}
    assert actual == {key: expected(*key) for key in grid}
