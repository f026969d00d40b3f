"""What a report holds: the period's indicators, the previous period's for comparison, trends,
categories, the department league table, hot issues, backlog and alerts. One builder for the CLI,
the dashboard page and the JSON views."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from reports.cdr import CallOutcomeCount, calls_by_bucket
from reports.hotissues import Doc, HotIssue, HotIssueFinder
from reports.indicators import Indicators, PeriodIndicators, compute, open_backlog
from reports.models import Alert
from reports.periods import Period
from tickets.models import Ticket

HOT_WINDOW_MIN = timedelta(days=7)


@dataclass(frozen=True)
class TrendPoint:
    label: str
    accepted: int
    closed: int
    calls: CallOutcomeCount

    @property
    def answer_rate(self) -> float | None:
        return self.calls.answered / self.calls.offered if self.calls.offered else None


@dataclass(frozen=True)
class ReportData:
    period: Period
    now: datetime
    indicators: PeriodIndicators
    previous: Indicators
    trend: list[TrendPoint]
    categories: list[tuple[str, int]]
    types: list[tuple[str, int]]
    hot_issues: list[HotIssue]
    backlog: dict[str, int]
    alerts: list[Alert]

    def league(self) -> list[Indicators]:
        """Departments ranked: 及时率, then 满意率, then 办结率 (undecided rates last), then volume."""
        def key(d: Indicators) -> tuple[float, float, float, int]:
            def v(x: float | None) -> float:
                return -1.0 if x is None else x
            return (-v(d.on_time_rate.value), -v(d.satisfaction_rate.value), -v(d.completion_rate.value),
                    -d.accepted)
        return sorted((d for d in self.indicators.departments if d.department_id), key=key)

    def as_json(self) -> dict[str, Any]:
        return {
            "period": {"kind": str(self.period.kind), "first_day": self.period.first_day.isoformat(),
                       "last_day": self.period.last_day.isoformat(), "title": self.period.title},
            "indicators": self.indicators.as_json(), "previous": self.previous.as_json(),
            "trend": [{"label": p.label, "accepted": p.accepted, "closed": p.closed, "offered": p.calls.offered,
                       "answered": p.calls.answered} for p in self.trend],
            "categories": [{"category": c, "count": n} for c, n in self.categories],
            "types": [{"type": t, "count": n} for t, n in self.types],
            "hot_issues": [h.as_json() for h in self.hot_issues], "backlog": self.backlog,
            "alerts": [{"key": a.key, "topic": a.topic, "district": a.district, "count": a.count,
                        "first_seen_at": a.first_seen_at.isoformat(), "message": a.message} for a in self.alerts],
        }


def ticket_docs(session: Session, *, start: datetime, end: datetime) -> list[Doc]:
    rows = session.execute(select(Ticket.number, Ticket.transcript, Ticket.summary, Ticket.place, Ticket.created_at)
                           .where(Ticket.created_at >= start, Ticket.created_at < end,
                                  Ticket.merged_into_id.is_(None)))
    return [Doc(id=number, text=transcript or summary, title=summary, place=place or "", at=at)
            for number, transcript, summary, place, at in rows if (transcript or summary)]


def hot_issues(session: Session, *, now: datetime, window: timedelta, top: int = 10,
               finder: HotIssueFinder | None = None) -> list[HotIssue]:
    docs = ticket_docs(session, start=now - window, end=now)
    return (finder or HotIssueFinder()).find(docs, now=now, window=window, top=top)


def build(session: Session, *, period: Period, now: datetime, hot_top: int = 10,
          department_names: dict[str, str] | None = None) -> ReportData:
    indicators = compute(session, start=period.start, end=period.end, now=now, department_names=department_names)
    prev = period.previous()
    previous = compute(session, start=prev.start, end=prev.end, now=now, department_names=department_names).overall
    buckets = period.buckets()
    created = session.scalars(select(Ticket.created_at).where(
        Ticket.created_at >= period.start, Ticket.created_at < period.end, Ticket.merged_into_id.is_(None))).all()
    closed = session.scalars(select(Ticket.closed_at).where(
        Ticket.closed_at >= period.start, Ticket.closed_at < period.end, Ticket.merged_into_id.is_(None))).all()
    calls = calls_by_bucket(session, buckets=buckets)
    trend = [TrendPoint(label, sum(1 for c in created if s <= c < e), sum(1 for c in closed if c and s <= c < e),
                        calls[i]) for i, (label, s, e) in enumerate(buckets)]
    rows = session.execute(select(Ticket.category, Ticket.type).where(
        Ticket.created_at >= period.start, Ticket.created_at < period.end, Ticket.merged_into_id.is_(None))).all()
    categories = Counter(c or "未分类" for c, _ in rows).most_common()
    types = Counter(t or "未分类" for _, t in rows).most_common()
    until = min(period.end, now)
    window = max(period.end - period.start, HOT_WINDOW_MIN)
    alerts = list(session.scalars(select(Alert).where(Alert.first_seen_at >= period.start,
                                                      Alert.first_seen_at < period.end)
                                  .order_by(Alert.first_seen_at)))
    return ReportData(period=period, now=now, indicators=indicators, previous=previous, trend=trend,
                      categories=categories, types=types,
                      hot_issues=hot_issues(session, now=until, window=window, top=hot_top),
                      backlog=open_backlog(session, now=now), alerts=alerts)
