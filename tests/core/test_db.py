"""Engines: slow-transaction logging, and per-transaction connections for call processes."""

from __future__ import annotations

import logging
import multiprocessing
import time
from typing import Any

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.pool import NullPool

from foundation import db as dbmod
from foundation.db import make_engine, make_session_factory, open_database, transaction
from foundation.settings import Settings
from tickets.models import Ticket


def _backends(engine: Engine) -> int:
    """PostgreSQL backends connected to this engine's database, as another connection sees them."""
    name = engine.url.database
    observer = make_engine(engine.url.render_as_string(hide_password=False), pooled=False)
    try:
        with observer.connect() as c:
            return int(c.execute(text("SELECT count(*) FROM pg_stat_activity WHERE datname = :d AND pid <> "
                                      "pg_backend_pid()"), {"d": name}).scalar_one())
    finally:
        observer.dispose()


def test_a_slow_transaction_is_logged_with_its_first_statement(database: object, settings: Settings,
                                                                monkeypatch: pytest.MonkeyPatch,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(dbmod, "SLOW_TRANSACTION_S", 0.2)
    db = open_database(settings.db_url)
    try:
        with caplog.at_level(logging.WARNING, logger="foundation.db"):
            with transaction(db.session_factory) as s:
                s.scalars(select(Ticket).limit(1)).all()
            assert "slow transaction" not in caplog.text
            with transaction(db.session_factory) as s:
                s.scalars(select(Ticket).limit(1)).all()
                time.sleep(0.3)
        slow = [r.getMessage() for r in caplog.records if "slow transaction" in r.getMessage()]
        assert len(slow) == 1
        assert "FROM tickets" in slow[0]
    finally:
        db.engine.dispose()


def test_an_unpooled_engine_closes_its_connection_after_each_transaction(database: object,
                                                                        settings: Settings) -> None:
    unpooled = open_database(settings.db_url, pooled=False)
    pooled = open_database(settings.db_url)
    try:
        assert isinstance(unpooled.engine.pool, NullPool)
        for db in (unpooled, pooled):
            with transaction(db.session_factory) as s:
                s.add(Ticket(number=f"T{id(db) % 10**9}", type="咨询", summary="测试", transcript="测试"))
        with unpooled.session_factory() as s:
            assert len(s.scalars(select(Ticket)).all()) == 2
        if settings.db_url.startswith("postgresql"):
            before = _backends(pooled.engine)
            assert before >= 1  # the pooled engine keeps its connection open: this is what the test guards
            with transaction(unpooled.session_factory) as s:
                s.execute(text("SELECT 1"))
            assert _backends(pooled.engine) == before
            pooled.engine.dispose()
            assert _backends(pooled.engine) == before - 1
    finally:
        unpooled.engine.dispose()
        pooled.engine.dispose()


def _hold_a_connection(url: str, slots: Any, held: Any, release: Any) -> None:
    engine = make_engine(url, slots=slots, slot_wait_s=5)
    with engine.connect():  # no statement: on SQLite a transaction would also hold the write lock
        held.set()
        release.wait(30)
    engine.dispose()


def test_slot_pool_bounds_connections_across_forked_processes(database: object, settings: Settings) -> None:
    """The AGI server's call processes share one semaphore: past N open connections a call waits (and,
    past its wait, fails as 'database unavailable', which sends its record to the journal)."""
    ctx = multiprocessing.get_context("fork")
    slots = ctx.BoundedSemaphore(2)
    held, release = ctx.Event(), ctx.Event()
    child = ctx.Process(target=_hold_a_connection, args=(settings.db_url, slots, held, release))
    child.start()
    try:
        assert held.wait(30)
        engine = make_engine(settings.db_url, slots=slots, slot_wait_s=0.3)
        with engine.connect():  # the second slot
            with pytest.raises(PoolTimeout):  # both slots in use: one in the child, one here
                engine.connect()
        with engine.connect() as c:  # ours went back when it closed
            assert c.execute(text("SELECT 1")).scalar_one() == 1
        release.set()
        child.join(30)
        assert child.exitcode == 0
        conns = [engine.connect() for _ in range(2)]  # the child's slot came back too
        for c in conns:
            c.close()
        engine.dispose()
    finally:
        release.set()
        child.join(30)


def test_a_call_out_of_slots_keeps_its_record_in_the_journal(settings: Settings, database: object,
                                                            tmp_path: Any) -> None:
    from ivr_flows.callstore import CallStore

    slots = multiprocessing.get_context("fork").BoundedSemaphore(1)
    engine = make_engine(settings.db_url, slots=slots, slot_wait_s=0.2)
    factory = make_session_factory(engine)
    try:
        with engine.connect():  # the only slot is busy
            store = CallStore.open(factory, tmp_path / "journal")
            store.start_call(channel="Local/s@citizen-1;2", uniqueid="1.1", caller="13800138000", dialed="12345")
            assert store.degraded
            assert store.journal_path is not None and "start_call" in store.journal_path.read_text()
    finally:
        engine.dispose()
