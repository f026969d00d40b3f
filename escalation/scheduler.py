"""The `hotline scheduler` process: the overdue sweep and outbox delivery on an APScheduler 3.x
BlockingScheduler, in a process of its own (never inside API workers). Several instances may run
against one PostgreSQL database: the sweep and the outbox are safe to run concurrently."""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import FrameType

from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy import inspect
from sqlalchemy.orm import Session, sessionmaker

from deadlines.policy import Policy
from escalation.outbox import DeliveryResult, deliver
from escalation.service import SweepResult, sweep
from foundation.errors import DomainError
from foundation.leader import LeaderLock
from foundation.notifications import Notifier
from routing.catalog import Catalog

log = logging.getLogger(__name__)


class SchemaNotReady(DomainError):
    error_id = "scheduler.schema_not_ready"
    http_status = 503


def worker_name() -> str:
    """Who claimed an outbox row: host, process and a random part (pids repeat across hosts)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class TickResult:
    sweep: SweepResult
    delivery: DeliveryResult

    def summary(self) -> str:
        s, d = self.sweep, self.delivery
        return (f"late={s.candidates} escalated={len(s.escalated)} already={s.already} busy={s.busy} "
                f"errors={s.errors} delivered={d.delivered} delivery_failed={d.failed} deferred={d.deferred}")


@dataclass
class EscalationRunner:
    """One sweep then one delivery pass; `stop` makes a running tick end between batches."""

    factory: sessionmaker[Session]
    policy: Policy
    catalog: Catalog
    notifiers: Mapping[str, Notifier]
    worker: str = field(default_factory=worker_name)
    stop: threading.Event = field(default_factory=threading.Event)
    # Other periodic work of the same process (early-warning sweep, CDR import): each is given
    # `now`, owns its transaction, and a failure in one never stops the escalation sweep.
    extra_jobs: Sequence[tuple[str, Callable[[datetime], None]]] = ()
    # With several schedulers (one per host), only the holder of this lock works; the others stand
    # by and take over when it dies. Sweeps are safe to run concurrently anyway; this saves the work.
    leader: LeaderLock | None = None

    @property
    def channels(self) -> Sequence[str]:
        return list(self.notifiers)

    def check_schema(self) -> None:
        bind = self.factory.kw.get("bind")
        if bind is not None and not inspect(bind).has_table("escalation_marks"):
            raise SchemaNotReady("the database has no escalation tables yet: run `hotline setup` (migrations)")

    def tick(self, now: datetime | None = None) -> TickResult:
        now = now or datetime.now(UTC)
        swept = sweep(self.factory, policy=self.policy, catalog=self.catalog, channels=self.channels, now=now,
                      should_stop=self.stop.is_set)
        delivered = deliver(self.factory, notifiers=self.notifiers, now=now,
                            worker=self.worker, should_stop=self.stop.is_set)
        for name, job in self.extra_jobs:
            if self.stop.is_set():
                break
            try:
                job(now)
            except Exception:
                log.exception("scheduler job %s failed; retrying at the next interval", name)
        result = TickResult(swept, delivered)
        if swept.escalated or swept.errors or delivered.delivered or delivered.failed:
            log.info("escalation tick: %s", result.summary())
        return result

    def safe_tick(self) -> None:
        # A failing tick (database restarting) must not kill the schedule: log and try next time.
        try:
            if self.leader is not None and not self.leader.try_acquire():
                log.debug("scheduler standing by: another instance leads")
                return
            self.tick()
        except Exception:
            log.exception("escalation tick failed; retrying at the next interval")


def run_forever(runner: EscalationRunner, *, interval_s: float) -> None:
    """Tick now and every `interval_s` seconds until SIGTERM or SIGINT; a tick in progress stops
    between batches (each batch is its own transaction, so nothing is half-done)."""
    runner.check_schema()
    scheduler = BlockingScheduler(timezone=UTC)
    scheduler.add_job(runner.safe_tick, "interval", seconds=interval_s, next_run_time=datetime.now(UTC),
                      id="escalation", max_instances=1, coalesce=True, misfire_grace_time=None)

    def _stop(signum: int, _frame: FrameType | None) -> None:
        log.info("scheduler stopping (signal %d)", signum)
        runner.stop.set()
        if scheduler.running:
            scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    log.info("scheduler %s: escalation sweep and notification delivery every %g s", runner.worker, interval_s)
    scheduler.start()  # returns after shutdown; the interpreter then joins the job thread
