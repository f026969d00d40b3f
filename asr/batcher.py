"""A bounded decode queue: a few worker threads, each taking up to `max_batch` waiting utterances at a
time, and admission refused when the wait would pass a bound.

A caller must never wait on an unbounded queue: `submit` estimates the wait from the decodes ahead and
the measured time of recent decodes, and raises `RecognitionBusy` past `max_wait_s`; the call then goes
to a person with its recording. Decoding runs in these threads, never on a connection's thread.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from asr.errors import RecognitionBusy

log = logging.getLogger(__name__)

In = TypeVar("In")
Out = TypeVar("Out")


@dataclass
class _Job(Generic[In, Out]):
    item: In
    future: Future[Out] = field(default_factory=Future)
    queued_at: float = field(default_factory=time.monotonic)


@dataclass
class BatcherStats:
    decoded: int = 0
    batches: int = 0
    refused: int = 0
    failed: int = 0
    queue_depth: int = 0
    in_flight: int = 0
    decode_s_ewma: float = 0.0


class Batcher(Generic[In, Out]):
    def __init__(self, decode: Callable[[Sequence[In]], list[Out]], *, workers: int = 1, max_batch: int = 4,
                 max_wait_s: float = 6.0, first_guess_s: float = 1.5, name: str = "decode") -> None:
        if workers < 1 or max_batch < 1:
            raise ValueError("workers and max_batch must be at least 1")
        self._decode = decode
        self.workers, self.max_batch, self.max_wait_s = workers, max_batch, max_wait_s
        self._queue: deque[_Job[In, Out]] = deque()
        self._cond = threading.Condition()
        self._closed = False
        self.stats = BatcherStats(decode_s_ewma=first_guess_s)
        self._threads = [threading.Thread(target=self._work, name=f"{name}-{i}", daemon=True) for i in range(workers)]
        for t in self._threads:
            t.start()

    def expected_wait_s(self) -> float:
        """How long a new utterance would wait for its text: the batches ahead of it, plus its own."""
        with self._cond:
            return self._expected_locked()

    def _expected_locked(self) -> float:
        ahead = len(self._queue) + self.stats.in_flight
        rounds = math.ceil((ahead + 1) / (self.workers * self.max_batch))
        return rounds * self.stats.decode_s_ewma

    def submit(self, item: In) -> Future[Out]:
        with self._cond:
            if self._closed:
                raise RecognitionBusy("the recogniser is stopping")
            wait = self._expected_locked()
            if wait > self.max_wait_s:
                self.stats.refused += 1
                raise RecognitionBusy(f"about {wait:.1f} s of decoding queued (bound {self.max_wait_s:.1f} s)")
            job: _Job[In, Out] = _Job(item)
            self._queue.append(job)
            self.stats.queue_depth = len(self._queue)
            self._cond.notify()
            return job.future

    def run(self, item: In, timeout_s: float | None = None) -> Out:
        return self.submit(item).result(timeout_s)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            pending = list(self._queue)
            self._queue.clear()
            self._cond.notify_all()
        for job in pending:
            job.future.set_exception(RecognitionBusy("the recogniser stopped"))
        for t in self._threads:
            t.join(5)

    def _take(self) -> list[_Job[In, Out]] | None:
        with self._cond:
            while not self._queue and not self._closed:
                self._cond.wait()
            if self._closed:
                return None
            batch = [self._queue.popleft() for _ in range(min(self.max_batch, len(self._queue)))]
            self.stats.in_flight += len(batch)
            self.stats.queue_depth = len(self._queue)
            return batch

    def _work(self) -> None:
        while (batch := self._take()) is not None:
            t0 = time.monotonic()
            try:
                outs = self._decode([job.item for job in batch])
            except Exception as exc:  # one bad batch must not stop the worker or hang its callers
                log.exception("decoding a batch of %d failed", len(batch))
                with self._cond:
                    self.stats.failed += len(batch)
                    self.stats.in_flight -= len(batch)
                for job in batch:
                    job.future.set_exception(exc)
                continue
            took = time.monotonic() - t0
            with self._cond:
                self.stats.in_flight -= len(batch)
                self.stats.decoded += len(batch)
                self.stats.batches += 1
                self.stats.decode_s_ewma = 0.8 * self.stats.decode_s_ewma + 0.2 * took
            for job, out in zip(batch, outs, strict=True):
                job.future.set_result(out)
