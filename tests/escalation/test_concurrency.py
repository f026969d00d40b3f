"""Two sweepers on one database at the same moment (two engines, as two scheduler processes would
have): every escalation is applied once and every notification delivered once."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from deadlines.policy import Policy
from escalation.models import EscalationMark
from escalation.outbox import DeliveryResult, deliver
from escalation.service import SweepResult, sweep
from foundation.db import open_database, transaction
from foundation.settings import Settings
from routing.catalog import Catalog
from tests.escalation.conftest import T0, Desk, RecordingNotifier, minutes
from tickets.models import Ticket

TICKETS = 40


def _together(jobs: list[Callable[[], object]]) -> list[object]:
    """Run the jobs in threads released at the same instant; re-raise the first failure."""
    barrier = threading.Barrier(len(jobs))
    results: list[object] = [None] * len(jobs)
    errors: list[BaseException] = []

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = jobs[i]()
        except BaseException as e:  # reported by the assertion below
            errors.append(e)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    return results


def test_two_concurrent_sweepers_escalate_and_notify_each_event_once(
        settings: Settings, desk: Desk, policy: Policy, catalog: Catalog) -> None:
    ids = [desk.dispatched() for _ in range(TICKETS)]
    databases = [open_database(settings.db_url) for _ in range(2)]
    log = RecordingNotifier()
    try:
        for late, level in ((1, 1), (16, 2), (31, 3)):
            now = T0 + minutes(30 + late)

            def sweeper(i: int, now: object = now) -> SweepResult:
                return sweep(databases[i].session_factory, policy=policy, catalog=catalog, channels=["log"],
                             now=now, batch=5)  # type: ignore[arg-type]

            sweeps = _together([lambda: sweeper(0), lambda: sweeper(1)])
            escalated = [len(r.escalated) for r in sweeps]  # type: ignore[attr-defined]
            assert sum(escalated) == TICKETS, (level, sweeps)

            def deliverer(i: int, now: object = now) -> DeliveryResult:
                return deliver(databases[i].session_factory, notifiers={"log": log}, now=now,  # type: ignore[arg-type]
                               worker=f"w{i}", batch=3)

            deliveries = _together([lambda: deliverer(0), lambda: deliverer(1)])
            assert sum(d.delivered for d in deliveries) == TICKETS  # type: ignore[attr-defined]
            with desk.factory() as s:
                levels = s.scalars(select(func.min(Ticket.supervision_level)).where(Ticket.id.in_(ids))).one()
            assert levels == level
    finally:
        for db in databases:
            db.engine.dispose()
    keys = Counter(n.key for n in log.sent)
    assert len(keys) == TICKETS * 3 and set(keys.values()) == {1}
    marks = Counter((m[0], m[2]) for m in desk.marks())
    assert len(marks) == TICKETS * 3 and set(marks.values()) == {1}
    events = Counter((e.ticket_id, e.data["level"]) for e in desk.supervised())
    assert len(events) == TICKETS * 3 and set(events.values()) == {1}


def test_the_database_refuses_a_second_identical_mark(desk: Desk) -> None:
    """The backstop behind the lock and the re-check: the unique key itself."""
    tid = desk.dispatched()
    mark = {"ticket_id": tid, "kind": "sign", "level": 1, "deadline": T0 + minutes(30), "swept_at": T0}
    with transaction(desk.factory) as s:
        s.add(EscalationMark(**mark))
    with pytest.raises(IntegrityError), transaction(desk.factory) as s:
        s.add(EscalationMark(**mark))
    with transaction(desk.factory) as s:  # another level, or another deadline, is another event
        s.add(EscalationMark(**{**mark, "level": 2}))
        s.add(EscalationMark(**{**mark, "deadline": T0 + minutes(90)}))
    assert len(desk.marks()) == 3
