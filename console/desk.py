"""The desk: what the API process does with the follower's news — store it, build the pop, push it."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from console import service
from console.follower import CallbackPending, CallEnded, Pickup, QueueFollower
from console.hub import Message, PushHub
from console.runner import FollowerRunner
from hotline.db import transaction

log = logging.getLogger(__name__)


class Desk:
    def __init__(self, session_factory: sessionmaker[Session], hub: PushHub) -> None:
        self.session_factory = session_factory
        self.hub = hub
        self.follower = QueueFollower(on_pickup=self.on_pickup, on_call_ended=self.on_call_ended,
                                      on_callback_pending=self.on_callback_pending)

    def on_pickup(self, pickup: Pickup) -> None:
        started = time.monotonic()
        with transaction(self.session_factory) as s:
            row = service.record_pickup(s, pickup=pickup)
            pop = service.pop_for_pickup(s, row=row, caller_number=pickup.caller_number)
        message: Message = pop.model_dump(mode="json")
        delivered = self.hub.publish(pickup.station, message)
        log.info("screen pop for %s (ticket %s) built in %.0f ms, %d page(s)", pickup.station, pickup.ticket_id,
                 (time.monotonic() - started) * 1000, delivered)

    def on_call_ended(self, ended: CallEnded) -> None:
        with transaction(self.session_factory) as s:
            service.record_call_end(s, station=ended.station, caller_uniqueid=ended.caller_uniqueid, at=ended.at)
        self.hub.publish(ended.station, {"kind": "call_ended", "caller_uniqueid": ended.caller_uniqueid,
                                         "ticket_id": ended.ticket_id})

    def on_callback_pending(self, news: CallbackPending) -> None:
        self.hub.publish(None, {"kind": "callbacks", "ticket_id": news.ticket_id})


def follow_queue_while_serving(app: FastAPI, runner: FollowerRunner) -> None:
    """Run the follower for as long as the app serves (wraps the app's lifespan)."""
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(a: Any) -> AsyncIterator[Any]:
        runner.start()
        try:
            async with inner(a) as state:
                yield state
        finally:
            runner.stop()

    app.router.lifespan_context = lifespan
