"""Cost of the overdue sweep on a busy center: N open tickets in a temporary SQLite database (or
--database-url), a fraction of them late; times the first sweep (which escalates every late ticket),
a steady-state sweep (nothing new: the cost paid every interval), and the delivery of the queued
notifications through the log notifier.

Usage: .venv/bin/python bench/sweep_escalation.py [--tickets 20000] [--late 0.1] [--database-url URL]
"""

from __future__ import annotations

import argparse
import logging
import random
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from deadlines.calendar import SHANGHAI
from deadlines.policy import Policy
from escalation.outbox import deliver
from escalation.service import sweep
from foundation import migrate
from foundation.db import open_database, transaction
from notify.channels import LogNotifier
from routing.catalog import load_catalog
from tickets.models import Ticket
from tickets.states import TicketStatus

# Friday afternoon of an ordinary working week.
NOW = datetime(2025, 9, 19, 15, 0, tzinfo=SHANGHAI)
OPEN = (TicketStatus.DISPATCHED, TicketStatus.SIGNED, TicketStatus.IN_PROGRESS)


def _rows(count: int, late_fraction: float, policy: Policy, rng: random.Random) -> list[dict[str, Any]]:
    rows = []
    for i in range(count):
        late = rng.random() < late_fraction
        # Late tickets were dispatched days ago; the others an hour ago, already signed, on time.
        dispatched = NOW - (timedelta(days=rng.uniform(2, 3)) if late else timedelta(minutes=rng.uniform(5, 60)))
        due = policy.deadlines(ticket_type="投诉", category="城乡建设", emergency=False, utility=False,
                               dispatched_at=dispatched)
        status = rng.choice(OPEN) if late else TicketStatus.SIGNED
        rows.append({
            "number": f"B{i:010d}", "transcript": "路灯坏了", "type": "投诉", "category": "城乡建设",
            "department_id": "urban_mgmt", "department_name": "城市管理局", "department_candidates": [],
            "status": status, "dispatched_at": dispatched, "sign_by": due.sign_by, "resolve_by": due.resolve_by,
            "deadline_rule": due.rule, "late": late,
        })
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=20_000)
    parser.add_argument("--late", type=float, default=0.1, help="fraction of the open tickets that are late")
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    quiet = logging.getLogger("bench.notify")
    quiet.propagate = False  # measure the notifier path, not terminal output
    quiet.addHandler(logging.NullHandler())

    with tempfile.TemporaryDirectory(prefix="bench-escalation-") as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        migrate.upgrade(url)
        db = open_database(url)
        policy, catalog = Policy.load(), load_catalog()
        rows = _rows(args.tickets, args.late, policy, random.Random(12345))
        with transaction(db.session_factory) as s:
            s.execute(insert(Ticket), [{k: v for k, v in r.items() if k != "late"} for r in rows])

        t = time.perf_counter()
        first = sweep(db.session_factory, policy=policy, catalog=catalog, channels=["log"], now=NOW)
        first_s = time.perf_counter() - t
        t = time.perf_counter()
        steady = sweep(db.session_factory, policy=policy, catalog=catalog, channels=["log"], now=NOW)
        steady_s = time.perf_counter() - t
        t = time.perf_counter()
        delivered = deliver(db.session_factory, notifiers={"log": LogNotifier(quiet)}, now=NOW, worker="bench")
        deliver_s = time.perf_counter() - t
        db.engine.dispose()

    backend = url.split(":", 1)[0].split("+", 1)[0]
    late = sum(1 for r in rows if r["late"])
    print(f"note: {backend}; first sweep escalates every late ticket (one transaction per 100); "
          f"steady sweep is the per-interval cost when nothing new is late")
    print(f"backend={backend} tickets={args.tickets} late={late} late_checks={first.candidates} "
          f"escalated={len(first.escalated)} first_sweep_s={first_s:.2f} "
          f"escalations_per_s={len(first.escalated) / first_s:.0f} steady_sweep_s={steady_s:.2f} "
          f"steady_escalated={len(steady.escalated)} delivered={delivered.delivered} deliver_s={deliver_s:.2f}")


if __name__ == "__main__":
    main()
