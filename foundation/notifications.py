"""The notification a sweep raises, the port every notifier implements (notify/ holds the channels),
and the fan-out that sends to several."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Notification:
    kind: str  # stable id, e.g. "supervision.sign_late", "alert.surge"
    title: str
    body: str = ""
    severity: str = "warning"  # info | warning | critical
    ticket_id: int | None = None
    department: str | None = None
    # The same key is never delivered twice by the caller's bookkeeping (see escalation and reports).
    key: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


class Notifier(Protocol):
    name: str

    def send(self, notification: Notification) -> None:
        """Deliver or raise NotifyFailed; must not block longer than its own timeout."""


class NotifyFailed(Exception):
    pass


class Fanout:
    """Sends to every notifier; one failing does not stop the others. Returns the names that failed."""

    def __init__(self, notifiers: list[Notifier]) -> None:
        self.notifiers = notifiers

    def send(self, notification: Notification) -> list[str]:
        failed = []
        for n in self.notifiers:
            try:
                n.send(notification)
            except NotifyFailed as e:
                log.warning("notifier %s failed: %s", n.name, e)
                failed.append(n.name)
        return failed
