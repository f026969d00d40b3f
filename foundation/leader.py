"""Leader election for singleton workers (scheduler, dialer) when several hosts run them.

PostgreSQL: a session-level advisory lock held on a dedicated connection; if that connection dies,
PostgreSQL releases the lock and another instance takes over. SQLite (one machine by definition):
an exclusive fcntl lock on a file beside the database. Either way the lock is released by the
operating system or the server when the holder dies, so a crashed leader never blocks the others."""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
from pathlib import Path
from typing import IO

from sqlalchemy import Connection, Engine, text

log = logging.getLogger(__name__)


def lock_key(name: str) -> int:
    """A stable signed 64-bit key for pg_try_advisory_lock from a readable name."""
    return int.from_bytes(hashlib.sha256(f"hotline:{name}".encode()).digest()[:8], "big", signed=True)


class LeaderLock:
    def __init__(self, engine: Engine, name: str, lock_dir: Path) -> None:
        self.engine = engine
        self.name = name
        self._lock_dir = lock_dir
        self._conn: Connection | None = None
        self._file: IO[bytes] | None = None

    @property
    def held(self) -> bool:
        if self._file is not None:
            return True
        if self._conn is None:
            return False
        try:  # the lock lives exactly as long as its connection
            self._conn.execute(text("SELECT 1"))
            return True
        except Exception:  # any failure means the lock is gone
            log.warning("leader connection for %s lost", self.name)
            self._conn = None
            return False

    def try_acquire(self) -> bool:
        if self.held:
            return True
        if self.engine.dialect.name == "postgresql":
            # Autocommit: the connection lives as long as the leadership, and one left "idle in transaction"
            # (each liveness check would open one) would hold back VACUUM on every table for that long.
            conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": lock_key(self.name)}).scalar())
            if got:
                self._conn = conn
            else:
                conn.close()
            return got
        self._lock_dir.mkdir(parents=True, exist_ok=True)
        f = (self._lock_dir / f"{self.name}.lock").open("ab")
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.close()
            return False
        f.truncate(0)
        f.write(str(os.getpid()).encode())
        f.flush()
        self._file = f
        return True

    def release(self) -> None:
        if self._conn is not None:
            try:
                self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": lock_key(self.name)})
            finally:
                self._conn.close()
                self._conn = None
        if self._file is not None:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None
