"""Deadlines by type, category, emergency and utility; overdue levels; policy validation."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from deadlines.calendar import SHANGHAI, CalendarYearNotCovered, covered_years
from deadlines.policy import Policy, PolicyError

DEFAULT_YAML = (Path(__file__).resolve().parents[2] / "deadlines" / "policy.yaml").read_text("utf-8")


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=SHANGHAI)


@pytest.fixture(scope="module")
def policy() -> Policy:
    return Policy.load()


def custom(tmp_path: Path, **changes: Any) -> Path:
    """The default policy with top-level sections replaced, written to a file."""
    data = yaml.safe_load(DEFAULT_YAML) | changes
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    return path


def due(p: Policy, when: datetime, ticket_type: str = "投诉", category: str = "", **flags: bool) -> datetime:
    return p.deadlines(
        ticket_type=ticket_type,
        category=category,
        emergency=flags.get("emergency", False),
        utility=flags.get("utility", False),
        dispatched_at=when,
    ).resolve_by


def test_complaint_across_national_day(policy: Policy) -> None:
    d = policy.deadlines(
        ticket_type="投诉", category="城乡建设", emergency=False, utility=False, dispatched_at=local(2025, 9, 30, 16)
    )
    assert d.sign_by == local(2025, 9, 30, 16, 30)
    assert d.resolve_by == local(2025, 10, 9, 23, 59, 59)
    assert d.rule == "type:投诉"


@pytest.mark.parametrize(
    ("ticket_type", "resolve_by"),
    [
        ("咨询", local(2025, 10, 9, 23, 59, 59)),
        ("建议", local(2025, 10, 10, 23, 59, 59)),
        ("求助", local(2025, 10, 10, 23, 59, 59)),
        ("举报", local(2025, 10, 14, 23, 59, 59)),  # 5 working days: 9, 10, 11 (Sat), 13, 14
        ("表扬", local(2025, 10, 14, 23, 59, 59)),
        ("", local(2025, 10, 14, 23, 59, 59)),  # unknown type: the 5-day ceiling
    ],
)
def test_working_days_by_type(policy: Policy, ticket_type: str, resolve_by: datetime) -> None:
    assert due(policy, local(2025, 9, 30, 16), ticket_type) == resolve_by


def test_friday_dispatch_skips_weekend(policy: Policy) -> None:
    assert due(policy, local(2025, 11, 14, 17), "咨询") == local(2025, 11, 17, 23, 59, 59)


def test_emergency_two_hours_even_on_a_holiday(policy: Policy) -> None:
    d = policy.deadlines(
        ticket_type="求助", category="", emergency=True, utility=False, dispatched_at=local(2025, 10, 1, 10)
    )
    assert (d.resolve_by, d.sign_by, d.rule) == (local(2025, 10, 1, 12), local(2025, 10, 1, 10, 30), "emergency")


def test_utility_24_hours(policy: Policy) -> None:
    assert due(policy, local(2025, 9, 30, 16), "投诉", utility=True) == local(2025, 10, 1, 16)
    d = policy.deadlines(
        ticket_type="咨询", category="供水", emergency=False, utility=False, dispatched_at=local(2025, 11, 17, 10)
    )
    assert (d.resolve_by, d.rule) == (local(2025, 11, 18, 10), "utility")
    # Both flags: the earliest limit wins.
    assert due(policy, local(2025, 11, 17, 10), utility=True, emergency=True) == local(2025, 11, 17, 12)


def test_utility_keywords(policy: Policy) -> None:
    assert policy.utility_of("我们小区已经停水两天了")
    assert policy.utility_of("家里暖气不热")
    assert policy.utility_of("突然停电了")
    assert not policy.utility_of("手机没电了")
    assert not policy.utility_of("咨询社保缴费")


def test_emergency_needs_no_calendar_beyond_the_data(policy: Policy) -> None:
    last = covered_years()[1]
    assert due(policy, local(last, 12, 31, 22), emergency=True) == local(last + 1, 1, 1, 0)
    with pytest.raises(CalendarYearNotCovered):
        due(policy, local(last, 12, 31, 22))


def test_custom_policy(tmp_path: Path) -> None:
    p = Policy.load(
        custom(
            tmp_path,
            day_ends_at="18:00",
            resolution={"max_working_days": 5, "types": {"投诉": 1}, "categories": {"教育文体": 3}},
            utility={"hours": 72, "categories": [], "keywords": ["停水"]},
            emergency_hours=0.25,
        )
    )
    assert p.day_ends_at == time(18)
    assert due(p, local(2025, 11, 17, 10)) == local(2025, 11, 18, 18)
    assert due(p, local(2025, 11, 17, 10), category="教育文体") == local(2025, 11, 20, 18)
    assert due(p, local(2025, 11, 17, 10), utility=True) == local(2025, 11, 18, 18)  # working day is earlier
    d = p.deadlines(
        ticket_type="投诉", category="", emergency=True, utility=False, dispatched_at=local(2025, 11, 17, 10)
    )
    assert d.sign_by == d.resolve_by == local(2025, 11, 17, 10, 15)  # never sign after resolving


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (DEFAULT_YAML.replace('"23:59:59"', "18:00"), "quote the time"),
        (DEFAULT_YAML.replace('"23:59:59"', '"6pm"'), "day_ends_at"),
        (DEFAULT_YAML.replace("投诉: 1", "投诉: 7"), "resolution.types.投诉: 7 exceeds"),
        (DEFAULT_YAML.replace("投诉: 1", "投斥: 1"), "unknown ticket type"),
        (DEFAULT_YAML.replace("咨询: 1", "咨询: one"), "resolution.types.咨询: expected a positive integer"),
        (DEFAULT_YAML.replace("sign_within_minutes: 30", "sign_within_minutes: -30"), "sign_within_minutes"),
        (DEFAULT_YAML.replace("emergency_hours: 2", "emergency_hour: 2"), "unknown key(s) emergency_hour"),
        (DEFAULT_YAML.replace("version: 1", "version: 2"), "version"),
        (DEFAULT_YAML.replace("late_working_days: 3", "late_working_days: 0"), "escalation.level3.late_working_days"),
        (DEFAULT_YAML.replace("allowance_fraction: 1.0", "allowance_fraction: 0.2"), "below level2"),
        (DEFAULT_YAML.replace("keywords: [", "keywords: [1, "), "utility.keywords"),
        ("- just\n- a list\n", "top level: expected a mapping"),
        ("resolution: [unclosed\n", "not valid YAML"),
    ],
)
def test_validation(tmp_path: Path, text: str, message: str) -> None:
    assert text != DEFAULT_YAML  # the replacement applied
    path = tmp_path / "bad.yaml"
    path.write_text(text, "utf-8")
    with pytest.raises(PolicyError, match=re.escape(message)) as info:
        Policy.load(path)
    assert str(path) in str(info.value)


def test_missing_section(tmp_path: Path) -> None:
    data = yaml.safe_load(DEFAULT_YAML)
    del data["utility"]
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    with pytest.raises(PolicyError, match="missing key"):
        Policy.load(path)


# --- overdue levels -------------------------------------------------------------------------------

COMPLAINT_DUE = local(2025, 10, 9, 23, 59, 59)  # dispatched 2025-09-30 16:00


@pytest.mark.parametrize(
    ("now", "level"),
    [
        (local(2025, 10, 9, 12), 0),
        (COMPLAINT_DUE, 0),
        (COMPLAINT_DUE + timedelta(seconds=1), 1),
        (local(2025, 10, 10, 23), 1),  # within one working day late
        (local(2025, 10, 11, 10), 2),  # past the end of Oct 10: more than 1 working day late
        (local(2025, 10, 13, 23), 2),  # +3 working days = Oct 10, 11 (Sat), 13
        (local(2025, 10, 14, 0, 0, 1), 3),
    ],
)
def test_overdue_by_working_days(policy: Policy, now: datetime, level: int) -> None:
    assert policy.overdue_level(COMPLAINT_DUE, now) == level


def test_weekend_lateness_does_not_count(policy: Policy) -> None:
    friday_due = local(2025, 11, 14, 23, 59, 59)
    assert policy.overdue_level(friday_due, local(2025, 11, 16, 12)) == 1
    assert policy.overdue_level(friday_due, local(2025, 11, 18, 1)) == 2


def test_overdue_by_fraction_of_allowance(policy: Policy) -> None:
    dispatched, deadline = local(2025, 10, 1, 10), local(2025, 10, 1, 12)  # 2-hour emergency
    level = lambda h, m: policy.overdue_level(deadline, local(2025, 10, 1, h, m), dispatched_at=dispatched)  # noqa: E731
    assert [level(11, 59), level(12, 30), level(13, 1), level(14, 1)] == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="not before deadline"):
        policy.overdue_level(deadline, local(2025, 10, 2, 0), dispatched_at=local(2025, 10, 1, 13))
