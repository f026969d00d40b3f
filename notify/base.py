"""The notification a sweep raises and the protocol every notifier implements."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Protocol


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
