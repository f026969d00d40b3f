"""Working days in Asia/Shanghai: official holidays and adjusted working weekends (调休).

Data comes from the `chinese_calendar` package, which only knows the years the State Council has
announced. Outside them we raise instead of guessing: treating an unknown Spring Festival as
working days would make every deadline in it wrong without anyone noticing.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import chinese_calendar
from chinese_calendar import constants as cc_data

from foundation.errors import DomainError

SHANGHAI = ZoneInfo("Asia/Shanghai")
END_OF_DAY = time(23, 59, 59)  # default close of a working day: the whole day counts


class CalendarYearNotCovered(DomainError):
    """The installed chinese_calendar has no holiday arrangement for this year: upgrade it."""

    error_id = "calendar.year_not_covered"
    http_status = 500  # our data is stale; nothing the caller can fix

    def __init__(self, year: int) -> None:
        first, last = covered_years()
        super().__init__(
            f"no official holiday data for year {year}: the installed chinese_calendar covers "
            f"{first}-{last}; upgrade the chinese-calendar package",
            year=year,
            covered=[first, last],
        )
        self.year = year


@cache
def covered_years() -> tuple[int, int]:
    """First and last year the installed chinese_calendar has holiday data for."""
    years = [d.year for d in cc_data.holidays]
    return min(years), max(years)


def to_local(moment: datetime) -> datetime:
    """`moment` in Asia/Shanghai; naive datetimes are refused since their zone is a guess."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"timezone-aware datetime required, got naive {moment.isoformat()}")
    return moment.astimezone(SHANGHAI)


def is_working_day(d: date) -> bool:
    """True on Mon-Fri that are not holidays and on adjusted working weekends (调休上班)."""
    if isinstance(d, datetime):  # a datetime's calendar date depends on its zone: make callers say which
        raise TypeError("is_working_day takes a date; pass to_local(moment).date()")
    first, last = covered_years()
    if not first <= d.year <= last:
        raise CalendarYearNotCovered(d.year)
    return bool(chinese_calendar.is_workday(d))


def add_working_days(start: datetime, days: int, *, day_ends_at: time = END_OF_DAY) -> datetime:
    """Deadline `days` working days after `start`, in Asia/Shanghai.

    Hotline rule: the day of `start` never counts, whatever the hour; counting starts on the next
    working day, and the deadline is `day_ends_at` (default 23:59:59, e.g. time(18) for close of
    business) on the `days`-th working day. A complaint dispatched Tuesday 16:00 with 1 working day
    is due Wednesday 23:59:59; dispatched Friday, due Monday.
    """
    if days < 1:
        raise ValueError(f"days must be at least 1, got {days}")
    day = to_local(start).date()
    counted = 0
    while counted < days:
        day += timedelta(days=1)
        if is_working_day(day):
            counted += 1
    return datetime.combine(day, day_ends_at, tzinfo=SHANGHAI)
