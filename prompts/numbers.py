"""How a prompt reads numbers aloud: ticket and phone numbers digit by digit, small counts as quantities."""

from __future__ import annotations

import re

DIGIT_CHARS = "零一二三四五六七八九"
NUMBER_RE = re.compile(r"\d+(?:\.\d+)?")
# Short numbers that are dialled, not counted: 转接110报警电话 is 幺幺零, never 一百一十.
DIALLED_AFTER_RE = re.compile(r"(报警|火警|急救|电话|热线|号码|短信)")
LONGEST_QUANTITY = 4  # longer digit strings (ticket numbers, phone numbers) are read digit by digit


def digits_text(number: str, yao: bool = False) -> str:
    """'20261122001' → '二零二六一一二二零零一' (幺 for 1 with yao=True, as operators say it)."""
    one = "幺" if yao else "一"
    return "".join(one if ch == "1" else DIGIT_CHARS[int(ch)] if ch.isdigit() else ch for ch in number)


def quantity_text(n: int) -> str:
    """0 ≤ n < 10000 as a spoken quantity: 23 → 二十三, 105 → 一百零五, 12 → 十二, 2000 → 两千."""
    if not 0 <= n < 10000:
        raise ValueError(f"quantity out of range: {n}")
    if n == 0:
        return "零"
    out, pending_zero = "", False
    for unit, name in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        d = n // unit % 10
        if d == 0:
            pending_zero = bool(out)
            continue
        if pending_zero:
            out += "零"
            pending_zero = False
        if unit == 10 and d == 1 and not out:
            out += "十"  # 12 is 十二, not 一十二
        elif d == 2 and unit >= 100 and not out:
            out += "两" + name
        else:
            out += DIGIT_CHARS[d] + name
    return out


def read_numbers(text: str, yao: bool = False) -> list[tuple[str, bool]]:
    """Split text into (chinese, is_digit_string) pieces with every Arabic number spelled out.

    Digit strings are flagged so the pinyin step can skip tone sandhi on them (一 in 一二 stays yi1).
    """
    pieces: list[tuple[str, bool]] = []
    pos = 0
    for m in NUMBER_RE.finditer(text):
        if m.start() > pos:
            pieces.append((text[pos : m.start()], False))
        pieces.append(_spell(m.group(), text[m.end() :], yao))
        pos = m.end()
    if pos < len(text):
        pieces.append((text[pos:], False))
    return pieces


def _spell(number: str, after: str, yao: bool) -> tuple[str, bool]:
    whole, _, fraction = number.partition(".")
    if fraction:
        return _spell(whole, "", yao)[0] + "点" + digits_text(fraction), False
    if DIALLED_AFTER_RE.match(after) and len(whole) <= LONGEST_QUANTITY:
        return digits_text(whole, yao=True), True
    if after.startswith("年") and len(whole) == 4:  # 2026年 is 二零二六年
        return digits_text(whole), True
    if len(whole) > LONGEST_QUANTITY or (len(whole) > 1 and whole.startswith("0")):
        return digits_text(whole, yao), True
    return quantity_text(int(whole)), False
