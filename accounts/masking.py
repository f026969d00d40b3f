"""How personal data is shown to people outside the center."""

from __future__ import annotations


def mask_phone(number: str) -> str:
    """138****5678 for mobiles; other numbers keep their first 3 and last 4 digits when long enough."""
    digits = number.strip()
    if len(digits) >= 11:
        return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]
    if len(digits) >= 7:
        return digits[:2] + "*" * (len(digits) - 4) + digits[-2:]
    return "*" * len(digits)


def mask_name(name: str) -> str:
    """张三 → 张*; 欧阳娜娜 → 欧***."""
    name = name.strip()
    return name[:1] + "*" * (len(name) - 1) if name else ""
