"""Indicators on the hand-built day of tests/reports/fixtures.py, on SQLite and PostgreSQL.

Period 2026-03-02 Asia/Shanghai = [03-01 16:00Z, 03-02 16:00Z); the report is made 03-03 12:00Z."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy.orm import Session, sessionmaker

from foundation.db import transaction
from reports.indicators import Indicators, PeriodIndicators, compute, open_backlog
from reports.periods import period_of
from tests.reports.fixtures import build_day, utc

NOW = utc(3, 12)


@pytest.fixture
def day(session_factory: sessionmaker[Session]) -> PeriodIndicators:
    with transaction(session_factory) as s:
        build_day(s)
    p = period_of("day", date(2026, 3, 2))
    assert (p.start, p.end) == (utc(1, 16), utc(2, 16))
    with session_factory() as s:
        return compute(s, start=p.start, end=p.end, now=NOW)


def _dept(r: PeriodIndicators, department: str) -> Indicators:
    return next(d for d in r.departments if d.department_id == department)


def test_overall_by_hand(day: PeriodIndicators) -> None:
    o = day.overall
    # 接通率: c1 (bot), c2 (operator) answered; c3 abandoned; c4 is a callback, c5 the day before.
    assert (o.answer_rate.numerator, o.answer_rate.denominator) == (2, 3)  # type: ignore[union-attr]
    assert o.calls is not None and (o.calls.by_bot, o.calls.by_person, o.calls.abandoned) == (1, 1, 1)
    assert o.accepted == 6  # T1-T5, T8 (T7 merged, T6 and T9 earlier)
    assert (o.completion_rate.numerator, o.completion_rate.denominator) == (3, 6)  # T1, T2, T8
    assert (o.on_time_rate.numerator, o.on_time_rate.denominator) == (2, 3)  # T1, T2 on time; T3 late
    assert (o.satisfaction_rate.numerator, o.satisfaction_rate.denominator) == (2, 3)  # T1, T2 of T1, T2, T6
    assert (o.callback_rate.numerator, o.callback_rate.denominator) == (3, 5)  # T1, T2, T6 of +T8, T9
    assert o.unreachable == 1
    assert o.avg_sign_minutes.count == 4 and o.avg_sign_minutes.value == pytest.approx((20 + 60 + 10 + 45) / 4)
    assert o.avg_resolve_hours.count == 2 and o.avg_resolve_hours.value == pytest.approx(3.0)
    assert (o.return_rate.numerator, o.return_rate.denominator) == (1, 6)
    assert (o.extensions, o.extension_requests, o.supervised) == (1, 1, 2)


def test_per_department_by_hand(day: PeriodIndicators) -> None:
    a, b = _dept(day, "water"), _dept(day, "housing")
    assert a.department_name == "市水务局"
    assert (a.accepted, a.completion_rate.numerator) == (3, 1)  # T1, T4, T5; T1 closed
    assert (b.accepted, b.completion_rate.numerator) == (3, 2)  # T2, T3, T8; T2, T8 closed
    assert (a.on_time_rate.numerator, a.on_time_rate.denominator) == (1, 1)
    assert (b.on_time_rate.numerator, b.on_time_rate.denominator) == (1, 2)
    assert (a.satisfaction_rate.numerator, a.satisfaction_rate.denominator) == (1, 2)  # T1 yes, T6 no
    assert (b.satisfaction_rate.numerator, b.satisfaction_rate.denominator) == (1, 1)
    assert (a.callback_rate.numerator, a.callback_rate.denominator) == (2, 2)
    assert (b.callback_rate.numerator, b.callback_rate.denominator, b.unreachable) == (1, 2, 1)
    # The department that held the ticket is credited: T2's 60-minute sign-for and its return are A's.
    assert a.avg_sign_minutes.value == pytest.approx(40.0) and b.avg_sign_minutes.value == pytest.approx(27.5)
    assert a.avg_resolve_hours.value == pytest.approx(4.0) and b.avg_resolve_hours.value == pytest.approx(2.0)
    assert (a.return_rate.numerator, a.return_rate.denominator) == (1, 4)
    assert (b.return_rate.numerator, b.return_rate.denominator) == (0, 2)
    assert (a.supervised, b.supervised, b.extensions) == (1, 1, 1)
    center = _dept(day, "")  # T8 was answered on the call before any dispatch
    assert center.department_name == "未派单" and center.callback_rate.denominator == 1


def test_a_period_in_progress_does_not_count_deadlines_still_ahead(session_factory: sessionmaker[Session]) -> None:
    with transaction(session_factory) as s:
        build_day(s)
    p = period_of("day", date(2026, 3, 2))
    with session_factory() as s:
        r = compute(s, start=p.start, end=p.end, now=utc(2, 11))  # T1 reported; T2, T3 still have time
    assert (r.overall.on_time_rate.numerator, r.overall.on_time_rate.denominator) == (2, 2)


def test_empty_period_has_no_rates(session_factory: sessionmaker[Session]) -> None:
    p = period_of("month", date(2026, 1, 15))
    with session_factory() as s:
        r = compute(s, start=p.start, end=p.end, now=NOW)
        assert open_backlog(s, now=NOW) == {"open": 0, "overdue": 0, "supervised_open": 0}
    assert r.overall.accepted == 0 and r.overall.completion_rate.value is None
    assert r.overall.as_json()["answer_rate"]["value"] is None and r.departments == []


def test_backlog_counts_open_overdue_and_supervised(session_factory: sessionmaker[Session]) -> None:
    with transaction(session_factory) as s:
        build_day(s)
    with session_factory() as s:
        # Open: T3 (overdue 14:00, supervised), T4 (supervised), T5, T6 (supervised, due 03-03 09:00).
        assert open_backlog(s, now=NOW) == {"open": 4, "overdue": 2, "supervised_open": 3}
