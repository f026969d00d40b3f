"""The intake journal: one append-only file of JSON lines per call under HOTLINE_HOME/spool/journal.

Every intake call holds an exclusive flock on its file for its whole life, so the file doubles as a
liveness marker: an unlocked file belongs to a call that is over (or whose process died). The file
stays empty while the database answers and is removed when the call ends normally; once a database
write fails, each remaining write of the call is appended here instead (fsynced: it survives a
crash) and `ivr_flows.replay` writes it into the database later.

The file is created under a temporary name and renamed once locked: a replayer never sees an
unlocked file of a live call."""

from __future__ import annotations

import fcntl
import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

SUFFIX = ".jsonl"
TMP_PREFIX = ".new-"


LEG_SEPARATOR = "."  # call ids are hex: `<call id>.<leg>.jsonl` never reads as another call's file


def journal_path(directory: Path, call_id: str, leg: str = "") -> Path:
    """`leg`: a later AGI leg of the same call (overflow) writes a file of its own, so that it never
    replaces the intake's journal still waiting for replay."""
    return directory / f"{call_id}{LEG_SEPARATOR + leg if leg else ''}{SUFFIX}"


def call_id_of(path: Path) -> str:
    return path.name.removesuffix(SUFFIX).split(LEG_SEPARATOR, 1)[0]


class CallJournal:
    """The writer side, owned by the process serving one call."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd
        self.entries = 0

    @classmethod
    def create(cls, directory: Path, call_id: str, leg: str = "") -> CallJournal:
        """Create and lock the call's file. Raises OSError (spool full, unwritable)."""
        directory.mkdir(parents=True, exist_ok=True)
        path = journal_path(directory, call_id, leg)
        tmp = directory / f"{TMP_PREFIX}{path.name.removesuffix(SUFFIX)}"  # never matches *.jsonl
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            os.rename(tmp, path)
        except BaseException:
            os.close(fd)
            tmp.unlink(missing_ok=True)
            raise
        return cls(path, fd)

    def append(self, op: str, **data: Any) -> None:
        """One entry, on disk before this returns. Raises OSError (disk full...)."""
        if self._fd is None:
            raise ValueError(f"journal {self.path} is closed")
        entry = {"op": op, "at": datetime.now(UTC).isoformat(), **data}
        line = (json.dumps(entry, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
        view = memoryview(line)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        os.fsync(self._fd)
        self.entries += 1

    def close(self, *, keep: bool = False) -> None:
        """End of the call: an empty journal (the database took every write) is removed unless
        `keep` (the flow failed: the replayer must close the call)."""
        if self._fd is None:
            return
        try:
            if self.entries == 0 and not keep:
                self.path.unlink(missing_ok=True)  # still locked: no replayer can be reading it
        finally:
            os.close(self._fd)
            self._fd = None


@dataclass
class Entries:
    call_id: str
    entries: list[dict[str, Any]]
    torn_tail: bool  # the last line was cut short (the process died or the disk filled mid-write)


class BadJournal(ValueError):
    """A journal line that is not JSON or not an entry: kept aside for a person, never dropped."""


def read_entries(path: Path) -> Entries:
    raw = path.read_bytes()
    lines = raw.split(b"\n")
    torn = lines[-1] != b""  # a complete file ends with a newline
    entries: list[dict[str, Any]] = []
    for n, line in enumerate(lines[:-1], start=1):
        try:
            entry = json.loads(line)
        except ValueError as exc:
            raise BadJournal(f"{path}: line {n} is not JSON ({exc})") from None
        if not isinstance(entry, dict) or not isinstance(entry.get("op"), str):
            raise BadJournal(f"{path}: line {n} is not a journal entry")
        entries.append(entry)
    return Entries(call_id=call_id_of(path), entries=entries, torn_tail=torn)


@dataclass
class Claimed:
    path: Path
    fd: int

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


def claim_finished(directory: Path) -> Iterator[Claimed]:
    """Each journal whose call is over, locked for the caller while it is handled (oldest first).
    Files of live calls (locked by their process) are skipped."""
    try:
        paths = sorted(directory.glob(f"*{SUFFIX}"), key=_mtime)
    except OSError as exc:
        log.error("cannot list the journal %s: %s", directory, exc)
        return
    yield from claim(paths)


def claim(paths: list[Path]) -> Iterator[Claimed]:
    """Those of `paths` whose call is over, each locked while the caller handles it."""
    for path in paths:
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            continue  # its call ended normally in the meantime
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # the call is still going on
            if os.fstat(fd).st_nlink == 0:
                continue  # removed between listing and locking
            yield Claimed(path, fd)
        finally:
            os.close(fd)


def any_finished(directory: Path) -> bool:
    """Whether a journal waits for replay. Files and locks only, no database: safe in a thread of a
    process that forks (SQLite's own locks must never be held by another thread at fork time)."""
    for claimed in claim_finished(directory):
        del claimed
        return True
    return False


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0
