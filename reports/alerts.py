"""Early warning (预警): a surge of one topic in one district raises an alert, once.

Each sweep counts the tickets of the last `alert_window_minutes` per (topic, district) and compares
them with the previous `alert_baseline_days` scaled to one window (the expected count). A surge is

    count ≥ max(alert_min_count, alert_ratio × expected)

Topic: an outage named in the text (停水, 停电, 停气, 供暖: the utility words of deadlines/policy.yaml)
or else the ticket's category. District: the first 区/县 of the ticket's place, else of its text.

Once per surge: an alert row has a UNIQUE key (topic, district, the window-sized time bucket the
surge was first seen in). While the surge goes on (an alert for the same topic and district seen within
the last window), the sweep updates that row instead of raising another. Delivery: alerts not yet
notified are claimed (FOR UPDATE SKIP LOCKED on PostgreSQL; SQLite's BEGIN IMMEDIATE serialises
sweeps), sent through the notifier fan-out and marked; an alert whose delivery failed on any notifier
stays pending and is sent again by the next sweep. The caller owns the transaction.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from foundation.notifications import Fanout, Notification
from foundation.settings import Settings
from reports.hotissues import district_of
from reports.models import Alert
from tickets.models import Ticket

log = logging.getLogger(__name__)

OUTAGE_TOPICS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("停水", ("停水", "断水", "爆管", "没水", "没有水")),
    ("停电", ("停电", "断电")),
    ("停气", ("停气", "断气")),
    ("供暖", ("停暖", "暖气不热", "供暖", "集中供热")),
)
UNKNOWN_DISTRICT = "未识别区县"


def topic_of(text: str, category: str) -> str:
    for topic, words in OUTAGE_TOPICS:
        if any(w in text for w in words):
            return topic
    return category or "其他"


@dataclass(frozen=True)
class Surge:
    topic: str
    district: str
    count: int
    expected: float


@dataclass
class SweepResult:
    surges: list[Surge] = field(default_factory=list)
    raised: list[Alert] = field(default_factory=list)
    delivered: list[Alert] = field(default_factory=list)


def detect(session: Session, *, now: datetime, window: timedelta, baseline: timedelta, min_count: int,
           ratio: float) -> list[Surge]:
    rows = session.execute(select(Ticket.created_at, Ticket.transcript, Ticket.summary, Ticket.category,
                                  Ticket.place)
                           .where(Ticket.created_at >= now - window - baseline, Ticket.created_at < now,
                                  Ticket.merged_into_id.is_(None)))
    recent: Counter[tuple[str, str]] = Counter()
    before: Counter[tuple[str, str]] = Counter()
    for at, transcript, summary, category, place in rows:
        text = f"{transcript} {summary}"
        key = (topic_of(text, category), district_of(place or "") or district_of(text) or UNKNOWN_DISTRICT)
        (recent if at >= now - window else before)[key] += 1
    scale = window / baseline
    surges = []
    for (topic, district), count in recent.items():
        expected = before[(topic, district)] * scale
        if count >= max(min_count, ratio * expected):
            surges.append(Surge(topic, district, count, expected))
    return sorted(surges, key=lambda s: (-s.count, s.topic, s.district))


def _raise(session: Session, surge: Surge, *, now: datetime, window: timedelta) -> Alert | None:
    ongoing = session.scalars(select(Alert).where(
        Alert.kind == "surge", Alert.topic == surge.topic, Alert.district == surge.district,
        Alert.last_seen_at >= now - window).order_by(Alert.id.desc())).first()
    if ongoing is not None:
        ongoing.last_seen_at = max(ongoing.last_seen_at, now)
        ongoing.count = max(ongoing.count, surge.count)
        return None
    bucket = int(now.timestamp() // window.total_seconds())
    where = surge.district
    alert = Alert(
        key=f"surge:{surge.topic}:{surge.district}:{bucket}", kind="surge", topic=surge.topic,
        district=surge.district, count=surge.count, baseline=round(surge.expected, 3), first_seen_at=now,
        last_seen_at=now,
        message=f"{where}「{surge.topic}」诉求激增：近 {int(window.total_seconds() // 60)} 分钟 {surge.count} 件，"
                f"按基线预期 {surge.expected:.1f} 件",
        data={"window_minutes": int(window.total_seconds() // 60), "expected": surge.expected})
    try:
        with session.begin_nested():  # a racing sweeper may insert the same key: it wins, we skip
            session.add(alert)
            session.flush()
    except IntegrityError:
        return None
    return alert


def _deliver(session: Session, notifier: Fanout, now: datetime) -> list[Alert]:
    pending = session.scalars(select(Alert).where(Alert.notified_at.is_(None)).order_by(Alert.id)
                              .with_for_update(skip_locked=True)).all()
    delivered = []
    for alert in pending:
        failed = notifier.send(Notification(
            kind=f"alert.{alert.kind}", title=alert.message, severity="critical" if alert.topic in
            {t for t, _ in OUTAGE_TOPICS} else "warning", key=alert.key,
            body=f"topic={alert.topic} district={alert.district} count={alert.count}",
            data={"topic": alert.topic, "district": alert.district, "count": alert.count,
                  "expected": alert.baseline, "first_seen_at": alert.first_seen_at.isoformat()}))
        if failed:
            log.warning("alert %s not delivered by %s; retried next sweep", alert.key, ", ".join(failed))
            alert.data = {**alert.data, "failed": failed}
            continue
        alert.notified_at = now
        delivered.append(alert)
    return delivered


def sweep(session: Session, *, now: datetime, notifier: Fanout, settings: Settings) -> SweepResult:
    """One early-warning sweep (callable from the scheduler process): detect, raise once, deliver."""
    window = timedelta(minutes=settings.alert_window_minutes)
    result = SweepResult(surges=detect(session, now=now, window=window,
                                       baseline=timedelta(days=settings.alert_baseline_days),
                                       min_count=settings.alert_min_count, ratio=settings.alert_ratio))
    for surge in result.surges:
        alert = _raise(session, surge, now=now, window=window)
        if alert is not None:
            result.raised.append(alert)
    result.delivered = _deliver(session, notifier, now)
    return result
