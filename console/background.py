"""A daemon thread that keeps one connection open (AMI for the queue follower, LISTEN for the relay):
started and stopped by the composition root, retrying with backoff while the peer is away."""

from __future__ import annotations

import logging
import threading

log = logging.getLogger(__name__)


class ConnectionThread:
    """Subclasses implement `_run`, looping until `_stop` is set, and call `_retry_wait` after each
    failed or lost connection; `_interrupt` (optional) unblocks a `_run` waiting on its connection."""

    thread_name = "connection"

    def __init__(self, backoff_s: tuple[float, ...]) -> None:
        self._backoff = backoff_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.connections = 0  # how many times a connection was established (1 + reconnects)

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._interrupt()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        raise NotImplementedError

    def _interrupt(self) -> None:
        """Nothing to unblock by default: `_run` checks `_stop` often enough."""

    def _retry_wait(self, failures: int, what: str) -> None:
        """Wait before attempt `failures` + 1; logged on the 1st, the 10th and every 100th failure so an
        outage is visible without flooding the log."""
        delay = self._backoff[min(failures - 1, len(self._backoff) - 1)]
        if failures in (1, 10) or failures % 100 == 0:
            log.warning("%s; retrying every %.1f s", what, delay)
        self._stop.wait(delay)
