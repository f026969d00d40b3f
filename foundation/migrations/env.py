"""Alembic environment: the URL comes from the caller (foundation.migrate), never from a file."""

from __future__ import annotations

from alembic import context

from foundation.db import Base, make_engine

# Base.metadata is the table registry. Upgrades need nothing from it; to autogenerate a revision, import
# hotline.tables first (every package's tables), as tests/core/test_migrations.py does.

config = context.config
url = config.get_main_option("sqlalchemy.url") or ""

if context.is_offline_mode():
    context.configure(url=url, target_metadata=Base.metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=Base.metadata,
                          render_as_batch=url.startswith("sqlite"))
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()
