"""The ways out of the bot that work at every prompt: a person (人工 / 0) or an emergency line."""

from __future__ import annotations

from dataclasses import dataclass

from routing.types import emergency_of

OPERATOR_DIGIT = "0"
OPERATOR_WORDS = ("人工", "转人工", "接线员", "真人", "客服")

# emergency kind (routing.types.emergency_of) → (dialplan line, prompt key)
EMERGENCY_LINES = {
    "police": ("110", "emergency_police"),
    "fire": ("119", "emergency_fire"),
    "medical": ("120", "emergency_medical"),
}


@dataclass(frozen=True)
class Escape:
    target: str  # 'operator' or 'emergency'
    reason: str  # why, for the event log and the operator
    line: str = ""  # 110 / 119 / 120 for emergencies


def escape_of(text: str, digit: str = "") -> Escape | None:
    if digit == OPERATOR_DIGIT:
        return Escape("operator", "caller_pressed_0")
    kind = emergency_of(text) if text else None
    if kind in EMERGENCY_LINES:
        return Escape("emergency", f"emergency_{kind}", EMERGENCY_LINES[kind][0])
    if any(w in text for w in OPERATOR_WORDS):
        return Escape("operator", "caller_asked_operator")
    return None


YES_WORDS = ("对", "是", "没错", "正确", "可以", "嗯", "好的", "行")
NO_WORDS = ("不对", "不是", "错了", "不正确", "不行", "没有", "不")
CONFIRM_GRAMMAR = ["对", "对的", "是", "是的", "没错", "正确", "不对", "不是", "错了", "人工", "转人工"]


def yes_no(text: str, digit: str = "") -> bool | None:
    """The caller's answer to 对吗: True, False, or None when it cannot be told."""
    if digit == "1":
        return True
    if digit == "2":
        return False
    if not text:
        return None
    if any(w in text for w in NO_WORDS):
        return False
    if any(w in text for w in YES_WORDS):
        return True
    return None
