"""Notifiers: the webhook signs what it sends, and one failing notifier does not silence the others."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging

import httpx
import pytest

from foundation.notifications import Fanout, Notification, NotifyFailed
from notify.channels import LogNotifier, WebhookNotifier

NOTE = Notification(kind="supervision.sign_late", title="签收超时", ticket_id=7, key="7:sign:1")


def test_webhook_posts_signed_json() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    WebhookNotifier("http://hooks.test/x", secret="s3", transport=httpx.MockTransport(handler)).send(NOTE)
    (req,) = seen
    body = req.content
    assert json.loads(body)["title"] == "签收超时"
    expected = "sha256=" + hmac.new(b"s3", body, hashlib.sha256).hexdigest()
    assert req.headers["X-Hotline-Signature"] == expected


def test_webhook_error_status_raises() -> None:
    transport = httpx.MockTransport(lambda r: httpx.Response(500))
    with pytest.raises(NotifyFailed, match="HTTP 500"):
        WebhookNotifier("http://hooks.test/x", transport=transport).send(NOTE)


def test_fanout_reports_failures_and_still_logs(caplog: pytest.LogCaptureFixture) -> None:
    broken = WebhookNotifier("http://hooks.test/x", transport=httpx.MockTransport(lambda r: httpx.Response(503)))
    with caplog.at_level(logging.WARNING):
        failed = Fanout([broken, LogNotifier()]).send(NOTE)
    assert failed == ["webhook"]
    assert any("签收超时" in r.getMessage() for r in caplog.records)
