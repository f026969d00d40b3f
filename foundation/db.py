"""Database engine and sessions. SQLite (embedded default) or PostgreSQL (production)."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import DateTime, Dialect, Engine, create_engine, event
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry, NullPool, Pool
from sqlalchemy.types import TypeDecorator

log = logging.getLogger(__name__)
# A transaction held longer than this is logged with its first statement. On SQLite every transaction
# is BEGIN IMMEDIATE, so a long one stalls every call's next write: this is how to find which.
SLOW_TRANSACTION_S = 1.0
READ_ONLY = "hotline_read_only"  # execution option: see read_only()
_SELECT_LIST = re.compile(r"^SELECT .*? FROM")



def utcnow() -> datetime:
    """Now, zone-aware in UTC: what every stored time is."""
    return datetime.now(UTC)

class Base(DeclarativeBase):
    """Declarative base shared by every domain's models (one schema, one migration history)."""


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite would hand them back naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: pass an aware one (UTC)")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Slots(Protocol):
    """A semaphore shared by forked processes (multiprocessing's BoundedSemaphore)."""

    def acquire(self, block: bool = True, timeout: float | None = None) -> bool: ...

    def release(self) -> None: ...


class SlotPool(NullPool):
    """A connection per transaction, and at most N open at once across every process that inherited
    `slots`: the call processes of one AGI server. Past N a call waits for a free slot, up to `wait_s`,
    instead of PostgreSQL refusing it ("too many clients") when calls pile up at a peak."""

    def __init__(self, creator: Any, *, slots: Slots, wait_s: float, **kw: Any) -> None:
        super().__init__(creator, **kw)
        self._slots, self._wait_s = slots, wait_s

    @classmethod
    def replacing(cls, pool: Pool, *, slots: Slots, wait_s: float) -> SlotPool:
        return cls(pool._creator, slots=slots, wait_s=wait_s, recycle=pool._recycle, echo=pool.echo,
                   logging_name=pool._orig_logging_name, reset_on_return=pool._reset_on_return,
                   pre_ping=pool._pre_ping, _dispatch=pool.dispatch, dialect=pool._dialect)

    def _do_get(self) -> ConnectionPoolEntry:
        if not self._slots.acquire(timeout=self._wait_s):
            raise PoolTimeout(f"no database connection slot free within {self._wait_s:g} s")
        try:
            return super()._do_get()
        except BaseException:
            self._slots.release()
            raise

    def _do_return_conn(self, record: ConnectionPoolEntry) -> None:
        try:
            super()._do_return_conn(record)
        finally:
            self._slots.release()

    def recreate(self) -> SlotPool:
        return SlotPool.replacing(self, slots=self._slots, wait_s=self._wait_s)


def make_engine(url: str, *, pooled: bool = True, slots: Slots | None = None, slot_wait_s: float = 5.0,
                **kwargs: Any) -> Engine:
    """`pooled=False`: a connection per transaction, closed after it. For processes that live long but
    touch the database rarely (one per call): a pool would keep a PostgreSQL backend per call in progress.
    `slots` (implies unpooled) bounds the connections of all processes sharing it; see SlotPool."""
    if not pooled or slots is not None:
        kwargs["poolclass"] = NullPool
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs)
    else:
        engine = create_engine(url, pool_pre_ping=pooled and slots is None, **kwargs)
    if slots is not None:  # before any listener is added: they attach to the pool in place
        engine.pool = SlotPool.replacing(engine.pool, slots=slots, wait_s=slot_wait_s)
    if url.startswith("sqlite"):
        _configure_sqlite(engine)
    _watch_slow_transactions(engine)
    return engine


def _watch_slow_transactions(engine: Engine) -> None:
    @event.listens_for(engine, "begin")
    def _began(conn: Any) -> None:
        conn.info["tx_began"] = time.monotonic()
        conn.info["tx_first_sql"] = ""

    @event.listens_for(engine, "before_cursor_execute")
    def _statement(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not conn.info.get("tx_first_sql") and not statement.startswith(("BEGIN", "PRAGMA")):
            # The column list says nothing about who holds the lock; the tables do.
            conn.info["tx_first_sql"] = _SELECT_LIST.sub("SELECT … FROM", " ".join(statement.split()), count=1)[:160]

    def _ended(conn: Any) -> None:
        began = conn.info.pop("tx_began", None)
        if began is not None and (held := time.monotonic() - began) > SLOW_TRANSACTION_S:
            log.warning("slow transaction: held %.1fs, first statement: %s", held, conn.info.get("tx_first_sql"))

    event.listen(engine, "commit", _ended)
    event.listen(engine, "rollback", _ended)


def _configure_sqlite(engine: Engine) -> None:
    # Python 3.11's sqlite3 opens transactions implicitly and lazily; take control so every
    # transaction is BEGIN IMMEDIATE: writers queue on busy_timeout instead of failing on upgrade.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # A read-only transaction (health, readiness, metrics) must not queue behind the writers: in WAL
        # mode a plain BEGIN reads a snapshot without the write lock.
        if conn.get_execution_options().get(READ_ONLY):
            conn.exec_driver_sql("BEGIN")
            conn.exec_driver_sql("PRAGMA query_only=1")  # reset when the connection goes back to the pool
            conn.connection.info["query_only"] = True
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    @event.listens_for(engine, "checkin")
    def _on_checkin(dbapi_conn: Any, record: Any) -> None:
        # Only connections a read-only transaction used: no extra statement on every write's return.
        if dbapi_conn is not None and record.info.pop("query_only", False):
            dbapi_conn.execute("PRAGMA query_only=0")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session whose work is committed on success and rolled back on any error."""
    with factory() as session, session.begin():
        yield session


@contextmanager
def read_only(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session for reads only: on SQLite it takes no write lock, so it never waits for writers. A write
    in it fails, on both databases."""
    with factory() as session, session.begin():
        conn = session.connection(execution_options={READ_ONLY: True})
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SET TRANSACTION READ ONLY")
        yield session


@dataclass(frozen=True)
class Database:
    engine: Engine
    session_factory: sessionmaker[Session]


def open_database(url: str, *, pooled: bool = True) -> Database:
    engine = make_engine(url, pooled=pooled)
    return Database(engine, make_session_factory(engine))


def libpq_dsn(engine: Engine) -> str | None:
    """The connection string for a plain psycopg connection to the same PostgreSQL database (LISTEN
    needs one of its own, outside the pool); None on SQLite."""
    if engine.dialect.name != "postgresql":
        return None
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
