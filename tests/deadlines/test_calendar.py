"""Working days from the official arrangement (chinese_calendar), including 调休 weekends."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from deadlines.calendar import SHANGHAI, CalendarYearNotCovered, add_working_days, covered_years, is_working_day


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=SHANGHAI)


def test_covered_years() -> None:
    first, last = covered_years()
    assert first == 2004 and last >= 2026


def test_national_day_2025_arrangement() -> None:
    # 国庆+中秋 2025: Oct 1-8 off; Sunday Sep 28 and Saturday Oct 11 are adjusted working days.
    assert is_working_day(date(2025, 9, 28))
    assert not is_working_day(date(2025, 9, 27))
    assert not any(is_working_day(date(2025, 10, d)) for d in range(1, 9))
    assert is_working_day(date(2025, 10, 9))
    assert is_working_day(date(2025, 10, 11))
    assert not is_working_day(date(2025, 10, 12))


@pytest.mark.parametrize(
    ("start", "days", "due"),
    [
        (local(2025, 9, 30, 16), 1, local(2025, 10, 9, 23, 59, 59)),  # first working day after the holiday
        (local(2025, 9, 30, 16), 2, local(2025, 10, 10, 23, 59, 59)),
        (local(2025, 9, 30, 16), 3, local(2025, 10, 11, 23, 59, 59)),  # adjusted Saturday counts
        (local(2025, 9, 30, 16), 5, local(2025, 10, 14, 23, 59, 59)),  # Sunday Oct 12 doesn't
        (local(2025, 9, 26, 9), 1, local(2025, 9, 28, 23, 59, 59)),  # Friday -> adjusted Sunday
        (local(2025, 10, 3, 10), 1, local(2025, 10, 9, 23, 59, 59)),  # dispatched on a holiday
        (local(2025, 11, 14, 17), 1, local(2025, 11, 17, 23, 59, 59)),  # Friday -> Monday
        (local(2025, 11, 17, 0, 1), 1, local(2025, 11, 18, 23, 59, 59)),  # the dispatch day never counts
    ],
)
def test_add_working_days(start: datetime, days: int, due: datetime) -> None:
    assert add_working_days(start, days) == due


def test_close_of_business_and_utc_input() -> None:
    assert add_working_days(local(2025, 11, 14, 17), 1, day_ends_at=time(18)) == local(2025, 11, 17, 18)
    # 17:00 UTC Thursday is 01:00 Friday in Shanghai: Friday is the dispatch day, due Monday.
    due = add_working_days(datetime(2025, 11, 13, 17, tzinfo=UTC), 1)
    assert due == local(2025, 11, 17, 23, 59, 59) and due.tzinfo is SHANGHAI


def test_refuses_ambiguous_input() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        add_working_days(datetime(2025, 11, 14, 17), 1)
    with pytest.raises(ValueError, match="at least 1"):
        add_working_days(local(2025, 11, 14, 17), 0)
    with pytest.raises(TypeError):
        is_working_day(local(2025, 11, 14, 17))


def test_years_without_data_raise_naming_the_year() -> None:
    first, last = covered_years()
    for year in (first - 1, last + 1):
        with pytest.raises(CalendarYearNotCovered, match=str(year)) as info:
            is_working_day(date(year, 1, 5))
        assert info.value.year == year and info.value.error_id == "calendar.year_not_covered"
    with pytest.raises(CalendarYearNotCovered, match=f"year {last + 1}"):
        add_working_days(local(last, 12, 31, 10), 1)
