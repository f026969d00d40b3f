"""Every package's tables, imported once so that Base.metadata is complete.

Alembic's environment and the migrations-match-models test import this module; a package that adds
tables adds its models module here (one line each)."""

from __future__ import annotations

import accounts.models  # noqa: F401
import callbacks.models  # noqa: F401
import console.models  # noqa: F401
import escalation.models  # noqa: F401
import knowledge.models  # noqa: F401
import reports.models  # noqa: F401
import routing.models  # noqa: F401
import tickets.models  # noqa: F401
