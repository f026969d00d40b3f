"""Per-type time limits of a 12345 center, loaded from policy.yaml, and overdue escalation levels.

Rules (values in policy.yaml):
- sign_by: dispatch + `sign_within_minutes`, wall clock, never after resolve_by.
- resolve_by: the earliest of the limits that apply: working days by category override, else by
  type, else `max_working_days`; emergency hours; utility hours (flag, or a utility category).
- overdue_level: 0 on time, 1 late, then level 2/3 once late by more than N working days or a
  fraction of the allowance (dispatch to deadline), whichever comes first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from importlib.resources import files
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from deadlines.calendar import SHANGHAI, add_working_days, to_local

# The six types of DESIGN.md; a misspelt type in the YAML would silently fall back to the maximum.
TICKET_TYPES = frozenset({"咨询", "求助", "投诉", "举报", "建议", "表扬"})


class PolicyError(ValueError):
    """policy.yaml is malformed; the message names the file and the key."""


@dataclass(frozen=True)
class Deadlines:
    sign_by: datetime  # 签收 deadline
    resolve_by: datetime  # 办结 deadline (result reported)
    rule: str  # which limit set resolve_by: "category:<name>", "type:<name>", "default", "emergency", "utility"


@dataclass(frozen=True)
class Escalation:
    late_working_days: int
    allowance_fraction: float


@dataclass(frozen=True)
class Policy:
    day_ends_at: time
    sign_within: timedelta
    max_working_days: int
    type_working_days: Mapping[str, int]
    category_working_days: Mapping[str, int]
    emergency_within: timedelta
    utility_within: timedelta
    utility_categories: frozenset[str]
    utility_keywords: tuple[str, ...]
    escalation: tuple[Escalation, ...]  # thresholds of levels 2, 3, ...

    @classmethod
    def load(cls, path: str | Path | None = None) -> Policy:
        """The policy in `path`, or the packaged deadlines/policy.yaml."""
        if path is None:
            source, text = "deadlines/policy.yaml", files("deadlines").joinpath("policy.yaml").read_text("utf-8")
        else:
            source, text = str(path), Path(path).read_text(encoding="utf-8")
        try:
            raw = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise PolicyError(f"{source}: not valid YAML: {exc}") from exc
        return _parse(raw, source)

    def resolution_days(self, ticket_type: str, category: str) -> tuple[int, str]:
        """Working days to resolve and the rule that set them."""
        if category in self.category_working_days:
            return self.category_working_days[category], f"category:{category}"
        if ticket_type in self.type_working_days:
            return self.type_working_days[ticket_type], f"type:{ticket_type}"
        return self.max_working_days, "default"

    def utility_of(self, text: str) -> bool:
        """Whether `text` (transcript, summary) reports a water/power/gas/heating outage."""
        return any(word in text for word in self.utility_keywords)

    def deadlines(
        self, *, ticket_type: str, category: str, emergency: bool, utility: bool, dispatched_at: datetime
    ) -> Deadlines:
        start = to_local(dispatched_at)
        days, rule = self.resolution_days(ticket_type, category)
        clock: list[tuple[datetime, str]] = []
        if emergency:
            clock.append((_after(start, self.emergency_within), "emergency"))
        if utility or category in self.utility_categories:
            clock.append((_after(start, self.utility_within), "utility"))
        # The working-day deadline can't come before day_ends_at `days` calendar days on; when a
        # wall-clock limit is earlier still, skip the calendar, so an emergency gets its deadline
        # even if next year's holiday data is missing.
        earliest_possible = datetime.combine(start.date() + timedelta(days=days), self.day_ends_at, tzinfo=SHANGHAI)
        if not clock or min(c[0] for c in clock) > earliest_possible:
            clock.append((add_working_days(start, days, day_ends_at=self.day_ends_at), rule))
        resolve_by, rule = min(clock, key=lambda c: c[0])
        return Deadlines(sign_by=min(_after(start, self.sign_within), resolve_by), resolve_by=resolve_by, rule=rule)

    def overdue_level(self, deadline: datetime, now: datetime, *, dispatched_at: datetime | None = None) -> int:
        """0 on time, 1 late, 2.. per `escalation` (see module doc); without dispatched_at,
        only the working-day thresholds apply."""
        deadline, now = to_local(deadline), to_local(now)
        if now <= deadline:
            return 0
        allowance = None
        if dispatched_at is not None:
            allowance = deadline - to_local(dispatched_at)
            if allowance <= timedelta(0):
                raise ValueError(f"dispatched_at {dispatched_at.isoformat()} is not before deadline {deadline}")
        level = 1
        for n, step in enumerate(self.escalation, start=2):
            # Fraction first: it needs no calendar lookup.
            if (allowance is not None and now > _after(deadline, allowance * step.allowance_fraction)) or (
                now > add_working_days(deadline, step.late_working_days, day_ends_at=self.day_ends_at)
            ):
                level = n
            else:
                break
        return level


def _after(moment: datetime, delta: timedelta) -> datetime:
    # Elapsed time, computed in UTC: local wall-clock arithmetic is wrong across offset changes.
    return (moment.astimezone(UTC) + delta).astimezone(SHANGHAI)


# --- validation ---------------------------------------------------------------------------------


def _parse(raw: Any, source: str) -> Policy:
    top = _section(
        raw,
        source,
        "",
        {"version", "day_ends_at", "sign_within_minutes", "resolution", "emergency_hours", "utility", "escalation"},
    )
    if top["version"] != 1:
        raise PolicyError(f"{source}: version: expected 1, got {top['version']!r}")
    res = _section(top["resolution"], source, "resolution", {"max_working_days", "types", "categories"})
    max_days = _positive_int(res["max_working_days"], source, "resolution.max_working_days")
    types = _days_map(res["types"], source, "resolution.types", max_days)
    unknown = sorted(set(types) - TICKET_TYPES)
    if unknown:
        raise PolicyError(
            f"{source}: resolution.types: unknown ticket type(s) {', '.join(unknown)}; "
            f"known: {', '.join(sorted(TICKET_TYPES))}"
        )
    util = _section(top["utility"], source, "utility", {"hours", "categories", "keywords"})
    esc = _section(top["escalation"], source, "escalation", {"level2", "level3"})
    steps = tuple(_escalation(esc[key], source, f"escalation.{key}") for key in ("level2", "level3"))
    if steps[1].late_working_days < steps[0].late_working_days or (
        steps[1].allowance_fraction < steps[0].allowance_fraction
    ):
        raise PolicyError(f"{source}: escalation.level3: thresholds must not be below level2's")
    return Policy(
        day_ends_at=_time(top["day_ends_at"], source, "day_ends_at"),
        sign_within=timedelta(minutes=_positive_number(top["sign_within_minutes"], source, "sign_within_minutes")),
        max_working_days=max_days,
        type_working_days=MappingProxyType(types),
        category_working_days=MappingProxyType(_days_map(res["categories"], source, "resolution.categories", max_days)),
        emergency_within=timedelta(hours=_positive_number(top["emergency_hours"], source, "emergency_hours")),
        utility_within=timedelta(hours=_positive_number(util["hours"], source, "utility.hours")),
        utility_categories=frozenset(_words(util["categories"], source, "utility.categories")),
        utility_keywords=_words(util["keywords"], source, "utility.keywords"),
        escalation=steps,
    )


def _section(node: Any, source: str, where: str, keys: set[str]) -> dict[str, Any]:
    label = where or "top level"
    if not isinstance(node, dict):
        raise PolicyError(f"{source}: {label}: expected a mapping, got {type(node).__name__}")
    unknown, missing = sorted(set(node) - keys, key=str), sorted(keys - set(node))
    if unknown:
        raise PolicyError(f"{source}: {label}: unknown key(s) {', '.join(map(str, unknown))}")
    if missing:
        raise PolicyError(f"{source}: {label}: missing key(s) {', '.join(missing)}")
    return node


def _positive_int(value: Any, source: str, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise PolicyError(f"{source}: {where}: expected a positive integer, got {value!r}")
    return value


def _positive_number(value: Any, source: str, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise PolicyError(f"{source}: {where}: expected a positive number, got {value!r}")
    return float(value)


def _days_map(node: Any, source: str, where: str, max_days: int) -> dict[str, int]:
    if not isinstance(node, dict):
        raise PolicyError(f"{source}: {where}: expected a mapping of name to working days, got {node!r}")
    days: dict[str, int] = {}
    for name, value in node.items():
        if not isinstance(name, str) or not name:
            raise PolicyError(f"{source}: {where}: names must be non-empty text, got {name!r}")
        days[name] = _positive_int(value, source, f"{where}.{name}")
        if days[name] > max_days:
            raise PolicyError(f"{source}: {where}.{name}: {value} exceeds resolution.max_working_days ({max_days})")
    return days


def _words(node: Any, source: str, where: str) -> tuple[str, ...]:
    if not isinstance(node, list) or not all(isinstance(w, str) and w for w in node):
        raise PolicyError(f"{source}: {where}: expected a list of non-empty strings, got {node!r}")
    return tuple(node)


def _time(value: Any, source: str, where: str) -> time:
    if isinstance(value, int):  # YAML 1.1 reads unquoted 18:00 as the sexagesimal number 1080
        raise PolicyError(f'{source}: {where}: got the number {value}; quote the time, e.g. "18:00"')
    if isinstance(value, str):
        try:
            parsed = time.fromisoformat(value)
        except ValueError:
            pass
        else:
            if parsed.tzinfo is None:  # always Asia/Shanghai; an offset here would be ignored
                return parsed
    raise PolicyError(f'{source}: {where}: expected "HH:MM" or "HH:MM:SS" (no offset), got {value!r}')


def _escalation(node: Any, source: str, where: str) -> Escalation:
    step = _section(node, source, where, {"late_working_days", "allowance_fraction"})
    return Escalation(
        late_working_days=_positive_int(step["late_working_days"], source, f"{where}.late_working_days"),
        allowance_fraction=_positive_number(step["allowance_fraction"], source, f"{where}.allowance_fraction"),
    )
