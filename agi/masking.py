"""Masking of phone numbers before they reach a log line (logs leave the hotline; numbers must not)."""

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
    """Mask every run of 7+ digits, keeping the last 4: ``13812345678`` -> ``138****5678``."""
    if not s:
        return ""
    return _NUMBER_RE.sub(lambda m: _mask_run(m.group(0)), s)
