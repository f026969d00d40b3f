"""Keeps one AMI connection open for the queue follower: connects, feeds events, reconnects with
backoff when Asterisk restarts or the socket drops, and catches up on calls bridged meanwhile."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from agi.ami import AmiClient, AmiError
from console.background import ConnectionThread
from console.follower import QueueFollower

log = logging.getLogger(__name__)

ClientFactory = Callable[[], AmiClient]


class FollowerRunner(ConnectionThread):
    """A daemon thread around an AmiClient. ``start()``/``stop()`` from the composition root."""

    thread_name = "console-ami-follower"

    def __init__(self, follower: QueueFollower, client_factory: ClientFactory, *,
                 backoff_s: tuple[float, ...] = (0.2, 0.5, 1.0, 2.0, 5.0)) -> None:
        super().__init__(backoff_s)
        self.follower = follower
        self._factory = client_factory
        self._client: AmiClient | None = None
        self._lock = threading.Lock()
        self.connected = threading.Event()

    def _interrupt(self) -> None:
        with self._lock:
            client = self._client
        if client is not None:
            client.close()

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            client = self._factory()
            try:
                client.connect(timeout=5)
            except AmiError as exc:
                failures += 1
                self._retry_wait(failures, f"console follower: AMI connect failed ({exc})")
                continue
            failures = 0
            with self._lock:
                self._client = client
            unsubscribe = client.subscribe(self.follower.feed)
            self.connections += 1
            self.connected.set()
            log.info("console follower: following the operator queue on AMI %s:%s", client.host, client.port)
            try:
                self._catch_up(client)
                while client.connected and not self._stop.is_set():
                    self._stop.wait(0.2)
            finally:
                self.connected.clear()
                unsubscribe()
                with self._lock:
                    self._client = None
                client.close()
            if not self._stop.is_set():
                log.warning("console follower: AMI connection lost; reconnecting")

    def _catch_up(self, client: AmiClient) -> None:
        """Pop calls that were bridged to an operator while we were not connected."""
        try:
            channels = client.action_list("CoreShowChannels", response_timeout=5)
        except AmiError as exc:
            log.warning("console follower: catch-up skipped: %s", exc)
            return

        def ticket_of(channel: str) -> int | None:
            try:
                value = client.action("Getvar", Channel=channel, Variable="TICKET_ID").get("Value", "")
            except AmiError:
                return None
            return int(value) if value.isdigit() else None

        self.follower.catch_up(channels, ticket_of)
