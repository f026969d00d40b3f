"""The scheduler's other periodic jobs (early warning, CDR import) run every tick; one failing
never stops the escalation sweep or the jobs after it."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from deadlines.policy import Policy
from escalation.scheduler import EscalationRunner
from notify.channels import LogNotifier
from routing.catalog import Catalog


def test_extra_jobs_run_and_failures_are_contained(session_factory: sessionmaker[Session], policy: Policy,
                                                   catalog: Catalog) -> None:
    seen: list[tuple[str, datetime]] = []

    def broken(now: datetime) -> None:
        raise RuntimeError("database restarting")

    def recorder(now: datetime) -> None:
        seen.append(("recorder", now))

    runner = EscalationRunner(factory=session_factory, policy=policy, catalog=catalog,
                              notifiers={"log": LogNotifier()},
                              extra_jobs=(("broken", broken), ("recorder", recorder)))
    now = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
    result = runner.tick(now)
    assert result.sweep.errors == 0
    assert seen == [("recorder", now)]
