"""Exactly once under concurrency: several dialers and schedulers at once, on SQLite and PostgreSQL
(where claims rely on SELECT ... FOR UPDATE SKIP LOCKED)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from callbacks import service
from callbacks.models import CallbackJob
from callbacks.rules import CallbackRules, WorkflowDeps
from foundation.db import transaction
from tests.callbacks.conftest import MONDAY_10
from tests.callbacks.race import race

TICKETS = 24
WORKERS = 4


def test_concurrent_schedulers_make_one_job_per_ticket(
        session_factory: sessionmaker[Session], rules: CallbackRules, deps: WorkflowDeps,
        reported_ticket: Callable[..., int]) -> None:
    ids = [reported_ticket(caller=f"139{i:08d}") for i in range(TICKETS)]

    def schedule(_: int) -> None:
        for _ in range(3):
            with transaction(session_factory) as s:
                service.schedule_due(s, now=MONDAY_10, rules=rules, deps=deps, limit=5)

    race(WORKERS, schedule)
    with session_factory() as s:
        per_ticket = Counter(s.scalars(select(CallbackJob.ticket_id)))
    assert sorted(per_ticket) == ids and set(per_ticket.values()) == {1}


def test_two_dialers_never_claim_the_same_job(
        session_factory: sessionmaker[Session], rules: CallbackRules, deps: WorkflowDeps,
        reported_ticket: Callable[..., int]) -> None:
    for i in range(TICKETS):
        reported_ticket(caller=f"139{i:08d}")
    with transaction(session_factory) as s:
        service.schedule_due(s, now=MONDAY_10, rules=rules, deps=deps)
    now = MONDAY_10 + timedelta(hours=1)
    claimed: dict[int, list[int]] = {i: [] for i in range(WORKERS)}

    def dial(i: int) -> None:
        while True:
            with transaction(session_factory) as s:
                got = service.claim(s, now=now, dialer_id=f"dialer-{i}", rules=rules, deps=deps, limit=3)
            if not got:
                return
            claimed[i].extend(c.job_id for c in got)

    race(WORKERS, dial)
    everything = [job for jobs in claimed.values() for job in jobs]
    assert len(everything) == len(set(everything)) == TICKETS  # none twice, none dropped
    with session_factory() as s:
        dialing = select(func.count()).where(CallbackJob.state == "dialing", CallbackJob.attempts == 1)
        assert s.scalar(dialing) == TICKETS
        owners = Counter(s.scalars(select(CallbackJob.claimed_by)))
    assert sum(owners.values()) == TICKETS
