"""Engines: slow-transaction logging, and per-transaction connections for call processes."""

from __future__ import annotations

import logging
import time

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.pool import NullPool

from hotline import db as dbmod
from hotline.db import make_engine, open_database, transaction
from hotline.settings import Settings
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
        with caplog.at_level(logging.WARNING, logger="hotline.db"):
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
