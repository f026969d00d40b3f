"""Calling hours (回访时段): when the dialer may ring a citizen, in Asia/Shanghai.

Windows come from Settings.callback_hours ("09:00-12:00,14:00-20:00"); a window outside 08:00-21:00
is refused at load time, so no configuration can make the robot call at night. Weekends are the
non-working Saturdays and Sundays of the official calendar (an adjusted working weekend, 调休, counts
as a working day); holidays are the official public holidays. Both are configurable, off by default.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from itertools import pairwise

import chinese_calendar

from deadlines.calendar import SHANGHAI, CalendarYearNotCovered, covered_years, to_local
from foundation.errors import InvalidInput
from foundation.settings import Settings

EARLIEST = time(8, 0)  # nothing configured may start before this ...
LATEST = time(21, 0)  # ... or end after this: never at night
MAX_DAYS_AHEAD = 60  # longer than any holiday run (Spring Festival) plus weekends


class InvalidCallingHours(InvalidInput):
    error_id = "callbacks.invalid_calling_hours"


def parse_hours(spec: str) -> tuple[tuple[time, time], ...]:
    """"09:00-12:00,14:00-20:00" → ((09:00, 12:00), (14:00, 20:00)), sorted, non-overlapping."""
    windows: list[tuple[time, time]] = []
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        start_s, sep, end_s = part.partition("-")
        try:
            if not sep:
                raise ValueError
            start, end = time.fromisoformat(start_s.strip()), time.fromisoformat(end_s.strip())
        except ValueError:
            raise InvalidCallingHours(f"calling hours {part!r}: expected HH:MM-HH:MM", window=part) from None
        if start >= end:
            raise InvalidCallingHours(f"calling hours {part!r}: the start must be before the end", window=part)
        if start < EARLIEST or end > LATEST:
            raise InvalidCallingHours(
                f"calling hours {part!r} reach into the night: windows must lie within "
                f"{EARLIEST:%H:%M}-{LATEST:%H:%M}", window=part)
        windows.append((start, end))
    if not windows:
        raise InvalidCallingHours("no calling hours configured", spec=spec)
    windows.sort()
    for (_, end), (start, _) in pairwise(windows):
        if start < end:
            raise InvalidCallingHours(f"calling hours overlap in {spec!r}", spec=spec)
    return tuple(windows)


@dataclass(frozen=True)
class CallingHours:
    windows: tuple[tuple[time, time], ...]
    on_weekends: bool = False
    on_holidays: bool = False

    @classmethod
    def from_settings(cls, settings: Settings) -> CallingHours:
        return cls(parse_hours(settings.callback_hours), settings.callback_on_weekends,
                   settings.callback_on_holidays)

    def day_allowed(self, day: date) -> bool:
        first, last = covered_years()
        if not first <= day.year <= last:
            if self.on_weekends and self.on_holidays:
                return True  # every day allowed: the calendar does not matter
            raise CalendarYearNotCovered(day.year)
        rest, holiday_name = chinese_calendar.get_holiday_detail(day)
        if not rest:
            return True  # a working day, including an adjusted working weekend
        return self.on_holidays if holiday_name else self.on_weekends

    def allows(self, moment: datetime) -> bool:
        local = to_local(moment)
        return self.day_allowed(local.date()) and any(s <= local.time() < e for s, e in self.windows)

    def next_start(self, moment: datetime) -> datetime:
        """The earliest instant at or after `moment` when a call may be placed (aware, Asia/Shanghai)."""
        local = to_local(moment)
        day = local.date()
        for _ in range(MAX_DAYS_AHEAD):
            if self.day_allowed(day):
                for start, end in self.windows:
                    begin = datetime.combine(day, start, tzinfo=SHANGHAI)
                    finish = datetime.combine(day, end, tzinfo=SHANGHAI)
                    if local < finish:
                        return max(local, begin)
            day += timedelta(days=1)
            local = datetime.combine(day, time(0), tzinfo=SHANGHAI)
        raise InvalidCallingHours(f"no allowed calling day within {MAX_DAYS_AHEAD} days of {moment.isoformat()}")
