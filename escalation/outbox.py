"""Notification outbox: rows written in the same transaction as the change they announce, delivered
later by whichever scheduler instance claims them.

Claiming is a short transaction (SELECT ... FOR UPDATE SKIP LOCKED on PostgreSQL; SQLite's
BEGIN IMMEDIATE serialises it) that pushes `next_attempt_at` forward by a lease; sending happens
outside any transaction, so a slow webhook never holds a database lock. Delivery is at least once:
a deliverer that dies after sending but before recording it leaves the row to be sent again when
the lease runs out, so receivers deduplicate on the notification `key`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from escalation.models import OutboxMessage
from foundation.db import transaction
from foundation.notifications import Notification, Notifier, NotifyFailed

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=10)  # longer than a batch of sends at the notifiers' own timeouts
FIRST_RETRY = timedelta(seconds=30)
MAX_RETRY = timedelta(hours=1)


def retry_delay(attempts: int) -> timedelta:
    """Back-off after the `attempts`-th failed attempt: 30 s, 1 min, 2 min, ... capped at one hour."""
    return min(FIRST_RETRY * 2 ** max(attempts - 1, 0), MAX_RETRY)


def enqueue(session: Session, *, notification: Notification, channels: Iterable[str], now: datetime) -> None:
    """Queue `notification` for each channel, inside the caller's transaction."""
    if not notification.key:
        raise ValueError("an outbox notification needs a key (receivers deduplicate on it)")
    for channel in channels:
        session.add(OutboxMessage(key=notification.key, channel=channel, payload=notification.as_json(),
                                  next_attempt_at=now, attempts=0, claimed_by="", last_error=""))


@dataclass
class DeliveryResult:
    delivered: int = 0
    failed: int = 0  # attempted and failed: retried after the back-off
    deferred: int = 0  # not attempted because its channel already failed in this run
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Claimed:
    id: int
    channel: str
    payload: dict[str, object]
    attempts: int


def _claim(factory: sessionmaker[Session], *, now: datetime, worker: str, batch: int) -> list[_Claimed]:
    with transaction(factory) as s:
        rows = s.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.delivered_at.is_(None), OutboxMessage.next_attempt_at <= now)
            .order_by(OutboxMessage.id).limit(batch)
            .with_for_update(skip_locked=True)
        ).all()
        claimed = []
        for row in rows:
            row.attempts += 1
            row.claimed_by, row.next_attempt_at = worker, now + LEASE
            claimed.append(_Claimed(row.id, row.channel, dict(row.payload), row.attempts))
        return claimed


def _notification(payload: Mapping[str, object]) -> Notification:
    known = Notification.__dataclass_fields__
    return Notification(**{k: v for k, v in payload.items() if k in known})  # type: ignore[arg-type]


def deliver(factory: sessionmaker[Session], *, notifiers: Mapping[str, Notifier], now: datetime, worker: str,
            batch: int = 50, should_stop: Callable[[], bool] = lambda: False) -> DeliveryResult:
    """Send every notification due at `now`; failures are rescheduled with back-off, never dropped."""
    result = DeliveryResult()
    while not should_stop():
        claimed = _claim(factory, now=now, worker=worker, batch=batch)
        if not claimed:
            break
        outcomes: list[tuple[_Claimed, str | None, bool]] = []  # (row, error or None, attempted)
        down: dict[str, str] = {}  # channel -> first error this run: don't wait on a dead webhook 50 times
        for row in claimed:
            notifier = notifiers.get(row.channel)
            if notifier is None:
                outcomes.append((row, f"notifier {row.channel!r} is not configured", True))
            elif row.channel in down:
                outcomes.append((row, down[row.channel], False))
            else:
                try:
                    notifier.send(_notification(row.payload))
                    outcomes.append((row, None, True))
                except NotifyFailed as e:
                    down[row.channel] = str(e)
                    outcomes.append((row, str(e), True))
        _record(factory, outcomes, now=now, worker=worker, result=result)
        if len(claimed) < batch:
            break
    return result


def _record(factory: sessionmaker[Session], outcomes: list[tuple[_Claimed, str | None, bool]], *,
            now: datetime, worker: str, result: DeliveryResult) -> None:
    with transaction(factory) as s:
        for row, error, attempted in outcomes:
            # Only while we still hold the claim: past the lease another deliverer owns the row.
            mine = update(OutboxMessage).where(OutboxMessage.id == row.id, OutboxMessage.claimed_by == worker,
                                               OutboxMessage.delivered_at.is_(None))
            if error is None:
                s.execute(mine.values(delivered_at=now, last_error=""))
                result.delivered += 1
                continue
            attempts = row.attempts if attempted else row.attempts - 1
            s.execute(mine.values(attempts=attempts, next_attempt_at=now + retry_delay(max(attempts, 1)),
                                  last_error=error[:2000]))
            if attempted:
                result.failed += 1
                result.errors.append(error)
                log.warning("notification %d via %s failed (attempt %d): %s", row.id, row.channel, attempts, error)
            else:
                result.deferred += 1
