"""Alembic environment: the URL comes from the caller (hotline.migrate), never from a file."""

from __future__ import annotations

from alembic import context

import hotline.tables  # noqa: F401  (registers every package's tables on Base.metadata)
from hotline.db import Base, make_engine

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
