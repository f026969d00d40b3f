"""Early warning: a surge alerts once, through the notifiers, within one sweep."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from foundation.db import transaction
from foundation.notifications import Fanout, Notification, NotifyFailed
from foundation.settings import Settings
from reports import alerts
from reports.models import Alert
from tickets.models import Ticket

NOW = datetime(2026, 7, 1, 10, 0, tzinfo=UTC)


class RecordingNotifier:
    """TEST DOUBLE: keeps what it was sent; fails while `down` is set."""

    name = "recording"

    def __init__(self) -> None:
        self.sent: list[Notification] = []
        self.down = False

    def send(self, notification: Notification) -> None:
        if self.down:
            raise NotifyFailed("down")
        self.sent.append(notification)


def _tickets(factory: sessionmaker[Session], n: int, *, at: datetime, text: str, place: str = "",
             category: str = "城乡建设", spread: timedelta = timedelta(minutes=50)) -> None:
    with transaction(factory) as s:
        for i in range(n):
            s.add(Ticket(number=f"N{at:%m%d%H%M}{text[:2]}{i:03d}{place[:2]}", transcript=text, place=place,
                         category=category, created_at=at - spread * i / max(n, 1)))


def _sweep(factory: sessionmaker[Session], settings: Settings, notifier: RecordingNotifier,
           now: datetime = NOW) -> alerts.SweepResult:
    with transaction(factory) as s:
        return alerts.sweep(s, now=now, notifier=Fanout([notifier]), settings=settings)


def test_a_water_outage_surge_alerts_once(settings: Settings, session_factory: sessionmaker[Session]) -> None:
    _tickets(session_factory, 6, at=NOW - timedelta(minutes=1), text="我们小区停水了一上午", place="龙华区金盘路")
    _tickets(session_factory, 6, at=NOW - timedelta(minutes=1), text="路灯坏了", place="美兰区白龙街道",
             category="城乡建设", spread=timedelta(days=5))  # steady, spread over days: no surge
    n = RecordingNotifier()
    r = _sweep(session_factory, settings, n)
    assert [(s.topic, s.district, s.count) for s in r.surges] == [("停水", "龙华区", 6)]
    assert len(n.sent) == 1 and n.sent[0].kind == "alert.surge" and n.sent[0].severity == "critical"
    assert "龙华区" in n.sent[0].title and "停水" in n.sent[0].title
    # The next sweep, the surge still going and growing: no second alert, the row is updated.
    _tickets(session_factory, 2, at=NOW + timedelta(minutes=4), text="停水", place="龙华区",
             spread=timedelta(minutes=1))
    r = _sweep(session_factory, settings, n, now=NOW + timedelta(minutes=5))
    assert r.surges and r.raised == [] and len(n.sent) == 1
    with session_factory() as s:
        (row,) = s.scalars(select(Alert)).all()
        assert row.count == 8 and row.notified_at == NOW and row.last_seen_at == NOW + timedelta(minutes=5)


def test_a_usual_volume_is_no_surge(settings: Settings, session_factory: sessionmaker[Session]) -> None:
    # Every hour of the past week saw ~6 outage calls in this district: 6 now is the baseline.
    for h in range(1, 24 * 7, 3):
        _tickets(session_factory, 18, at=NOW - timedelta(hours=h), text="停水", place="龙华区",
                 spread=timedelta(hours=3))
    _tickets(session_factory, 6, at=NOW - timedelta(minutes=1), text="停水", place="龙华区")
    n = RecordingNotifier()
    assert _sweep(session_factory, settings, n).surges == [] and n.sent == []


def test_below_the_minimum_count_is_no_surge(settings: Settings, session_factory: sessionmaker[Session]) -> None:
    _tickets(session_factory, 4, at=NOW - timedelta(minutes=1), text="停电了", place="美兰区")
    n = RecordingNotifier()
    assert _sweep(session_factory, settings, n).surges == [] and n.sent == []


def test_failed_delivery_is_retried_by_the_next_sweep(settings: Settings,
                                                     session_factory: sessionmaker[Session]) -> None:
    _tickets(session_factory, 5, at=NOW - timedelta(minutes=1), text="燃气停气了", place="秀英区")
    n = RecordingNotifier()
    n.down = True
    r = _sweep(session_factory, settings, n)
    assert len(r.raised) == 1 and r.delivered == [] and n.sent == []
    n.down = False
    r = _sweep(session_factory, settings, n, now=NOW + timedelta(minutes=1))
    assert r.raised == [] and len(r.delivered) == 1 and len(n.sent) == 1 and "停气" in n.sent[0].title


def test_a_new_surge_after_a_quiet_window_alerts_again(settings: Settings,
                                                       session_factory: sessionmaker[Session]) -> None:
    _tickets(session_factory, 5, at=NOW - timedelta(minutes=1), text="停水", place="龙华区")
    n = RecordingNotifier()
    _sweep(session_factory, settings, n)
    later = NOW + timedelta(hours=5)
    _tickets(session_factory, 25, at=later - timedelta(minutes=1), text="又停水了", place="龙华区")
    _sweep(session_factory, settings, n, now=later)
    assert len(n.sent) == 2 and n.sent[0].key != n.sent[1].key


def test_topic_and_district_of_a_ticket() -> None:
    assert alerts.topic_of("小区爆管了到处是水", "城乡建设") == "停水"
    assert alerts.topic_of("噪音扰民", "环境保护") == "环境保护"
    assert alerts.topic_of("", "") == "其他"
