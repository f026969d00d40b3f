"""Cost of looking for 即办件 to call back, once N of them are already handled: N tickets closed on the
call over the last 100 days, each with its callback job, in a temporary SQLite database and a
throwaway PostgreSQL (tests/pg.py; --no-postgres to skip). Times an idle callback sweep
(callbacks.service.schedule_due, nothing new) looking at every 即办件 (what the dialer does at start
and hourly) and at those opened in the last two days (what it does every 5 s).

Usage: .venv/bin/python bench/on_call_sweep.py [--tickets 100000] [--no-postgres]
Last line: key=value figures (milliseconds, best of 5 sweeps).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sqlalchemy import insert, select  # noqa: E402

from agi.callback_dialer import ON_CALL_RECENT  # noqa: E402
from callbacks import service  # noqa: E402
from callbacks.hours import CallingHours, parse_hours  # noqa: E402
from callbacks.models import CallbackJob, JobKind  # noqa: E402
from callbacks.rules import CallbackRules, WorkflowDeps  # noqa: E402
from foundation import migrate  # noqa: E402
from foundation.db import Database, open_database, transaction  # noqa: E402
from tests.pg import PostgresServer  # noqa: E402
from tickets.models import Ticket, TicketEvent  # noqa: E402

BATCH = 5000
DAYS = 100


def _fill(db: Database, count: int, now: datetime) -> None:
    with transaction(db.session_factory) as s:
        for start in range(0, count, BATCH):
            s.execute(insert(Ticket), [
                {"number": f"J{i:010d}", "caller_number": "13800138000", "status": "closed", "type": "咨询",
                 "created_at": now - timedelta(days=DAYS) * (1 - i / count), "updated_at": now, "closed_at": now}
                for i in range(start, min(count, start + BATCH))])
        ids = list(s.scalars(select(Ticket.id).order_by(Ticket.id)))
        for start in range(0, count, BATCH):
            chunk = ids[start:start + BATCH]
            events: list[dict[str, Any]] = []
            for tid in chunk:
                events += [{"ticket_id": tid, "at": now, "actor": "bench", "kind": kind, "reason": "", "data": {}}
                           for kind in ("accepted", "closed_on_call", "callback_scheduled")]
            s.execute(insert(TicketEvent), events)
            s.execute(insert(CallbackJob), [
                {"ticket_id": tid, "round": 1, "kind": JobKind.ON_CALL, "number": "13800138000", "state": "done",
                 "attempts": 1, "next_attempt_at": now, "claimed_by": "", "outcome": "satisfied", "reason": "",
                 "created_at": now} for tid in chunk])


def _measure(url: str, count: int, rules: CallbackRules, deps: WorkflowDeps) -> tuple[float, float]:
    migrate.upgrade(url)
    db = open_database(url)
    try:
        now = datetime.now(UTC)
        _fill(db, count, now)
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect() as conn:
                conn.exec_driver_sql("ANALYZE")
        best: list[float] = []
        for since in (None, now - ON_CALL_RECENT):
            times = []
            for _ in range(5):
                t0 = time.perf_counter()
                with transaction(db.session_factory) as s:
                    report = service.schedule_due(s, now=now, rules=rules, deps=deps, on_call_since=since)
                times.append((time.perf_counter() - t0) * 1000)
                if report.on_call or report.on_call_not_due:
                    raise SystemExit("a handled 即办件 was picked again")
            best.append(min(times))
        return best[0], best[1]
    finally:
        db.engine.dispose()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tickets", type=int, default=100_000)
    ap.add_argument("--no-postgres", action="store_true")
    args = ap.parse_args()
    rules = CallbackRules(hours=CallingHours(parse_hours("09:00-20:00")), delay=timedelta(hours=1), max_attempts=3,
                          backoff_s=(1800,), lease=timedelta(seconds=120))
    deps = WorkflowDeps.load()
    figures = {}
    with tempfile.TemporaryDirectory() as tmp:
        figures["sqlite"] = _measure(f"sqlite:///{tmp}/bench.db", args.tickets, rules, deps)
    if not args.no_postgres:
        pg = PostgresServer()  # read-only sweeps: fsync does not matter here
        pg.start()
        try:
            figures["pg"] = _measure(pg.create_database("bench"), args.tickets, rules, deps)
        finally:
            pg.stop()
    line = " ".join(f"{db}_full_ms={full:.1f} {db}_recent_ms={recent:.1f}" for db, (full, recent) in figures.items())
    print(f"on_call_tickets={args.tickets} {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
