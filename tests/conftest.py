"""Shared fixtures: a private HOTLINE_HOME with a migrated database for each test that needs one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from hotline import migrate
from hotline.db import Database, open_database
from hotline.settings import Settings

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    s = Settings(home=tmp_path / "home")
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
