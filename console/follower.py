"""Queue follower: which operator picked up which caller (and so which TICKET_ID), from AMI events.

Pure state machine: feed it AMI event packets (dicts) in arrival order; it reports what happened to
the desk through callbacks. No socket here (agi.queue_feed owns the connection), so it is tested on
literal event sequences and survives reconnects: its memory is kept while the socket is replaced.

Where the ticket id comes from, in order of preference:
  1. ``ChanVariable: TICKET_ID=…`` on the caller's side of AgentConnect (manager.conf
     ``channelvars = TICKET_ID`` makes Asterisk attach it to every channel event);
  2. the dialplan's ``UserEvent(HotlineTransfer, TicketId: …, Uniqueid: …)``, sent just before
     ``Queue()``, remembered per caller Uniqueid;
  3. for a bridge entered without AgentConnect (an operator dialled directly), the TICKET_ID that
     either of the two rules above tied to the caller channel of that bridge.
"""

from __future__ import annotations

import logging
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

log = logging.getLogger(__name__)

Packet = Mapping[str, str]

# Operator stations are the op1..opN endpoints of pjsip.conf; in simulations, Local/opN@sim-answer.
# Interface "PJSIP/op1", channel "PJSIP/op1-0000002a", "Local/op1@sim-answer-00000001;1".
_STATION_RE = re.compile(r"^(?:PJSIP|SIP|IAX2|Local)/(op\d+)(?:[-@/;]|$)", re.IGNORECASE)
_REMEMBERED = 2000  # callers whose ticket id / pickup is kept; bounded so a long run cannot grow


def station_of(name: str) -> str | None:
    """'PJSIP/op2-00000011' → 'op2'; anything that is not an operator station → None."""
    m = _STATION_RE.match(name.strip())
    return m.group(1).lower() if m else None


def channel_variables(value: str) -> dict[str, str]:
    """A ``ChanVariable`` header (repeated headers arrive joined by newlines) → {name: value}."""
    out: dict[str, str] = {}
    for line in value.splitlines():
        name, sep, val = line.partition("=")
        if sep:
            out[name.strip()] = val
    return out


def parse_ticket_id(value: str | None) -> int | None:
    if value is None:
        return None
    value = value.strip()
    return int(value) if value.isdigit() and int(value) > 0 else None


def event_time(event: Packet) -> float:
    """Asterisk's own clock (``timestampevents = yes``), falling back to ours."""
    try:
        return float(event["Timestamp"])
    except (KeyError, ValueError):
        return time.time()


@dataclass(frozen=True)
class Pickup:
    """An operator answered a caller."""

    station: str
    ticket_id: int | None  # None: the call reached the queue without a ticket (AGI down, hung up early)
    caller_uniqueid: str
    caller_channel: str
    caller_number: str
    operator_channel: str
    queue: str
    hold_seconds: int
    at: float  # epoch seconds of the AMI event (pickup time)
    via: str  # 'AgentConnect' | 'BridgeEnter' | 'catch-up'


@dataclass(frozen=True)
class CallEnded:
    station: str
    caller_uniqueid: str
    ticket_id: int | None
    at: float


@dataclass(frozen=True)
class CallbackPending:
    """The overflow route marked a ticket 待回拨."""

    ticket_id: int
    at: float


class _Bounded(OrderedDict[str, object]):
    def remember(self, key: str, value: object) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > _REMEMBERED:
            self.popitem(last=False)


class QueueFollower:
    def __init__(
        self,
        *,
        on_pickup: Callable[[Pickup], None],
        on_call_ended: Callable[[CallEnded], None] | None = None,
        on_callback_pending: Callable[[CallbackPending], None] | None = None,
    ) -> None:
        self._on_pickup = on_pickup
        self._on_call_ended = on_call_ended
        self._on_callback_pending = on_callback_pending
        self._tickets = _Bounded()  # caller uniqueid → ticket id
        self._popped = _Bounded()  # "uniqueid station" → Pickup (one pop per operator per caller)
        self._bridges: dict[str, dict[str, Packet]] = {}  # bridge id → uniqueid → BridgeEnter event

    # -- feeding -------------------------------------------------------------------------------

    def feed(self, event: Packet) -> None:
        """One AMI event. Never raises on odd input: a follower must outlive a strange packet."""
        kind = event.get("Event", "")
        try:
            handler = _HANDLERS.get(kind)
            if handler is not None:
                handler(self, event)
        except Exception:  # one bad packet must not stop the screen pops of every other call
            log.exception("queue follower: could not handle %s event", kind)

    def _user_event(self, e: Packet) -> None:
        name = e.get("UserEvent", "")
        ticket_id = parse_ticket_id(e.get("TicketId"))
        if name == "HotlineTransfer" and ticket_id is not None and e.get("Uniqueid"):
            self._tickets.remember(e["Uniqueid"], ticket_id)
        elif name == "HotlineCallbackPending" and ticket_id is not None and self._on_callback_pending:
            self._on_callback_pending(CallbackPending(ticket_id, event_time(e)))

    def _caller_ticket(self, e: Packet, *, prefix: str = "") -> int | None:
        uniqueid = e.get(f"{prefix}Uniqueid", "")
        from_var = parse_ticket_id(channel_variables(e.get(f"{prefix}ChanVariable", "")).get("TICKET_ID"))
        if from_var is not None:
            self._tickets.remember(uniqueid, from_var)
            return from_var
        known = self._tickets.get(uniqueid)
        return known if isinstance(known, int) else None

    def _agent_connect(self, e: Packet) -> None:
        station = station_of(e.get("Interface", "")) or station_of(e.get("DestChannel", "")) \
            or station_of(e.get("MemberName", ""))
        if station is None:
            log.warning("AgentConnect for a member that is no operator station: %s", e.get("Interface"))
            return
        try:
            hold = int(e.get("HoldTime", "0") or 0)
        except ValueError:
            hold = 0
        self._pop(Pickup(
            station=station, ticket_id=self._caller_ticket(e), caller_uniqueid=e.get("Uniqueid", ""),
            caller_channel=e.get("Channel", ""), caller_number=e.get("CallerIDNum", ""),
            operator_channel=e.get("DestChannel", ""), queue=e.get("Queue", ""), hold_seconds=hold,
            at=event_time(e), via="AgentConnect"))

    def _bridge_enter(self, e: Packet) -> None:
        bridge, uniqueid = e.get("BridgeUniqueid", ""), e.get("Uniqueid", "")
        if not bridge or not uniqueid:
            return
        members = self._bridges.setdefault(bridge, {})
        members[uniqueid] = e
        self._caller_ticket(e)  # learn TICKET_ID from the channel variable, if attached
        if len(members) != 2:
            return
        a, b = members.values()
        for op, caller in ((a, b), (b, a)):
            station = station_of(op.get("Channel", ""))
            if station is None or station_of(caller.get("Channel", "")) is not None:
                continue
            ticket = self._tickets.get(caller.get("Uniqueid", ""))
            self._pop(Pickup(
                station=station, ticket_id=ticket if isinstance(ticket, int) else None,
                caller_uniqueid=caller.get("Uniqueid", ""), caller_channel=caller.get("Channel", ""),
                caller_number=caller.get("CallerIDNum", ""), operator_channel=op.get("Channel", ""),
                queue="", hold_seconds=0, at=event_time(e), via="BridgeEnter"))

    def _bridge_leave(self, e: Packet) -> None:
        members = self._bridges.get(e.get("BridgeUniqueid", ""))
        if members is not None:
            members.pop(e.get("Uniqueid", ""), None)

    def _bridge_destroy(self, e: Packet) -> None:
        self._bridges.pop(e.get("BridgeUniqueid", ""), None)

    def _agent_complete(self, e: Packet) -> None:
        station = station_of(e.get("Interface", "")) or station_of(e.get("DestChannel", ""))
        uniqueid = e.get("Uniqueid", "")
        pickup = self._popped.get(f"{uniqueid} {station}")
        if station and isinstance(pickup, Pickup) and self._on_call_ended:
            self._on_call_ended(CallEnded(station, uniqueid, pickup.ticket_id, event_time(e)))

    def _pop(self, pickup: Pickup) -> None:
        key = f"{pickup.caller_uniqueid} {pickup.station}"
        if key in self._popped:
            return  # AgentConnect then BridgeEnter (or a catch-up after reconnect): one pop
        self._popped.remember(key, pickup)
        log.info("operator %s picked up caller %s (ticket %s, via %s)", pickup.station,
                 pickup.caller_uniqueid, pickup.ticket_id, pickup.via)
        self._on_pickup(pickup)

    # -- catch-up after a reconnect ------------------------------------------------------------

    def catch_up(self, channels: Sequence[Packet], ticket_of: Callable[[str], int | None]) -> None:
        """Pops for calls bridged to an operator while the AMI link was down.

        ``channels`` are CoreShowChannel events; ``ticket_of(channel)`` reads the caller channel's
        TICKET_ID (AMI Getvar). Calls already popped are skipped."""
        by_bridge: dict[str, list[Packet]] = {}
        for ch in channels:
            if ch.get("BridgeId"):
                by_bridge.setdefault(ch["BridgeId"], []).append(ch)
        for members in by_bridge.values():
            ops = [c for c in members if station_of(c.get("Channel", ""))]
            callers = [c for c in members if not station_of(c.get("Channel", ""))]
            if len(ops) != 1 or len(callers) != 1:
                continue
            op, caller = ops[0], callers[0]
            station = station_of(op["Channel"])
            assert station is not None
            uniqueid = caller.get("Uniqueid", "")
            if f"{uniqueid} {station}" in self._popped:
                continue
            ticket = self._tickets.get(uniqueid)
            ticket_id = ticket if isinstance(ticket, int) else ticket_of(caller.get("Channel", ""))
            self._pop(Pickup(
                station=station, ticket_id=ticket_id, caller_uniqueid=uniqueid,
                caller_channel=caller.get("Channel", ""), caller_number=caller.get("CallerIDNum", ""),
                operator_channel=op.get("Channel", ""), queue="", hold_seconds=0, at=time.time(),
                via="catch-up"))


_HANDLERS: dict[str, Callable[[QueueFollower, Packet], None]] = {
    "UserEvent": QueueFollower._user_event,
    "AgentConnect": QueueFollower._agent_connect,
    "BridgeEnter": QueueFollower._bridge_enter,
    "BridgeLeave": QueueFollower._bridge_leave,
    "BridgeDestroy": QueueFollower._bridge_destroy,
    "AgentComplete": QueueFollower._agent_complete,
}
