"""Push hub: per-station message streams for the operator console's Server-Sent Events.

Published from any thread (the AMI follower runs in its own thread), consumed by asyncio
subscribers (one per open console page). Delivery is in memory: the follower runs inside the API
process, so a pop travels AMI socket → follower thread → subscriber queue with no database hop.
A page that connects late gets the station's current pop from the database (console.service).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from typing import Any

Message = dict[str, Any]
QUEUE_LIMIT = 100  # per subscriber; a stalled page loses its oldest messages, never blocks the others


class Subscription:
    def __init__(self, hub: PushHub, station: str, loop: asyncio.AbstractEventLoop) -> None:
        self.hub, self.station, self.loop = hub, station, loop
        self.queue: asyncio.Queue[Message] = asyncio.Queue(QUEUE_LIMIT)

    def _put(self, message: Message) -> None:  # runs on self.loop
        if self.queue.full():
            self.queue.get_nowait()
        self.queue.put_nowait(message)

    def deliver(self, message: Message) -> None:
        """Thread-safe: hand a message to this subscriber's event loop."""
        try:
            self.loop.call_soon_threadsafe(self._put, message)
        except RuntimeError:  # the loop is closed: the page is gone
            self.hub.unsubscribe(self)

    async def get(self) -> Message:
        return await self.queue.get()

    async def messages(self) -> AsyncIterator[Message]:
        while True:
            yield await self.queue.get()

    def close(self) -> None:
        self.hub.unsubscribe(self)


class PushHub:
    """Stations are operator endpoints ('op1'); ``publish(None, …)`` reaches every open console."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subs: dict[str, set[Subscription]] = {}

    def subscribe(self, station: str) -> Subscription:
        """Call from the subscriber's running event loop."""
        sub = Subscription(self, station, asyncio.get_running_loop())
        with self._lock:
            self._subs.setdefault(station, set()).add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            subs = self._subs.get(sub.station)
            if subs is not None:
                subs.discard(sub)
                if not subs:
                    del self._subs[sub.station]

    def publish(self, station: str | None, message: Message) -> int:
        """Deliver to the station's subscribers (every subscriber when station is None); returns how many."""
        with self._lock:
            if station is None:
                targets = [s for subs in self._subs.values() for s in subs]
            else:
                targets = list(self._subs.get(station, ()))
        for sub in targets:
            sub.deliver(message)
        return len(targets)

    def subscribers(self, station: str) -> int:
        with self._lock:
            return len(self._subs.get(station, ()))
