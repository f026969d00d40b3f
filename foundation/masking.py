"""One rule for showing personal data: phone numbers as 138****5678, names as 张*.

Logs use `mask_number` on free text; views and exports use `mask_phone` on a number field. Both hide
with the same rule, so a number reads the same in a log line, on a ticket and in an export."""

from __future__ import annotations

import re

# Seven or more digits is a subscriber number; shorter runs (110, 12345, extensions) are not personal.
# Digits glued to ASCII letters are part of an identifier (a call id's hex, a channel name), not a
# number someone dialled; Chinese text around a number ("电话13812345678") still masks it.
_NUMBER_RE = re.compile(r"(?<![0-9A-Za-z])\d{7,}(?![0-9A-Za-z])")


def _mask_run(digits: str) -> str:
    # Mobile numbers (11 digits, or longer with a country code) keep their carrier prefix; shorter
    # landline numbers keep only the last 4, so that at least 3 digits are always hidden.
    head = 3 if len(digits) >= 11 else 0
    return digits[:head] + "*" * (len(digits) - head - 4) + digits[-4:]


def mask_number(s: str | None) -> str:
    """Mask every run of 7+ digits in a text, keeping the last 4: ``13812345678`` -> ``138****5678``."""
    if not s:
        return ""
    return _NUMBER_RE.sub(lambda m: _mask_run(m.group(0)), s)


def mask_phone(number: str | None) -> str:
    """A number field as people outside the center see it: 138****5678, 0898*****1234 → the same rule
    as in logs; a number too short to keep digits of (an extension, a short code) is all stars."""
    digits = (number or "").strip()
    if len(digits) >= 7 and digits.isdigit():
        return _mask_run(digits)
    return mask_number(digits) if len(digits) >= 7 else "*" * len(digits)


def mask_name(name: str) -> str:
    """张三 → 张*; 欧阳娜娜 → 欧***."""
    name = name.strip()
    return name[:1] + "*" * (len(name) - 1) if name else ""
