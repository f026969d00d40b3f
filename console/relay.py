"""Screen pops across API instances.

Each API instance follows the operator queue of its own Asterisk and pushes what it sees to the
pages connected to it at once, with no database hop. An operator's page may be connected to
another instance (a load balancer without stickiness, a failover): on PostgreSQL every message is
also announced with NOTIFY, and every instance LISTENs and delivers it to its own pages.

- A pop travels by reference (the pickup's id): the receiving instance builds it from the database,
  as a page opened late would, so no caller data is put on the notification channel.
- Several followers may see the same AMI event (several workers on one Asterisk), and a relayed
  message may arrive after the local one: each instance delivers a message key once.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable

import psycopg
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from console import service
from console.background import ConnectionThread
from console.hub import Message, PushHub
from console.models import OperatorPickup
from foundation.db import transaction

log = logging.getLogger(__name__)

CHANNEL = "hotline_console"
MAX_PAYLOAD = 7900  # PostgreSQL refuses NOTIFY payloads of 8000 bytes or more
DEDUP_S = 15.0  # a key seen this recently is not delivered again (the same event from another follower)


class Relay:
    """What the desk publishes: delivered here at once and, with `notify`, announced to the others."""

    def __init__(self, hub: PushHub, session_factory: sessionmaker[Session], *, notify: bool,
                 origin: str = "", clock: Callable[[], float] = time.monotonic) -> None:
        self.hub = hub
        self.session_factory = session_factory
        self.notify = notify
        self.origin = origin or uuid.uuid4().hex
        self._clock = clock
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()
        self.relayed = 0  # messages delivered here that another instance announced

    # -- sending --------------------------------------------------------------------------------
    def publish(self, station: str | None, message: Message, *, key: str) -> int:
        """A small message (call ended, callbacks news); `station` None reaches every page."""
        delivered = self._deliver(station, message, key)
        self._announce({"station": station, "key": key, "message": message})
        return delivered

    def publish_pop(self, station: str, message: Message, *, pickup_id: int) -> int:
        delivered = self._deliver(station, message, f"pop:{pickup_id}")
        self._announce({"station": station, "key": f"pop:{pickup_id}", "pickup_id": pickup_id})
        return delivered

    def _announce(self, body: dict[str, object]) -> None:
        if not self.notify:
            return
        payload = json.dumps({"origin": self.origin, **body}, ensure_ascii=False)
        if len(payload.encode()) > MAX_PAYLOAD:
            log.error("console relay: message %s too large to announce (%d bytes); other instances' pages "
                      "see it on reload", body.get("key"), len(payload.encode()))
            return
        try:
            with transaction(self.session_factory) as s:
                s.execute(select(func.pg_notify(CHANNEL, payload)))
        except Exception as exc:  # the local pages have it; the others see it on reload
            log.warning("console relay: could not announce %s (%s)", body.get("key"), type(exc).__name__)

    # -- receiving ------------------------------------------------------------------------------
    def receive(self, payload: str) -> int:
        """One notification (the listener's thread). Returns how many pages it reached here."""
        try:
            body = json.loads(payload)
            origin, station, key = str(body["origin"]), body["station"], str(body["key"])
        except (ValueError, KeyError, TypeError) as exc:
            log.error("console relay: unreadable notification ignored (%s)", exc)
            return 0
        if origin == self.origin or self._seen_recently(key):
            return 0
        if "pickup_id" in body:
            with transaction(self.session_factory) as s:
                row = s.get(OperatorPickup, int(body["pickup_id"]))
                if row is None:
                    return 0
                message: Message = service.pop_for_pickup(s, row=row).model_dump(mode="json")
        else:
            message = body["message"]
        delivered = self._deliver(None if station is None else str(station), message, key)
        self.relayed += 1
        return delivered

    # -- once per key ---------------------------------------------------------------------------
    def _seen_recently(self, key: str) -> bool:
        now = self._clock()
        with self._lock:
            seen = self._seen.get(key)
            return seen is not None and now - seen < DEDUP_S

    def _deliver(self, station: str | None, message: Message, key: str) -> int:
        now = self._clock()
        with self._lock:
            while self._seen and now - next(iter(self._seen.values())) >= DEDUP_S:
                self._seen.popitem(last=False)
            if key in self._seen:
                return 0
            self._seen[key] = now
        return self.hub.publish(station, message)


class NotifyListener(ConnectionThread):
    """A daemon thread LISTENing on the relay's channel; reconnects with backoff if PostgreSQL goes away.
    Pops announced while it is disconnected are missed here (pages get them on reload)."""

    thread_name = "console-relay-listener"

    def __init__(self, dsn: str, on_payload: Callable[[str], object], *,
                 backoff_s: tuple[float, ...] = (0.5, 1.0, 2.0, 5.0)) -> None:
        super().__init__(backoff_s)
        self._dsn = dsn
        self._on_payload = on_payload
        self.listening = threading.Event()

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                with psycopg.connect(self._dsn, autocommit=True, connect_timeout=5) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self.connections += 1
                    self.listening.set()
                    failures = 0
                    while not self._stop.is_set():
                        for note in conn.notifies(timeout=0.5):
                            self._handle(note.payload)
            except psycopg.Error as exc:
                self.listening.clear()
                failures += 1
                self._retry_wait(failures, f"console relay: LISTEN connection lost ({type(exc).__name__})")
        self.listening.clear()

    def _handle(self, payload: str) -> None:
        try:
            self._on_payload(payload)
        except Exception:  # one bad message must not end the listener
            log.exception("console relay: delivering a notification failed")
