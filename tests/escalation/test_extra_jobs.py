"""The scheduler's other periodic jobs (early warning, CDR import) run every tick; one failing
never stops the escalation sweep or the jobs after it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

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


def test_a_standby_scheduler_does_nothing_until_it_leads(session_factory: sessionmaker[Session], policy: Policy,
                                                        catalog: Catalog, tmp_path: Path) -> None:
    from foundation.leader import LeaderLock

    engine = session_factory.kw["bind"]
    leader = LeaderLock(engine, "scheduler", tmp_path)
    assert leader.try_acquire()
    runs: list[datetime] = []
    standby = EscalationRunner(factory=session_factory, policy=policy, catalog=catalog, notifiers={},
                               extra_jobs=(("recorder", runs.append),),
                               leader=LeaderLock(engine, "scheduler", tmp_path))
    standby.safe_tick()
    assert runs == []
    leader.release()
    standby.safe_tick()
    assert len(runs) == 1
    assert standby.leader is not None
    standby.leader.release()
