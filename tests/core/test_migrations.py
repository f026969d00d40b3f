"""The migrations build exactly the schema the models describe, on both backends."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import hotline.tables  # noqa: F401  (registers every package's tables)
from foundation.db import Base, Database
from foundation.migrate import alembic_config
from foundation.settings import Settings


def test_models_and_migrations_agree(database: Database) -> None:
    with database.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_downgrade_and_upgrade_again(settings: Settings, database: Database) -> None:
    database.engine.dispose()
    command.downgrade(alembic_config(settings.db_url), "base")
    command.upgrade(alembic_config(settings.db_url), "heads")
