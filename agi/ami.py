"""Asterisk Manager Interface client: a synchronous API over one socket and a reader thread.

Not pyst2's ``asterisk.manager``, because on Python 3 it pairs responses with requests by
arrival order on one shared queue rather than by ActionID, waits forever for a response that
never comes, and its parser calls the Python 2 ``dict.has_key`` on any ``ChanVariable`` header,
which kills its reader thread and leaves every later caller blocked.

Usage::

    ami = AmiClient("127.0.0.1", 5038, "hotline", "secret")
    ami.connect(timeout=5)
    resp = ami.originate("Local/s@citizen", context="ivr", exten="12345",
                         variables={"TICKET_ID": "T1"})
    done = ami.wait_for_event(lambda e: e.get("Event") == "OriginateResponse"
                              and e.get("ActionID") == resp["ActionID"], timeout=40)
    ami.close()
"""

from __future__ import annotations

import itertools
import logging
import queue
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import BinaryIO

from agi.ami_codec import FieldValue, encode_action, is_list_complete, parse_packet, variable_lines
from foundation.masking import mask_number

log = logging.getLogger(__name__)

Packet = dict[str, str]
EventCallback = Callable[[Packet], None]


class AmiError(Exception):
    """An AMI failure; ``packet`` is the ``Response: Error`` packet when there is one."""

    def __init__(self, message: str, packet: Packet | None = None) -> None:
        super().__init__(message)
        self.packet: Packet = packet or {}


class AmiAuthError(AmiError):
    """Login refused."""


class AmiConnectionError(AmiError, ConnectionError):
    """Not connected, or the connection dropped while waiting."""


class AmiTimeout(AmiError, TimeoutError):
    """No response / no matching event in time."""


@dataclass
class _Pending:
    """One action waiting for its Response (and, for event lists, its events)."""

    is_list: bool
    done: threading.Event = field(default_factory=threading.Event)
    response: Packet | None = None
    items: list[Packet] = field(default_factory=list)
    error: AmiError | None = None


class AmiClient:
    """AMI session. Thread-safe: several threads may run actions at once."""

    def __init__(
        self,
        host: str,
        port: int = 5038,
        username: str = "",
        secret: str = "",
        *,
        events: bool = True,
        event_backlog: int = 1000,
    ) -> None:
        self.host, self.port = host, port
        self._username, self._secret = username, secret
        self._events = events
        self.banner = ""
        self._lock = threading.Lock()  # guards _sock, _connected, _pending
        self._send_lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._connected = False
        self._pending: dict[str, _Pending] = {}
        self._ids = itertools.count(1)
        self._id_prefix = uuid.uuid4().hex[:8]  # unique across clients and reconnects
        self._events_cond = threading.Condition()
        self._backlog: deque[Packet] = deque(maxlen=event_backlog)
        self._subscribers: list[EventCallback] = []
        self._dispatch_q: queue.Queue[Packet | None] = queue.Queue()
        self._threads: list[threading.Thread] = []

    # -- connection ----------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._connected

    def connect(self, timeout: float = 10.0) -> Packet:
        """Connect, read the ``Asterisk Call Manager/x.y`` banner and log in; returns the login response."""
        if self._sock is not None:
            raise AmiError("already connected; close() first")
        try:
            sock = socket.create_connection((self.host, self.port), timeout=timeout)
        except TimeoutError as exc:
            raise AmiTimeout(f"AMI connect to {self.host}:{self.port} timed out") from exc
        except OSError as exc:
            raise AmiConnectionError(f"AMI connect to {self.host}:{self.port} failed: {exc}") from exc
        rfile = sock.makefile("rb")
        try:
            banner = rfile.readline().decode("utf-8", "replace").strip()
            if not banner.startswith("Asterisk Call Manager"):
                raise AmiError(f"not an AMI banner: {banner!r}")
            sock.settimeout(None)  # the reader thread blocks; close() unblocks it
        except BaseException as exc:
            rfile.close()
            sock.close()
            if isinstance(exc, TimeoutError):
                raise AmiTimeout("no AMI banner in time") from exc
            if isinstance(exc, OSError):
                raise AmiConnectionError(f"AMI banner read failed: {exc}") from exc
            raise
        self.banner = banner
        self._start(sock, rfile)
        try:
            return self.action(
                "Login",
                response_timeout=timeout,
                Username=self._username,
                Secret=self._secret,
                Events="on" if self._events else "off",
            )
        except (AmiTimeout, AmiConnectionError):
            self.close(logoff=False)
            raise
        except AmiError as exc:
            self.close(logoff=False)
            raise AmiAuthError(f"AMI login refused: {exc}", exc.packet) from exc

    def _start(self, sock: socket.socket, rfile: BinaryIO) -> None:
        with self._lock:
            self._sock, self._connected = sock, True
            self._pending.clear()
        with self._events_cond:
            self._backlog.clear()
        self._dispatch_q = queue.Queue()
        self._threads = [
            threading.Thread(target=self._read_loop, args=(rfile,), name="ami-reader", daemon=True),
            threading.Thread(
                target=self._dispatch_loop, args=(self._dispatch_q,), name="ami-events", daemon=True
            ),
        ]
        for thread in self._threads:
            thread.start()

    def close(self, *, logoff: bool = True) -> None:
        """Log off (if still connected) and close. Idempotent; connect() may be called again after."""
        with self._lock:
            sock, connected = self._sock, self._connected
        if sock is None:
            return
        if connected and logoff:
            try:
                self.action("Logoff", response_timeout=2.0)
            except AmiError:
                pass
        try:
            sock.shutdown(socket.SHUT_RDWR)  # wakes the reader thread
        except OSError:
            pass
        sock.close()
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(timeout=5.0)
        with self._lock:
            self._sock, self._connected = None, False
        self._threads = []

    def __enter__(self) -> AmiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- actions -------------------------------------------------------------------------------

    def action(self, name: str, *, response_timeout: float = 10.0, **fields: FieldValue) -> Packet:
        """Send one action and return its Response packet (matched by ActionID).

        A list/tuple field value is sent as one header line per item. Raises AmiError on
        ``Response: Error``, AmiTimeout, AmiConnectionError.
        """
        pending = self._request(name, fields, is_list=False, timeout=response_timeout)
        assert pending.response is not None
        return pending.response

    def action_list(self, name: str, *, response_timeout: float = 30.0, **fields: FieldValue) -> list[Packet]:
        """An action answered by an event list (``CoreShowChannels``...): the events before the
        closing ``...Complete`` event."""
        return self._request(name, fields, is_list=True, timeout=response_timeout).items

    def originate(
        self,
        channel: str,
        *,
        context: str | None = None,
        exten: str | None = None,
        priority: int = 1,
        application: str | None = None,
        data: str | None = None,
        variables: Mapping[str, object] | None = None,
        caller_id: str | None = None,
        timeout_ms: int = 30000,
        async_: bool = True,
        channel_id: str | None = None,
        other_channel_id: str | None = None,
        **extra: FieldValue,
    ) -> Packet:
        """Originate ``channel`` into ``context``/``exten`` or ``application``.

        With ``async_`` the response only says "queued"; the outcome arrives later as an
        ``OriginateResponse`` event carrying the same ActionID as the returned packet.
        ``channel_id`` / ``other_channel_id`` set the Uniqueid of the new channel (and of the
        ``;2`` half of a Local channel), so its events can be followed. ``extra`` fields
        (``EarlyMedia``, ``Account``, ``Codecs``...) are sent as given.
        """
        if (exten is None) == (application is None):
            raise ValueError("originate needs either exten (with context) or application")
        fields: dict[str, FieldValue] = {"Channel": channel}
        if application is not None:
            fields["Application"] = application
            if data is not None:
                fields["Data"] = data
        else:
            if context is not None:
                fields["Context"] = context
            fields["Exten"] = str(exten)
            fields["Priority"] = priority
        fields["Timeout"] = timeout_ms
        if caller_id:
            fields["CallerID"] = caller_id
        if async_:
            fields["Async"] = "true"
        if channel_id:
            fields["ChannelId"] = channel_id
        if other_channel_id:
            fields["OtherChannelId"] = other_channel_id
        if variables:
            fields["Variable"] = variable_lines(variables)
        fields.update(extra)
        log.info("AMI originate %s", mask_number(channel))
        # Without Async, Asterisk answers only once the call is answered or has failed.
        wait_s = 10.0 if async_ else timeout_ms / 1000 + 10.0
        return self.action("Originate", response_timeout=wait_s, **fields)

    def _request(
        self, name: str, fields: Mapping[str, FieldValue], *, is_list: bool, timeout: float
    ) -> _Pending:
        fields = dict(fields)
        pending = _Pending(is_list)
        with self._lock:
            if not self._connected or self._sock is None:
                raise AmiConnectionError("not connected to AMI")
            action_id = str(fields.pop("ActionID", "") or f"{self._id_prefix}-{next(self._ids)}")
            self._pending[action_id] = pending
            sock = self._sock
        try:
            data = encode_action(name, action_id, fields)
            log.debug("AMI >> %s (ActionID %s)", name, action_id)
            try:
                with self._send_lock:
                    sock.sendall(data)
            except OSError as exc:
                raise AmiConnectionError(f"AMI send failed: {exc}") from exc
            if not pending.done.wait(timeout):
                raise AmiTimeout(f"no AMI response to {name} within {timeout}s")
        finally:
            with self._lock:
                self._pending.pop(action_id, None)
        if pending.error is not None:
            raise pending.error
        response = pending.response or {}
        if response.get("Response", "").lower() == "error":
            raise AmiError(f"{name}: {response.get('Message', 'error')}", response)
        return pending

    # -- events --------------------------------------------------------------------------------

    def subscribe(self, callback: EventCallback) -> Callable[[], None]:
        """Call ``callback(event)`` for each event from now on, on the event thread (not the reader:
        a callback may run actions). Returns a function that unsubscribes."""
        with self._lock:
            self._subscribers.append(callback)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._subscribers:
                    self._subscribers.remove(callback)

        return unsubscribe

    def wait_for_event(self, predicate: Callable[[Packet], bool], timeout: float = 10.0) -> Packet:
        """The first queued event matching ``predicate``, removed from the queue; waits up to
        ``timeout``. Events are queued from connect() on (bounded), so one that arrived before
        this call (e.g. right after originate() returned) is still found."""
        deadline = time.monotonic() + timeout
        with self._events_cond:
            while True:
                for i, event in enumerate(self._backlog):
                    if predicate(event):
                        del self._backlog[i]
                        return event
                if not self._connected:
                    raise AmiConnectionError("AMI connection closed while waiting for an event")
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AmiTimeout(f"no matching AMI event within {timeout}s")
                self._events_cond.wait(remaining)

    def clear_events(self) -> None:
        with self._events_cond:
            self._backlog.clear()

    # -- reader / dispatcher threads -----------------------------------------------------------

    def _read_loop(self, rfile: BinaryIO) -> None:
        lines: list[str] = []
        try:
            for raw in rfile:
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                if line:
                    lines.append(line)
                elif lines:
                    self._on_packet(parse_packet(lines))
                    lines = []
        except (OSError, ValueError):
            pass  # socket closed under us: same as EOF
        except Exception:
            log.exception("AMI reader failed")
        finally:
            rfile.close()
            self._on_disconnect()

    def _on_packet(self, packet: Packet) -> None:
        action_id = packet.get("ActionID", "")
        with self._lock:
            pending = self._pending.get(action_id) if action_id else None
        # Events may carry a Response header too (OriginateResponse): Event decides.
        if "Event" not in packet:
            if pending is None:
                log.debug("AMI response for unknown ActionID %s dropped", action_id)
                return
            pending.response = packet
            list_follows = (
                packet.get("Response", "").lower() == "success"
                and packet.get("EventList", "").lower() == "start"
            )
            if not (pending.is_list and list_follows):
                pending.done.set()
            return
        if pending is not None and pending.is_list and not pending.done.is_set():
            if is_list_complete(packet):
                pending.done.set()
            else:
                pending.items.append(packet)
            return
        with self._events_cond:
            self._backlog.append(packet)
            self._events_cond.notify_all()
        self._dispatch_q.put(packet)

    def _on_disconnect(self) -> None:
        with self._lock:
            was_connected, self._connected = self._connected, False
            pendings = list(self._pending.values())
        if was_connected:
            log.info("AMI connection to %s:%s closed", self.host, self.port)
        for pending in pendings:
            if not pending.done.is_set():  # a response that did arrive (e.g. login refused) stands
                pending.error = AmiConnectionError("AMI connection lost before the response")
                pending.done.set()
        with self._events_cond:
            self._events_cond.notify_all()
        self._dispatch_q.put(None)

    def _dispatch_loop(self, events: queue.Queue[Packet | None]) -> None:
        while (event := events.get()) is not None:
            with self._lock:
                callbacks = list(self._subscribers)
            for callback in callbacks:
                try:
                    callback(event)
                except Exception:
                    log.exception("AMI event callback failed")
