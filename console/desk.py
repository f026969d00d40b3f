"""The desk: what the API process does with the follower's news — store it, build the pop, push it."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Protocol

from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from console import service
from console.follower import CallbackPending, CallEnded, Pickup, QueueFollower
from console.hub import Message
from console.relay import Relay
from foundation.db import transaction

log = logging.getLogger(__name__)


class Desk:
    def __init__(self, session_factory: sessionmaker[Session], relay: Relay) -> None:
        self.session_factory = session_factory
        self.relay = relay
        self.follower = QueueFollower(on_pickup=self.on_pickup, on_call_ended=self.on_call_ended,
                                      on_callback_pending=self.on_callback_pending)

    def on_pickup(self, pickup: Pickup) -> None:
        started = time.monotonic()
        with transaction(self.session_factory) as s:
            row = service.record_pickup(s, pickup=pickup)
            pop = service.pop_for_pickup(s, row=row, caller_number=pickup.caller_number)
        message: Message = pop.model_dump(mode="json")
        delivered = self.relay.publish_pop(pickup.station, message, pickup_id=row.id)
        log.info("screen pop for %s (ticket %s) built in %.0f ms, %d page(s)", pickup.station, pickup.ticket_id,
                 (time.monotonic() - started) * 1000, delivered)

    def on_call_ended(self, ended: CallEnded) -> None:
        with transaction(self.session_factory) as s:
            service.record_call_end(s, station=ended.station, caller_uniqueid=ended.caller_uniqueid, at=ended.at)
        delivered = self.relay.publish(ended.station, {"kind": "call_ended", "caller_uniqueid": ended.caller_uniqueid,
                                                       "ticket_id": ended.ticket_id},
                                       key=f"end:{ended.station}:{ended.caller_uniqueid}")
        log.info("call of %s ended at %s (ticket %s), %d page(s)", ended.caller_uniqueid, ended.station,
                 ended.ticket_id, delivered)

    def on_callback_pending(self, news: CallbackPending) -> None:
        self.relay.publish(None, {"kind": "callbacks", "ticket_id": news.ticket_id}, key=f"callbacks:{news.ticket_id}")


class Background(Protocol):
    def start(self) -> None: ...

    def stop(self, timeout: float = 5.0) -> None: ...


def run_while_serving(app: FastAPI, *parts: Background) -> None:
    """Run these threads (queue follower, relay listener) for as long as the app serves (wraps the
    app's lifespan)."""
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(a: Any) -> AsyncIterator[Any]:
        for part in parts:
            part.start()
        try:
            async with inner(a) as state:
                yield state
        finally:
            for part in reversed(parts):
                part.stop()

    app.router.lifespan_context = lifespan
