"""Turn latencies from the per-call AGI processes to the API's /metrics, through a small spool.

Each intake call runs in its own forked process, so an in-memory histogram there dies with the call.
Each turn's latency (end of the caller's speech -> start of the next prompt) is appended as one line
``<epoch_s> <latency_ms> <purpose>`` to ``$HOTLINE_HOME/spool/metrics/turns-YYYYMMDD.log``. A single
``write()`` of an O_APPEND file is atomic for lines this short, so concurrent calls never interleave.

Chosen over the alternatives: a database row per turn would add a write to the latency-critical path
and contend with ticket writes on SQLite; prometheus_client's multiprocess mode needs an environment
variable set before import in every process and leaves one file per forked call to clean up. The
reader (TurnLatencyReader, owned by the API app) keeps a cursor per file and folds only new lines into
cumulative bucket counts at each scrape; files older than ``keep_days`` are deleted once read.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

log = logging.getLogger(__name__)

# Seconds; turn latency targets are well under a second, a few seconds is already a bad turn.
BUCKETS: tuple[float, ...] = (0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0)
_PREFIX, _SUFFIX = "turns-", ".log"
_MAX_LINE = 256  # longer lines are not ours: skipped
_MAX_LATENCY_MS = 3_600_000.0


def spool_dir(home: Path) -> Path:
    return home / "spool" / "metrics"


def _purpose_label(purpose: str) -> str:
    # One short word per line, so the line stays atomic and splits on spaces.
    clean = "".join(c for c in purpose if c.isascii() and (c.isalnum() or c in "_-"))[:32]
    return clean or "unknown"


def record_turn(home: Path, latency_ms: float, purpose: str, *, now: float | None = None) -> None:
    """Append one turn's latency. Never raises: metrics must not cost a citizen the call."""
    if not math.isfinite(latency_ms) or latency_ms < 0:
        return
    at = time.time() if now is None else now
    day = datetime.fromtimestamp(at, UTC).strftime("%Y%m%d")
    line = f"{at:.3f} {min(latency_ms, _MAX_LATENCY_MS):.1f} {_purpose_label(purpose)}\n".encode()
    try:
        directory = spool_dir(home)
        directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(directory / f"{_PREFIX}{day}{_SUFFIX}", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)
    except OSError as exc:
        log.warning("turn latency not spooled: %s", exc)


@dataclass
class Histogram:
    """Cumulative counts per purpose, in Prometheus' shape (bucket counts are cumulative)."""

    buckets: tuple[float, ...] = BUCKETS
    counts: dict[str, list[int]] = field(default_factory=dict)  # per bucket, non-cumulative, + the +Inf slot
    sums: dict[str, float] = field(default_factory=dict)

    def observe(self, purpose: str, seconds: float) -> None:
        slots = self.counts.setdefault(purpose, [0] * (len(self.buckets) + 1))
        for i, bound in enumerate(self.buckets):
            if seconds <= bound:
                slots[i] += 1
                break
        else:
            slots[-1] += 1
        self.sums[purpose] = self.sums.get(purpose, 0.0) + seconds

    def cumulative(self, purpose: str) -> list[tuple[str, int]]:
        slots, total, out = self.counts[purpose], 0, []
        for bound, n in zip((*map(str, self.buckets), "+Inf"), slots, strict=True):
            total += n
            out.append((bound, total))
        return out


class TurnLatencyReader:
    """Folds the spool into a Histogram, reading each byte once. Thread-safe (scrapes may overlap)."""

    def __init__(self, home: Path, *, keep_days: int = 2) -> None:
        self.directory = spool_dir(home)
        self.keep_days = keep_days
        self.histogram = Histogram()
        self.skipped_lines = 0
        self._offsets: dict[str, int] = {}
        self._lock = threading.Lock()

    def refresh(self, *, now: datetime | None = None) -> Histogram:
        with self._lock:
            if self.directory.is_dir():
                oldest = ((now or datetime.now(UTC)) - timedelta(days=self.keep_days)).strftime("%Y%m%d")
                for path in sorted(self.directory.glob(f"{_PREFIX}*{_SUFFIX}")):
                    self._read_new(path)
                    if path.name[len(_PREFIX) : -len(_SUFFIX)] < oldest:
                        self._forget(path)
            return self.histogram

    def _read_new(self, path: Path) -> None:
        offset = self._offsets.get(path.name, 0)
        try:
            with path.open("rb") as f:
                f.seek(offset)
                data = f.read()
        except OSError:
            return
        end = data.rfind(b"\n") + 1  # a line still being written is read next time
        for raw in data[:end].splitlines():
            self._fold(raw)
        self._offsets[path.name] = offset + end

    def _fold(self, raw: bytes) -> None:
        parts = raw.split(b" ")
        try:
            if len(raw) > _MAX_LINE or len(parts) != 3:
                raise ValueError(raw[:40])
            ms = float(parts[1])
            if not math.isfinite(ms) or ms < 0:
                raise ValueError(raw[:40])
            purpose = _purpose_label(parts[2].decode("ascii"))
        except (ValueError, UnicodeDecodeError):
            self.skipped_lines += 1
            return
        self.histogram.observe(purpose, ms / 1000)

    def _forget(self, path: Path) -> None:
        try:
            path.unlink()
        except OSError as exc:
            log.warning("could not delete old turn spool %s: %s", path, exc)
            return
        self._offsets.pop(path.name, None)
