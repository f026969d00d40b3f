"""Report periods: a day, a week (Monday to Sunday) or a calendar month in Asia/Shanghai, as
half-open UTC intervals [start, end) the queries use."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from foundation.errors import InvalidInput

SHANGHAI = ZoneInfo("Asia/Shanghai")


class PeriodKind(enum.StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


class InvalidPeriod(InvalidInput):
    error_id = "reports.invalid_period"


@dataclass(frozen=True)
class Period:
    kind: PeriodKind
    first_day: date  # local (Asia/Shanghai) dates, inclusive
    last_day: date

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first_day, time(0), SHANGHAI).astimezone(UTC)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.last_day + timedelta(days=1), time(0), SHANGHAI).astimezone(UTC)

    @property
    def label(self) -> str:
        if self.kind is PeriodKind.DAY:
            return f"{self.first_day:%Y-%m-%d}"
        if self.kind is PeriodKind.WEEK:
            return f"{self.first_day:%Y-%m-%d} – {self.last_day:%Y-%m-%d}"
        return f"{self.first_day:%Y-%m}"

    @property
    def title(self) -> str:
        name = {PeriodKind.DAY: "日报", PeriodKind.WEEK: "周报", PeriodKind.MONTH: "月报"}[self.kind]
        return f"12345热线{name} {self.label}"

    def days(self) -> list[date]:
        return [self.first_day + timedelta(days=i) for i in range((self.last_day - self.first_day).days + 1)]

    def buckets(self) -> list[tuple[str, datetime, datetime]]:
        """Trend points: hours of a day report, days of a week or month report (label, start, end)."""
        if self.kind is PeriodKind.DAY:
            base = datetime.combine(self.first_day, time(0), SHANGHAI)
            return [(f"{h:02d}时", (base + timedelta(hours=h)).astimezone(UTC),
                     (base + timedelta(hours=h + 1)).astimezone(UTC)) for h in range(24)]
        out = []
        for d in self.days():
            s = datetime.combine(d, time(0), SHANGHAI).astimezone(UTC)
            e = datetime.combine(d + timedelta(days=1), time(0), SHANGHAI).astimezone(UTC)
            out.append((f"{d:%m-%d}", s, e))
        return out

    def previous(self) -> Period:
        return period_of(self.kind, self.first_day - timedelta(days=1))


def period_of(kind: str | PeriodKind, day: date) -> Period:
    """The period of `kind` that contains the local date `day`."""
    try:
        k = PeriodKind(kind)
    except ValueError:
        raise InvalidPeriod(f"unknown period {kind!r}: use day, week or month", period=str(kind)) from None
    if k is PeriodKind.DAY:
        return Period(k, day, day)
    if k is PeriodKind.WEEK:
        monday = day - timedelta(days=day.weekday())
        return Period(k, monday, monday + timedelta(days=6))
    first = day.replace(day=1)
    nxt = (first + timedelta(days=32)).replace(day=1)
    return Period(k, first, nxt - timedelta(days=1))


def local_date(moment: datetime) -> date:
    return moment.astimezone(SHANGHAI).date()


def parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidPeriod(f"bad date {text!r}: use YYYY-MM-DD", date=text) from None
