"""Fault tests reuse the flow tests' fixtures (synthesised speech, the packaged router, services)
and the end-to-end tests' citizen voice."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from foundation.db import Database, open_database
from foundation.settings import Settings
from tests.e2e.conftest import voice
from tests.faults.outages import Outage, unreachable_url
from tests.flows.conftest import make_services, router, speech
from tests.pg import PostgresServer

__all__ = ["make_services", "router", "speech", "voice"]


@pytest.fixture
def unreachable(settings: Settings) -> Iterator[Database]:
    """A real engine on a database that is not there."""
    db = open_database(unreachable_url(settings))
    yield db
    db.engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def outage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Outage]:
    """A database of its own (the PostgreSQL one is stopped and started by the test)."""
    from foundation import migrate

    pg = None
    url = ""
    if request.param == "postgresql":
        pg = PostgresServer()
        pg.start()
        url = pg.create_database("outage")
    settings = Settings(home=tmp_path / "home", database_url=url)
    settings.ensure_dirs()
    migrate.upgrade(settings.db_url)
    db = open_database(settings.db_url)
    o = Outage(settings, db, pg)
    try:
        yield o
    finally:
        db.engine.dispose()
        if pg is not None:
            pg.stop()
