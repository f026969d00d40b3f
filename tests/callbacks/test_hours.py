"""Calling hours: windows, night refused, weekends and holidays by the official calendar."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest

from callbacks.hours import CallingHours, InvalidCallingHours, parse_hours
from foundation.settings import Settings

SH = ZoneInfo("Asia/Shanghai")
DEFAULT = CallingHours(parse_hours("09:00-12:00,14:00-20:00"))


def sh(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH)  # type: ignore[misc, arg-type]


def test_default_settings_give_the_issue_windows() -> None:
    hours = CallingHours.from_settings(Settings())
    assert hours.windows == ((time(9), time(12)), (time(14), time(20)))
    assert not hours.on_weekends and not hours.on_holidays


@pytest.mark.parametrize(("moment", "expected"), [
    (sh(2025, 11, 24, 10, 30), sh(2025, 11, 24, 10, 30)),  # Monday morning: at once
    (sh(2025, 11, 24, 7, 0), sh(2025, 11, 24, 9, 0)),  # before opening
    (sh(2025, 11, 24, 12, 0), sh(2025, 11, 24, 14, 0)),  # lunch break
    (sh(2025, 11, 24, 20, 0), sh(2025, 11, 25, 9, 0)),  # evening: next morning, never at night
    (sh(2025, 11, 24, 23, 30), sh(2025, 11, 25, 9, 0)),
    (sh(2025, 11, 21, 19, 59), sh(2025, 11, 21, 19, 59)),  # Friday, last minute
    (sh(2025, 11, 21, 20, 30), sh(2025, 11, 24, 9, 0)),  # Friday night → Monday (weekend off)
    (sh(2025, 9, 30, 21, 0), sh(2025, 10, 9, 9, 0)),  # National Day holidays 1-8 October skipped
    (sh(2025, 9, 27, 10, 0), sh(2025, 9, 28, 9, 0)),  # Sat 27 Sep off; Sun 28 Sep is a 调休 working day
])
def test_next_start(moment: datetime, expected: datetime) -> None:
    assert DEFAULT.next_start(moment) == expected
    assert DEFAULT.allows(expected)


def test_utc_input_is_read_in_shanghai() -> None:
    utc = datetime(2025, 11, 24, 1, 0, tzinfo=ZoneInfo("UTC"))  # 09:00 in Shanghai
    assert DEFAULT.allows(utc) and DEFAULT.next_start(utc) == utc


def test_weekends_and_holidays_can_be_allowed_separately() -> None:
    weekends = CallingHours(DEFAULT.windows, on_weekends=True)
    assert weekends.allows(sh(2025, 11, 22, 10, 0))  # an ordinary Saturday
    assert not weekends.allows(sh(2025, 10, 4, 10, 0))  # a Saturday inside the National Day holiday
    holidays = CallingHours(DEFAULT.windows, on_holidays=True)
    assert holidays.allows(sh(2025, 10, 2, 10, 0)) and not holidays.allows(sh(2025, 11, 22, 10, 0))


@pytest.mark.parametrize("spec", ["22:00-23:00", "07:00-09:00", "20:00-21:30", "09:00", "12:00-09:00",
                                  "09:00-12:00,11:00-13:00", "", "9h-12h"])
def test_bad_or_night_hours_are_refused(spec: str) -> None:
    with pytest.raises(InvalidCallingHours) as info:
        parse_hours(spec)
    assert info.value.error_id == "callbacks.invalid_calling_hours"


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        DEFAULT.allows(datetime(2025, 11, 24, 10, 0))
