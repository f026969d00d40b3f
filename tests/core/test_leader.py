"""One leader at a time, and a dead leader's lock passes on (advisory lock on PostgreSQL, flock on SQLite)."""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

from sqlalchemy import text

from foundation.db import Database
from foundation.leader import LeaderLock, lock_key
from foundation.settings import Settings


def test_lock_keys_are_stable_and_distinct() -> None:
    assert lock_key("scheduler") == lock_key("scheduler") != lock_key("dialer")
    assert -(2**63) <= lock_key("dialer") < 2**63


def test_one_leader_then_handover(settings: Settings, database: Database, tmp_path: Path) -> None:
    a = LeaderLock(database.engine, "scheduler", tmp_path)
    b = LeaderLock(database.engine, "scheduler", tmp_path)
    other = LeaderLock(database.engine, "dialer", tmp_path)
    assert a.try_acquire() and a.held
    assert not b.try_acquire() and not b.held
    assert other.try_acquire()  # different names do not compete
    assert a.try_acquire()  # re-entrant for the holder
    a.release()
    assert b.try_acquire()
    b.release()
    other.release()


def _hold(url: str, lock_dir: str, started: multiprocessing.synchronize.Event) -> None:
    from foundation.db import open_database

    lock = LeaderLock(open_database(url).engine, "scheduler", Path(lock_dir))
    assert lock.try_acquire()
    started.set()
    time.sleep(60)  # killed by the test


def test_killed_leader_releases(settings: Settings, database: Database, tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    started = ctx.Event()
    proc = ctx.Process(target=_hold, args=(settings.db_url, str(tmp_path), started), daemon=True)
    proc.start()
    assert started.wait(30)
    lock = LeaderLock(database.engine, "scheduler", tmp_path)
    assert not lock.try_acquire()
    proc.kill()
    proc.join(10)
    deadline = time.monotonic() + 10
    while not lock.try_acquire():  # the server notices the dead connection
        assert time.monotonic() < deadline, "the dead leader's lock was never released"
        time.sleep(0.1)
    lock.release()


def test_run_as_leader_stands_by_then_leads_then_stops(settings: Settings, database: Database,
                                                       tmp_path: Path) -> None:
    import threading

    from hotline.singleton import run_as_leader

    other = LeaderLock(database.engine, "dialer", tmp_path)
    assert other.try_acquire()
    mine = LeaderLock(database.engine, "dialer", tmp_path)
    stop, started = threading.Event(), threading.Event()
    result: list[bool] = []

    def work(until: threading.Event) -> None:
        started.set()
        until.wait(30)

    t = threading.Thread(target=lambda: result.append(run_as_leader(mine, work, stop=stop, check_s=0.1)))
    t.start()
    assert not started.wait(0.5)  # the other instance leads: standing by
    other.release()
    assert started.wait(10)  # took over
    stop.set()
    t.join(10)
    assert result == [False] and not mine.held


def test_run_as_leader_stops_when_the_lock_is_lost(settings: Settings, database: Database, tmp_path: Path) -> None:
    import threading

    from sqlalchemy import text

    from hotline.singleton import run_as_leader

    if database.engine.dialect.name != "postgresql":
        return  # a flock cannot be lost while its process lives
    lock = LeaderLock(database.engine, "dialer", tmp_path)
    stop, started = threading.Event(), threading.Event()
    result: list[bool] = []

    def work(until: threading.Event) -> None:
        started.set()
        until.wait(30)

    t = threading.Thread(target=lambda: result.append(run_as_leader(lock, work, stop=stop, check_s=0.1)))
    t.start()
    assert started.wait(10)
    with database.engine.connect() as conn:  # the database drops the leader's session
        conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory'"))
    t.join(10)
    assert result == [True]


def test_a_leader_never_sits_idle_in_transaction(settings: Settings, database: Database, tmp_path: Path) -> None:
    """Its connection lives as long as the leadership: an open transaction there would hold back VACUUM."""
    lock = LeaderLock(database.engine, "dialer", tmp_path)
    assert lock.try_acquire()
    try:
        for _ in range(3):
            assert lock.held  # each liveness check runs a statement on the leader's connection
        if database.engine.dialect.name == "postgresql":
            with database.engine.connect() as c:
                states = c.execute(text("SELECT state FROM pg_stat_activity WHERE datname = current_database() "
                                        "AND pid <> pg_backend_pid() AND query LIKE 'SELECT 1%'")).scalars().all()
            assert states == ["idle"]
    finally:
        lock.release()
