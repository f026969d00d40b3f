"""Tickets at known points of their lifecycle, and a notifier TEST DOUBLE that records what it got."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from deadlines.policy import Policy
from escalation.models import EscalationMark, OutboxMessage
from escalation.outbox import DeliveryResult, deliver
from escalation.service import SweepResult, sweep
from foundation.db import transaction
from foundation.notifications import Notification
from routing.catalog import Catalog, load_catalog
from tickets import service
from tickets.models import Ticket, TicketEvent
from tickets.schemas import TicketDraft
from tickets.workflow import apply_action

SH = ZoneInfo("Asia/Shanghai")
# An ordinary Tuesday morning, far from holidays: a complaint dispatched now must be signed for by
# 10:30 and resolved by Wednesday 23:59:59.
T0 = datetime(2025, 9, 16, 10, 0, tzinfo=SH)


class RecordingNotifier:
    """TEST DOUBLE of a notifier: keeps every notification it is given (thread-safe)."""

    def __init__(self, name: str = "log") -> None:
        self.name = name
        self.sent: list[Notification] = []
        self._lock = threading.Lock()

    def send(self, notification: Notification) -> None:
        with self._lock:
            self.sent.append(notification)


@pytest.fixture(scope="session")
def policy() -> Policy:
    return Policy.load()


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog()


class Desk:
    """Acts on tickets the way the center and departments would, at explicit times."""

    def __init__(self, factory: sessionmaker[Session], policy: Policy, catalog: Catalog) -> None:
        self.factory, self.policy, self.catalog = factory, policy, catalog

    def open(self, ticket_type: str = "投诉", caller: str = "13812345678") -> int:
        draft = TicketDraft(transcript="小区门口的路灯坏了一个星期", type=ticket_type, category="城乡建设",
                            caller_number=caller)
        with transaction(self.factory) as s:
            return service.open_ticket(s, draft=draft, actor="ivr").id

    def act(self, ticket_id: int, action: str, role: str, *, now: datetime, reason: str = "",
            **params: Any) -> None:
        with transaction(self.factory) as s:
            apply_action(s, ticket_id=ticket_id, action=action, role=role, actor=f"{role}-1", now=now,
                         policy=self.policy, catalog=self.catalog, reason=reason, params=params)

    def dispatched(self, now: datetime = T0, **kw: Any) -> int:
        tid = self.open(**kw)
        self.act(tid, "dispatch", "dispatcher", now=now, department_id="urban_mgmt")
        return tid

    def sweep(self, now: datetime, channels: tuple[str, ...] = ("log",)) -> SweepResult:
        return sweep(self.factory, policy=self.policy, catalog=self.catalog, channels=channels, now=now)

    def deliver(self, notifiers: Mapping[str, Any], now: datetime, worker: str = "w1") -> DeliveryResult:
        return deliver(self.factory, notifiers=notifiers, now=now, worker=worker)

    def ticket(self, ticket_id: int) -> Ticket:
        with self.factory() as s:
            return s.get_one(Ticket, ticket_id)

    def supervised(self, ticket_id: int | None = None) -> list[TicketEvent]:
        query = select(TicketEvent).where(TicketEvent.kind == "supervised").order_by(TicketEvent.id)
        if ticket_id is not None:
            query = query.where(TicketEvent.ticket_id == ticket_id)
        with self.factory() as s:
            return list(s.scalars(query))

    def marks(self) -> list[tuple[int, str, int]]:
        with self.factory() as s:
            rows = s.execute(select(EscalationMark.ticket_id, EscalationMark.kind, EscalationMark.level)
                             .order_by(EscalationMark.id))
            return [(r[0], r[1], r[2]) for r in rows]

    def outbox(self) -> list[OutboxMessage]:
        with self.factory() as s:
            return list(s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


@pytest.fixture
def desk(session_factory: sessionmaker[Session], policy: Policy, catalog: Catalog) -> Desk:
    return Desk(session_factory, policy, catalog)


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)
