"""Ticket state machine of a 12345 center: which action is legal from which state, and for whom.

受理 accepted → 派单 dispatched → 签收 signed → 办理 in_progress → 反馈 result_reported
→ 回访 callback_pending → 办结 closed, plus 退单/改派, 延期, 督办, 并单, 即办件 and reopening.

Pure: `transition()` validates and describes a change; the ticket service applies it and writes
`Transition.event_kind`/`data`/`reason` to the ticket's event log. The rules are one table
(`_TABLE`, keyed by (state, action)), so the legal moves can be read, listed and tested as data.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from accounts.roles import Role
from foundation.errors import Conflict, DomainError, InvalidInput
from tickets.states import TicketStatus

# The state machine speaks of the same states the tickets table stores.
LifecycleState = TicketStatus


class Action(StrEnum):
    DISPATCH = "dispatch"  # 派单
    SIGN = "sign"  # 签收
    START = "start"  # 办理
    REPORT_RESULT = "report_result"  # 反馈
    RETURN = "return"  # 退单
    REVIEW_RETURN = "review_return"  # 退单审核: 改派 or 驳回
    REQUEST_EXTENSION = "request_extension"  # 延期申请
    DECIDE_EXTENSION = "decide_extension"  # 延期审批
    SUPERVISE = "supervise"  # 督办
    MERGE = "merge"  # 并单
    CLOSE_ON_CALL = "close_on_call"  # 即办件
    SCHEDULE_CALLBACK = "schedule_callback"  # 回访
    CLOSE = "close"  # 办结
    REOPEN = "reopen"  # 重办
    MARK_UNREACHABLE = "mark_unreachable"  # 回访无法联系
    NOTE = "note"  # 办理进展: a progress note, state unchanged
    ASSIGN = "assign"  # 下派: the responsible unit hands the work to a unit below it (首问负责 stays)


class Satisfaction(StrEnum):
    SATISFIED = "satisfied"  # 满意
    BASICALLY_SATISFIED = "basically_satisfied"  # 基本满意
    DISSATISFIED = "dissatisfied"  # 不满意


class InvalidTransition(Conflict):
    error_id = "ticket.invalid_transition"


class Forbidden(DomainError):
    error_id = "ticket.forbidden"
    http_status = 403


class ReasonRequired(InvalidInput):
    error_id = "ticket.reason_required"


class InvalidParameter(InvalidInput):
    error_id = "ticket.invalid_parameter"


class UnknownAction(InvalidInput):
    error_id = "ticket.unknown_action"


@dataclass(frozen=True)
class Transition:
    from_state: LifecycleState
    to_state: LifecycleState
    action: Action
    event_kind: str  # TicketEvent.kind
    reason: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def changes_state(self) -> bool:
        return self.from_state != self.to_state


# --- parameter checks: each returns the event data, raising InvalidParameter on bad input -------

Params = Mapping[str, Any]
Check = Callable[[Params, str], dict[str, Any]]  # (params, stripped reason) -> event data


def _bad(message: str, **details: Any) -> InvalidParameter:
    return InvalidParameter(message, **details)


def _only(params: Params, allowed: Iterable[str]) -> None:
    # Strict on purpose: a misspelt parameter must not silently drop a fact from the event log.
    extra = sorted(set(params) - set(allowed))
    if extra:
        raise _bad(f"unexpected parameter(s): {', '.join(extra)}", unexpected=extra)


def _text(params: Params, name: str) -> str:
    value = params.get(name)
    if not isinstance(value, str) or not value.strip():
        raise _bad(f"parameter {name!r} is required (non-empty text)", parameter=name)
    return value.strip()


def _int(params: Params, name: str, low: int, high: int) -> int:
    value = params.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _bad(f"parameter {name!r} must be an integer from {low} to {high}, got {value!r}", parameter=name)
    return value


def _flag(params: Params, name: str) -> bool:
    value = params.get(name, False)
    if not isinstance(value, bool):
        raise _bad(f"parameter {name!r} must be true or false, got {value!r}", parameter=name)
    return value


def _no_params(params: Params, reason: str) -> dict[str, Any]:
    _only(params, ())
    return {}


def _dispatch(params: Params, reason: str) -> dict[str, Any]:
    _only(params, ("department_id",))
    return {"department_id": _text(params, "department_id")}


def _review_return(params: Params, reason: str) -> dict[str, Any]:
    _only(params, ("decision", "department_id"))
    decision = params.get("decision")
    if decision == "redispatch":  # 改派: objection upheld, another unit takes it
        return {"decision": decision, "department_id": _text(params, "department_id")}
    if decision == "reject":  # 驳回: objection rejected, back to the same department
        _only(params, ("decision",))
        return {"decision": decision}
    raise _bad(f"parameter 'decision' must be 'redispatch' or 'reject', got {decision!r}", parameter="decision")


def _request_extension(params: Params, reason: str) -> dict[str, Any]:
    _only(params, ("days", "extension_pending"))
    if _flag(params, "extension_pending"):
        raise InvalidTransition("an extension request is already pending", action=Action.REQUEST_EXTENSION)
    return {"days": _int(params, "days", 1, 60), "extension_pending": True}


def _decide_extension(params: Params, reason: str) -> dict[str, Any]:
    _only(params, ("approved", "days", "extension_pending"))
    if not _flag(params, "extension_pending"):
        raise InvalidTransition("no extension request is pending", action=Action.DECIDE_EXTENSION)
    if not isinstance(params.get("approved"), bool):
        raise _bad("parameter 'approved' (true or false) is required", parameter="approved")
    if not params["approved"] and not reason:
        raise ReasonRequired("refusing an extension requires a reason", action=Action.DECIDE_EXTENSION)
    data: dict[str, Any] = {"approved": params["approved"], "extension_pending": False}
    if params["approved"] and "days" in params:  # the center may grant fewer days than asked
        data["days"] = _int(params, "days", 1, 60)
    return data


def _supervise(params: Params, reason: str) -> dict[str, Any]:
    _only(params, ("level",))
    return {"level": _int(params, "level", 1, 3)}


def _merge(params: Params, reason: str) -> dict[str, Any]:
    # The duplicate keeps its state and follows the primary; the service cascades closure.
    _only(params, ("primary_id", "primary_state"))
    primary_state = params.get("primary_state")
    if not isinstance(primary_state, str) or not primary_state:
        raise _bad("parameter 'primary_state' (the primary ticket's state) is required", parameter="primary_state")
    if primary_state not in _OPEN:
        raise InvalidTransition(
            f"cannot merge into a primary ticket in state {primary_state!r}: both tickets must be open",
            action=Action.MERGE,
            primary_state=primary_state,
        )
    primary_id = params.get("primary_id")
    if primary_id is None or primary_id == "":
        raise _bad("parameter 'primary_id' is required", parameter="primary_id")
    return {"primary_id": primary_id}


def _close_after_callback(params: Params, reason: str) -> dict[str, Any]:
    _only(params, ("satisfaction",))
    if "satisfaction" not in params:
        # The citizen opted out (不回访) after the callback was scheduled: closed unsurveyed, saying why.
        if not reason:
            raise ReasonRequired("closing a pending callback without a survey answer requires a reason",
                                 action=Action.CLOSE)
        return {"outcome": "no_callback"}
    value = params.get("satisfaction")
    if value == Satisfaction.DISSATISFIED:
        raise _bad("a dissatisfied callback reopens the ticket (action 'reopen'), it does not close it")
    if value not in (Satisfaction.SATISFIED, Satisfaction.BASICALLY_SATISFIED):
        raise _bad(f"parameter 'satisfaction' must be satisfied or basically_satisfied, got {value!r}")
    return {"satisfaction": str(value), "outcome": "callback"}


def _close_without_callback(params: Params, reason: str) -> dict[str, Any]:
    _no_params(params, reason)
    return {"outcome": "no_callback"}


def _close_on_call(params: Params, reason: str) -> dict[str, Any]:
    _no_params(params, reason)
    return {"outcome": "answered_on_call"}  # 即办件


def _mark_unreachable(params: Params, reason: str) -> dict[str, Any]:
    _no_params(params, reason)
    return {"outcome": "unreachable"}  # 无法联系


def _assign(params: Params, reason: str) -> dict[str, Any]:
    _only(params, ("unit_id",))
    return {"unit_id": _text(params, "unit_id")}


def _reopen(params: Params, reason: str) -> dict[str, Any]:
    _only(params, ("department_id",))
    return {"department_id": _text(params, "department_id")} if "department_id" in params else {}


# --- the table ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Rule:
    to: LifecycleState | None  # None: state unchanged (flags, supervision, links)
    roles: frozenset[Role]
    event_kind: str
    check: Check = _no_params
    reason_required: bool = False


_S = LifecycleState
_A = Action
_OPEN = frozenset(s for s in LifecycleState if s is not LifecycleState.CLOSED)
# Admin acts as a center supervisor; department work stays with departments so their record is theirs.
_CENTER = frozenset({Role.OPERATOR, Role.DISPATCHER, Role.ADMIN})
_SUPERVISOR = frozenset({Role.DISPATCHER, Role.ADMIN})
_AUTOMATED = frozenset({Role.SYSTEM, Role.DISPATCHER, Role.ADMIN})  # normally the system; a supervisor may step in
_DEPT = frozenset({Role.DEPARTMENT})
_WATCHERS = frozenset({Role.DISPATCHER, Role.SYSTEM, Role.ADMIN})  # 督办 by a supervisor or an overdue timer

_TABLE: Mapping[tuple[LifecycleState, Action], _Rule] = MappingProxyType(
    {
        (_S.ACCEPTED, _A.DISPATCH): _Rule(_S.DISPATCHED, _CENTER, "dispatched", _dispatch),
        (_S.ACCEPTED, _A.CLOSE_ON_CALL): _Rule(_S.CLOSED, frozenset({Role.OPERATOR}), "closed_on_call", _close_on_call),
        (_S.DISPATCHED, _A.SIGN): _Rule(_S.SIGNED, _DEPT, "signed"),
        (_S.SIGNED, _A.START): _Rule(_S.IN_PROGRESS, _DEPT, "started"),
        (_S.IN_PROGRESS, _A.REPORT_RESULT): _Rule(_S.RESULT_REPORTED, _DEPT, "result_reported"),
        (_S.DISPATCHED, _A.RETURN): _Rule(_S.RETURNED_PENDING_REVIEW, _DEPT, "returned", reason_required=True),
        (_S.SIGNED, _A.RETURN): _Rule(_S.RETURNED_PENDING_REVIEW, _DEPT, "returned", reason_required=True),
        (_S.RETURNED_PENDING_REVIEW, _A.REVIEW_RETURN): _Rule(
            _S.DISPATCHED, _SUPERVISOR, "return_reviewed", _review_return, reason_required=True
        ),
        **{
            (s, _A.REQUEST_EXTENSION): _Rule(
                None, _DEPT, "extension_requested", _request_extension, reason_required=True
            )
            for s in (_S.SIGNED, _S.IN_PROGRESS)
        },
        **{
            (s, _A.DECIDE_EXTENSION): _Rule(None, _SUPERVISOR, "extension_decided", _decide_extension)
            for s in (_S.SIGNED, _S.IN_PROGRESS)
        },
        **{(s, _A.SUPERVISE): _Rule(None, _WATCHERS, "supervised", _supervise) for s in _OPEN},
        **{(s, _A.MERGE): _Rule(None, _SUPERVISOR, "merged", _merge) for s in _OPEN},
        (_S.RESULT_REPORTED, _A.SCHEDULE_CALLBACK): _Rule(_S.CALLBACK_PENDING, _AUTOMATED, "callback_scheduled"),
        (_S.CALLBACK_PENDING, _A.CLOSE): _Rule(_S.CLOSED, _AUTOMATED, "closed", _close_after_callback),
        # No callback due (anonymous, caller declined): say why, since it skips the satisfaction survey.
        (_S.RESULT_REPORTED, _A.CLOSE): _Rule(
            _S.CLOSED, _AUTOMATED, "closed", _close_without_callback, reason_required=True
        ),
        **{(s, _A.NOTE): _Rule(None, _CENTER | _DEPT, "note", reason_required=True) for s in _OPEN},
        **{(s, _A.ASSIGN): _Rule(None, _DEPT, "assigned", _assign) for s in (_S.SIGNED, _S.IN_PROGRESS)},
        (_S.CLOSED, _A.REOPEN): _Rule(_S.DISPATCHED, _AUTOMATED, "reopened", _reopen, reason_required=True),
        # 回访不满意: the survey found the result wanting; back to the department, never closed in between.
        (_S.CALLBACK_PENDING, _A.REOPEN): _Rule(_S.DISPATCHED, _AUTOMATED, "reopened", _reopen,
                                               reason_required=True),
        (_S.CALLBACK_PENDING, _A.MARK_UNREACHABLE): _Rule(
            _S.CLOSED, frozenset({Role.SYSTEM}), "callback_unreachable", _mark_unreachable
        ),
    }
)


def legal_pairs() -> frozenset[tuple[LifecycleState, Action]]:
    """Every (state, action) the table allows, whatever the role."""
    return frozenset(_TABLE)


def _state(state: str) -> LifecycleState:
    try:
        return LifecycleState(state)
    except ValueError:
        raise ValueError(f"unknown ticket state {state!r}; known: {', '.join(LifecycleState)}") from None


def _actions_from(state: LifecycleState, role: Role | None = None) -> list[str]:
    # Action order, not table order, so the lists are stable and readable.
    return [str(a) for a in Action if (r := _TABLE.get((state, a))) is not None and (role is None or role in r.roles)]


def allowed_actions(state: str, role: str) -> list[str]:
    """Actions `role` may take on a ticket in `state`; unknown roles may take none."""
    current = _state(state)
    try:
        who = Role(role)
    except ValueError:
        return []
    return _actions_from(current, who)


def transition(state: str, action: str, *, role: str, reason: str = "", **params: Any) -> Transition:
    """Validate `action` by `role` on a ticket in `state` and describe the resulting change.

    Check order: unknown action, role never allowed the action, action not legal from this state,
    missing reason, bad parameters.
    """
    current = _state(state)
    try:
        act = Action(action)
    except ValueError:
        raise UnknownAction(f"unknown action {action!r}", action=action, known=[str(a) for a in Action]) from None
    roles_for_action = frozenset(r for (_, a), rule in _TABLE.items() if a is act for r in rule.roles)
    if role not in roles_for_action:
        raise Forbidden(
            f"role {role!r} may not {act}; allowed roles: {', '.join(sorted(roles_for_action))}",
            action=str(act),
            role=role,
        )
    rule = _TABLE.get((current, act))
    if rule is None:
        allowed = _actions_from(current)
        raise InvalidTransition(
            f"action {str(act)!r} is not allowed from state {str(current)!r}; allowed from {str(current)!r}: "
            f"{', '.join(allowed) or 'none'}",
            state=str(current),
            action=str(act),
            allowed=allowed,
        )
    if role not in rule.roles:  # roles may in principle differ per state for the same action
        raise Forbidden(f"role {role!r} may not {act} from state {str(current)!r}", action=str(act), role=role)
    reason = reason.strip()
    if rule.reason_required and not reason:
        raise ReasonRequired(f"action {str(act)!r} from state {str(current)!r} requires a reason", action=str(act))
    data = rule.check(params, reason)
    return Transition(
        from_state=current,
        to_state=rule.to or current,
        action=act,
        event_kind=rule.event_kind,
        reason=reason,
        data=data,
    )
