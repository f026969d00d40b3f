"""Shared fixtures: a private HOTLINE_HOME with a migrated database for each test that needs one."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from hotline import migrate
from hotline.db import Database, open_database
from hotline.settings import Settings
from tests.pg import PostgresServer

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture(autouse=True)
def _root_logging_restored() -> Iterator[None]:
    """A test that runs a CLI command gets hotline.logs.setup's handlers on the root logger, bound to
    the stderr pytest captured for that test and closes after it: later tests would log into a closed
    stream. Put the root logger back as it was."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    for h in root.handlers[:]:
        if h not in handlers:
            root.removeHandler(h)
            h.close()
    for h in handlers:
        if h not in root.handlers:
            root.addHandler(h)
    root.setLevel(level)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    server = PostgresServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """A private HOTLINE_HOME; database tests run once on SQLite and once on real PostgreSQL."""
    url = ""
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres").create_database(f"t{uuid.uuid4().hex[:12]}")
    s = Settings(home=tmp_path / "home", database_url=url)
    s.ensure_dirs()
    return s


@pytest.fixture
def database(settings: Settings) -> Iterator[Database]:
    migrate.upgrade(settings.db_url)
    db = open_database(settings.db_url)
    yield db
    db.engine.dispose()


@pytest.fixture
def session_factory(database: Database) -> sessionmaker[Session]:
    return database.session_factory
