"""Turn recogniser text into ticket text: no spaces, Arabic digits in phone and address numbers.

Vosk's Chinese models spell numbers as characters ("幺 三 八 …", "二十三 号"). Only number-shaped
runs are converted: long digit strings (phone numbers) and numbers in front of an address unit
(号, 栋, 单元, 室 …). A lone 一 is a word far more often than a number (一些, 一起, 统一, 万一), so it
is converted only in an address or date context.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType

DIGITS: Mapping[str, int] = MappingProxyType(
    {"零": 0, "〇": 0, "幺": 1, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5}
    | {"六": 6, "七": 7, "八": 8, "九": 9}
)
MULTIPLIERS: Mapping[str, int] = MappingProxyType({"十": 10, "百": 100, "千": 1000})
NUMERALS = "".join([*DIGITS, *MULTIPLIERS])
NUMERAL_RE = re.compile(f"[{NUMERALS}]+")
# Longest first so that 号楼 wins over 号.
ADDRESS_UNITS = ("号楼", "单元", "号", "栋", "幢", "楼", "层", "室", "户")
NOT_UNITS = ("号召", "号称", "号令", "号脉", "层次", "层面", "层出", "栋梁")
# A character before a number that makes it part of an address or date (金盘路一号, 三栋二单元).
ADDRESS_CONTEXT = frozenset("路街巷道弄村区苑园里城庭府湾座楼栋幢元号期第室层户月")
DATE_TAIL_RE = re.compile(f"[{NUMERALS}]+[号日]")
# Digit-only runs that are idioms, not numbers.
IDIOMS = ("三三两两", "七七八八")


def normalize_text(s: str) -> str:
    s = re.sub(r"\s+", "", s)
    protected = [m.span() for idiom in IDIOMS for m in re.finditer(idiom, s)]
    return NUMERAL_RE.sub(lambda m: _convert(s, m, protected), s)


def _convert(s: str, m: re.Match[str], protected: list[tuple[int, int]]) -> str:
    text, (start, end) = m.group(), m.span()
    if any(a < end and start < b for a, b in protected):
        return text
    pure = all(ch in DIGITS for ch in text)
    if pure and len(text) >= 3:  # phone numbers, room numbers said digit by digit (五零二)
        return _digit_string(text)
    prev, after = s[start - 1 : start], s[end:]
    unit = _unit_at(after)
    if unit is None and after.startswith("月") and DATE_TAIL_RE.match(after, 1):
        unit = "月"
    if unit is None and after[:1] in ("号", "日") and prev == "月":
        unit = after[:1]
    if unit is None:
        return text
    if not pure:
        value = _quantity(text)
        return text if value is None else str(value)
    chained = bool(NUMERAL_RE.match(after, len(unit))) or after[len(unit) : len(unit) + 1].isdigit()
    context = prev in ADDRESS_CONTEXT or prev.isdigit() or chained or unit == "月"
    if len(text) == 1:
        if text == "两" or (text == "一" and not context):  # 两栋楼 is a quantity; 一楼/一层 are words
            return text
        return _digit_string(text)
    if context or any(ch in "零〇幺" for ch in text):
        return _digit_string(text)
    return text  # 五六层: an estimate, not a number


def _unit_at(after: str) -> str | None:
    if after.startswith(NOT_UNITS):
        return None
    return next((u for u in ADDRESS_UNITS if after.startswith(u)), None)


def _digit_string(text: str) -> str:
    return "".join(str(DIGITS[ch]) for ch in text)


def _quantity(text: str) -> int | None:
    """Chinese quantity below 10000 (二十三, 一百零五, 一百一 = 110) → int; None if not well formed."""
    value, digit, last_unit, after_zero = 0, None, 10000, False
    for ch in text:
        if ch in "零〇":
            if digit is not None:
                return None
            after_zero = True
        elif ch in MULTIPLIERS:
            unit = MULTIPLIERS[ch]
            if unit >= last_unit or (digit is None and not (unit == 10 and value == 0)):
                return None
            value += (1 if digit is None else digit) * unit
            digit, last_unit, after_zero = None, unit, False
        else:
            if digit is not None:
                return None
            digit = DIGITS[ch]
    if digit is not None:
        # 一百零五 = 105, but 一百一 = 110 and 三千五 = 3500 (the unit below the last one is implied).
        value += digit if after_zero or last_unit == 10000 else digit * (last_unit // 10)
    return value
