"""Run a singleton worker (the scheduler, the dialer) on every host, active on one at a time.

Each instance loops: try to take the LeaderLock; the holder does one unit of work per pass, the
others stand by. A leader that dies loses its lock with its database connection (PostgreSQL
advisory lock) or its process (flock on SQLite), and a standby takes over within one interval.
A leader that loses its connection stops working before the next unit: it checks the lock each pass."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from foundation.leader import LeaderLock

log = logging.getLogger(__name__)


def run_while_leader(lock: LeaderLock, work: Callable[[], object], *, interval_s: float,
                     stop: threading.Event) -> None:
    """Until `stop`: one `work()` per `interval_s` while this instance holds `lock`, else stand by.
    An exception in `work` is logged and the loop goes on (the next pass may succeed)."""
    leading = False
    while not stop.is_set():
        try:
            now_leading = lock.try_acquire()
        except Exception as exc:  # the database is unreachable: nobody can be sure to lead
            log.warning("%s: cannot check the leader lock (%s); standing by", lock.name, type(exc).__name__)
            now_leading = False
        if now_leading != leading:
            log.info("%s: %s", lock.name, "leading: this instance does the work" if now_leading else "standing by")
            leading = now_leading
        if leading:
            try:
                work()
            except Exception:
                log.exception("%s: a pass failed", lock.name)
        stop.wait(interval_s)
    if leading:
        lock.release()


def run_as_leader(lock: LeaderLock, run: Callable[[threading.Event], None], *, stop: threading.Event,
                  check_s: float = 2.0) -> bool:
    """For a worker with its own loop (the dialer): stand by until this instance holds `lock`, then
    `run(until)` where `until` is set on `stop` or when the lock is lost (its database connection
    died). Returns True if leadership was lost, so the caller can exit and be restarted as a standby."""
    while not stop.is_set():
        try:
            if lock.try_acquire():
                break
        except Exception as exc:
            log.warning("%s: cannot check the leader lock (%s); standing by", lock.name, type(exc).__name__)
        stop.wait(check_s)
    else:
        return False
    log.info("%s: leading: this instance does the work", lock.name)
    until = threading.Event()
    lost = threading.Event()

    def watch() -> None:
        while not until.is_set():
            if stop.wait(check_s) or not lock.held:
                if not stop.is_set():
                    log.warning("%s: leadership lost; stopping so that a standby takes over", lock.name)
                    lost.set()
                until.set()

    watcher = threading.Thread(target=watch, name=f"{lock.name}-leader-watch", daemon=True)
    watcher.start()
    try:
        run(until)
    finally:
        until.set()
        watcher.join(check_s + 1)
        lock.release()
    return lost.is_set()
