"""The notifiers shipped: the log (always on) and a signed JSON webhook."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging

import httpx

from foundation.notifications import Notification, NotifyFailed

log = logging.getLogger(__name__)


class LogNotifier:
    name = "log"

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self._log = logger or logging.getLogger("hotline.notify")

    def send(self, notification: Notification) -> None:
        level = logging.ERROR if notification.severity == "critical" else logging.WARNING
        self._log.log(level, "[%s] %s%s %s", notification.kind, notification.title,
                      f" (ticket {notification.ticket_id})" if notification.ticket_id else "", notification.body)


class WebhookNotifier:
    """POSTs the notification as JSON. With a secret, the body is signed (X-Hotline-Signature:
    sha256=<hex HMAC>) so the receiver can tell our messages from forged ones."""

    name = "webhook"

    def __init__(self, url: str, secret: str = "", timeout_s: float = 5.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.url = url
        self._secret = secret.encode()
        self._client = httpx.Client(timeout=timeout_s, transport=transport)

    def send(self, notification: Notification) -> None:
        body = json.dumps(notification.as_json(), ensure_ascii=False, sort_keys=True).encode()
        headers = {"Content-Type": "application/json; charset=utf-8"}
        if self._secret:
            headers["X-Hotline-Signature"] = "sha256=" + hmac.new(self._secret, body, hashlib.sha256).hexdigest()
        try:
            response = self._client.post(self.url, content=body, headers=headers)
        except httpx.HTTPError as e:
            raise NotifyFailed(f"webhook {self.url}: {e}") from e
        if response.status_code >= 300:
            raise NotifyFailed(f"webhook {self.url}: HTTP {response.status_code}")

    def close(self) -> None:
        self._client.close()
