"""Deadlines of 12345 tickets: the Chinese working-day calendar and the per-type time limits."""

from deadlines.calendar import CalendarYearNotCovered, add_working_days, covered_years, is_working_day
from deadlines.policy import Deadlines, Policy, PolicyError

__all__ = [
    "CalendarYearNotCovered",
    "Deadlines",
    "Policy",
    "PolicyError",
    "add_working_days",
    "covered_years",
    "is_working_day",
]
