"""Databases that go away, for the fault tests: TEST DOUBLES (BreakingChannel) and real outages."""

from __future__ import annotations

import socket
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from foundation.db import Database
from foundation.settings import Settings
from tests.flows.fakes import FakeChannel, FakeRecord
from tests.pg import PostgresServer
from tickets.models import Call, Recording, Ticket, TicketEvent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_healthy(url: str, timeout_s: float = 60) -> None:
    """Until the API at `url` answers /health."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2):
                return
        except OSError:
            assert time.monotonic() < deadline, f"API {url} did not start"
            time.sleep(0.2)


def journals(settings: Settings) -> list[Path]:
    return sorted(settings.journal_dir.glob("*.jsonl"))


def journal_ops(path: Path) -> list[str]:
    return [line.split('"op":"')[1].split('"')[0] for line in path.read_text(encoding="utf-8").splitlines()]


def row_counts(factory: sessionmaker[Session]) -> tuple[int, int, int, int]:
    """Calls, tickets, recordings, ticket events."""
    with factory() as s:
        return (s.scalar(select(func.count()).select_from(Call)) or 0,
                s.scalar(select(func.count()).select_from(Ticket)) or 0,
                s.scalar(select(func.count()).select_from(Recording)) or 0,
                s.scalar(select(func.count()).select_from(TicketEvent)) or 0)


def unreachable_url(settings: Settings) -> str:
    """A database that is not there, of the kind `settings` uses: a SQLite file in a missing directory,
    or a PostgreSQL port nobody listens on."""
    if settings.db_url.startswith("sqlite"):
        return f"sqlite:///{settings.home / 'missing-dir' / 'hotline.db'}"
    return f"postgresql+psycopg://hotline@127.0.0.1:{free_port()}/gone?connect_timeout=2"


@dataclass
class BreakingChannel(FakeChannel):
    """TEST DOUBLE: a fake channel that runs `on_turn[n]` as the caller starts speaking on turn n."""

    on_turn: dict[int, Callable[[], None]] | None = None
    on_prompt: dict[str, Callable[[], None]] | None = None

    def play(self, path: str, escape_digits: str = "") -> str:
        action = (self.on_prompt or {}).get(path)
        if action is not None:
            action()
        return super().play(path, escape_digits)

    def record(self, path: str, fmt: str = "wav", escape_digits: str = "0", *, timeout_ms: int,
               silence_s: int, beep: bool = False) -> FakeRecord:
        action = (self.on_turn or {}).get(len(self.recorded) + 1)
        if action is not None:
            action()
        return super().record(path, fmt, escape_digits, timeout_ms=timeout_ms, silence_s=silence_s, beep=beep)


@dataclass
class Outage:
    """Takes a real database away mid-call and brings it back."""

    settings: Settings
    database: Database
    pg: PostgresServer | None
    moved: Path | None = None

    def begin(self) -> None:
        if self.pg is not None:
            self.pg.pause()
            return
        # SQLite: the file (and its WAL) vanish; a directory in its place cannot be opened.
        db_file = Path(self.settings.db_url.removeprefix("sqlite:///"))
        self.database.engine.dispose()
        self.moved = self.settings.home / "db-away"
        self.moved.mkdir()
        for f in db_file.parent.glob(db_file.name + "*"):
            f.rename(self.moved / f.name)
        db_file.mkdir()

    def end(self) -> None:
        if self.pg is not None:
            self.pg.resume()
            return
        assert self.moved is not None
        db_file = Path(self.settings.db_url.removeprefix("sqlite:///"))
        db_file.rmdir()
        for f in self.moved.iterdir():
            f.rename(db_file.parent / f.name)
        self.database.engine.dispose()
