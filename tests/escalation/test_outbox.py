"""Outbox delivery: failures are retried after a back-off and never lost; a dead channel does not
hold up the others."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx
import pytest

from escalation.outbox import LEASE, _claim, enqueue, retry_delay
from foundation.db import transaction
from foundation.notifications import Notification
from notify.channels import WebhookNotifier
from tests.escalation.conftest import T0, Desk, RecordingNotifier, minutes

NOW = T0 + minutes(40)


class FlakyEndpoint:
    """TEST DOUBLE of a webhook receiver (an httpx transport): answers the scripted statuses in turn."""

    def __init__(self, *statuses: int) -> None:
        self.statuses = list(statuses)
        self.bodies: list[dict[str, object]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        status = self.statuses.pop(0) if self.statuses else 204
        if status < 300:
            self.bodies.append(json.loads(request.content))
        return httpx.Response(status)


def test_retry_delay_backs_off_and_is_capped() -> None:
    assert [retry_delay(n) for n in (1, 2, 3)] == [timedelta(seconds=30), timedelta(minutes=1), timedelta(minutes=2)]
    assert retry_delay(30) == timedelta(hours=1)


def test_webhook_failure_is_retried_on_the_next_delivery(desk: Desk) -> None:
    tid = desk.dispatched()
    endpoint = FlakyEndpoint(500)
    notifiers = {"log": RecordingNotifier(), "webhook": WebhookNotifier(
        "http://hooks.test/x", transport=httpx.MockTransport(endpoint))}
    desk.sweep(NOW, channels=("log", "webhook"))
    first = desk.deliver(notifiers, NOW)
    assert (first.delivered, first.failed) == (1, 1) and "HTTP 500" in first.errors[0]
    webhook_row = next(r for r in desk.outbox() if r.channel == "webhook")
    assert webhook_row.delivered_at is None and webhook_row.attempts == 1 and "HTTP 500" in webhook_row.last_error
    assert webhook_row.next_attempt_at == NOW + timedelta(seconds=30)
    # Within the back-off nothing is attempted; the next scheduler tick (60 s on) delivers it.
    assert desk.deliver(notifiers, NOW + timedelta(seconds=10)).delivered == 0
    second = desk.deliver(notifiers, NOW + timedelta(seconds=60))
    assert (second.delivered, second.failed) == (1, 0)
    assert [b["ticket_id"] for b in endpoint.bodies] == [tid]
    assert len(notifiers["log"].sent) == 1  # type: ignore[attr-defined]  # the log was not sent twice
    assert all(r.delivered_at is not None for r in desk.outbox())
    assert desk.deliver(notifiers, NOW + timedelta(hours=2)).delivered == 0


def test_a_dead_channel_is_tried_once_per_run_and_nothing_is_lost(desk: Desk) -> None:
    ids = [desk.dispatched() for _ in range(4)]
    endpoint = FlakyEndpoint(503, 503)
    notifiers = {"webhook": WebhookNotifier("http://hooks.test/x", transport=httpx.MockTransport(endpoint))}
    desk.sweep(NOW, channels=("webhook",))
    run = desk.deliver(notifiers, NOW)
    assert (run.delivered, run.failed, run.deferred) == (0, 1, 3)  # one timeout's worth of waiting, not four
    assert sorted(r.attempts for r in desk.outbox()) == [0, 0, 0, 1]
    again = desk.deliver(notifiers, NOW + minutes(1))
    assert (again.delivered, again.failed, again.deferred) == (0, 1, 3)
    assert desk.deliver(notifiers, NOW + minutes(3)).delivered == 4
    assert sorted(int(str(b["ticket_id"])) for b in endpoint.bodies) == ids


def test_a_channel_no_longer_configured_keeps_its_rows(desk: Desk) -> None:
    desk.dispatched()
    desk.sweep(NOW, channels=("log", "webhook"))
    run = desk.deliver({"log": RecordingNotifier()}, NOW)
    assert (run.delivered, run.failed) == (1, 1) and "not configured" in run.errors[0]
    (pending,) = [r for r in desk.outbox() if r.delivered_at is None]
    assert pending.channel == "webhook"


def test_a_claim_whose_lease_expired_is_delivered_by_someone_else(desk: Desk) -> None:
    with transaction(desk.factory) as s:
        enqueue(s, notification=Notification(kind="t", title="t", key="k1"), channels=["log"], now=NOW)
    # A deliverer claims the row and dies before sending: the row comes back after the lease.
    assert len(_claim(desk.factory, now=NOW, worker="dead", batch=10)) == 1
    log = RecordingNotifier()
    assert desk.deliver({"log": log}, NOW + minutes(1), worker="alive").delivered == 0
    assert desk.deliver({"log": log}, NOW + LEASE + minutes(1), worker="alive").delivered == 1
    (row,) = desk.outbox()
    assert row.claimed_by == "alive" and row.attempts == 2 and [n.key for n in log.sent] == ["k1"]


def test_enqueue_refuses_a_notification_without_key(desk: Desk) -> None:
    with pytest.raises(ValueError, match="needs a key"), transaction(desk.factory) as s:
        enqueue(s, notification=Notification(kind="t", title="t"), channels=["log"], now=NOW)
    assert desk.outbox() == []
