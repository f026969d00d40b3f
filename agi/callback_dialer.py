"""The callback dialer: claims due jobs, originates calls over AMI with pacing, follows each call by
its channel id, and records how every attempt ended.

OriginateResponse ``Reason`` is the last control frame the outgoing channel saw (Asterisk's
AST_CONTROL_* values, checked on the Asterisk 16 here by tests/e2e/test_callbacks.py):
0 = no such channel / not reachable at all, 1 = hung up before answering, 3 = ringing until the
originate timeout (no answer), 4 = answered, 5 = busy, 8 = congestion.

One process may run several dialers (threads) or several processes may share one database
(PostgreSQL): claims, leases and recovery keep every job on exactly one dialer at a time (see
callbacks.service).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from agi.ami import AmiClient, AmiError
from callbacks import service
from callbacks.models import AttemptResult
from callbacks.outcomes import finish_attempt
from callbacks.rules import CallbackRules, WorkflowDeps
from foundation.db import transaction, utcnow
from foundation.masking import mask_number
from foundation.settings import Settings

log = logging.getLogger(__name__)

REASONS = {0: AttemptResult.FAILED, 1: AttemptResult.NO_ANSWER, 3: AttemptResult.NO_ANSWER,
           4: AttemptResult.ANSWERED, 5: AttemptResult.BUSY, 8: AttemptResult.CONGESTION}
RESPONSE_GRACE_S = 5.0  # after a Hangup, how long to wait for the OriginateResponse
SWEEP_EVERY_S = 5.0
# 即办件 are looked for among the tickets opened in the last ON_CALL_RECENT on every sweep, and among
# all of them when the dialer starts and every CATCH_UP_EVERY_S (one closed on call long after it was
# opened, or while no dialer ran): closed tickets only grow, and a full look costs about 1 ms per
# thousand 即办件 on SQLite and 2 ms on PostgreSQL (bench/on_call_sweep.py), too much every 5 s.
ON_CALL_RECENT = timedelta(days=2)
CATCH_UP_EVERY_S = 3600.0
SCHEDULE_LIMIT = 200
RECONCILE_EVERY_S = 10.0
RECONNECT_MIN_S, RECONNECT_MAX_S = 0.5, 30.0  # AMI reconnect backoff, doubling after each failure

Clock = Callable[[], datetime]


def result_of(reason: int | None) -> AttemptResult:
    return REASONS.get(reason if reason is not None else -1, AttemptResult.FAILED)


@dataclass
class ActiveCall:
    claim: service.Claim
    action_id: str = ""
    sent_at: float = 0.0  # monotonic
    response: str = ""  # Success | Failure
    reason: int | None = None
    hung_up_at: float | None = None
    cause: int | None = None


@dataclass
class DialerStats:
    originated: int = 0
    finished: dict[str, int] = field(default_factory=dict)
    recovered: int = 0


def channel_for(template: str, number: str) -> str:
    # The number was validated (digits, optional +) when claimed: nothing else reaches the channel string.
    return template.replace("{number}", number)


class Dialer:
    def __init__(self, *, settings: Settings, session_factory: sessionmaker[Session], ami: AmiClient,
                 rules: CallbackRules, deps: WorkflowDeps, dialer_id: str, clock: Clock = utcnow) -> None:
        self.settings, self.sf, self.ami = settings, session_factory, ami
        self.rules, self.deps, self.dialer_id, self.clock = rules, deps, dialer_id, clock
        self.active: dict[str, ActiveCall] = {}  # channel id → call
        self.by_action: dict[str, str] = {}  # ActionID → channel id
        self.events: queue.Queue[dict[str, str]] = queue.Queue()
        self.recent: deque[float] = deque()  # monotonic times of originations in the last minute
        self.stats = DialerStats()
        self._last: dict[str, float] = {}
        self._catching_up = False  # a full look for 即办件 found a full batch: keep looking at all of them
        self._unsubscribe: Callable[[], None] | None = None

    # -- AMI events (on the AMI client's event thread: only queue them) ---------------------------
    def _on_event(self, event: dict[str, str]) -> None:
        kind = event.get("Event")
        if kind == "OriginateResponse" or (kind == "Hangup" and event.get("Uniqueid") in self.active):
            self.events.put(event)

    def connect(self) -> None:
        if self._unsubscribe is None:
            self._unsubscribe = self.ami.subscribe(self._on_event)
        if not self.ami.connected:
            self.ami.close(logoff=False)
            self.ami.connect(timeout=10)
            if self.active:
                # Events were lost while the connection was down: ask Asterisk about these calls on this
                # tick instead of waiting for the next reconcile. None is dialled again.
                log.warning("dialer %s: AMI reconnected; checking %d call(s) in progress with Asterisk",
                            self.dialer_id, len(self.active))
                self._last.pop("reconcile", None)

    def close(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self.ami.close()

    # -- the loop ----------------------------------------------------------------------------------
    def run(self, stop: threading.Event) -> None:
        """Until `stop` is set. Calls in progress carry on without us: their survey stores the answer,
        and the leases let the next dialer close their attempts."""
        backoff = RECONNECT_MIN_S
        while not stop.is_set():
            try:
                self.connect()
                self.tick()
            except AmiError as exc:  # connection dropped (EOF, socket error) or refused: reconnect later
                log.warning("dialer %s: AMI unavailable (%s); retrying in %.1f s", self.dialer_id, exc, backoff)
                stop.wait(backoff)
                backoff = min(backoff * 2, RECONNECT_MAX_S)
                continue
            except Exception:
                log.exception("dialer %s: tick failed", self.dialer_id)
            backoff = RECONNECT_MIN_S
            stop.wait(self.settings.callback_poll_s)

    def _due(self, name: str, every_s: float) -> bool:
        now = time.monotonic()
        if now - self._last.get(name, -1e9) >= every_s:
            self._last[name] = now
            return True
        return False

    def tick(self) -> None:
        self._drain()
        if self._due("schedule", SWEEP_EVERY_S):
            full = self._due("catch_up", CATCH_UP_EVERY_S) or self._catching_up
            now = self.clock()
            with transaction(self.sf) as s:
                report = service.schedule_due(s, now=now, rules=self.rules, deps=self.deps, limit=SCHEDULE_LIMIT,
                                              on_call_since=None if full else now - ON_CALL_RECENT)
            self._catching_up = full and len(report.on_call) + len(report.on_call_not_due) >= SCHEDULE_LIMIT
            if report.scheduled or report.closed_without or report.on_call or report.on_call_not_due:
                log.info("callbacks scheduled for %d ticket(s) and %d 即办件; %d closed without a callback, "
                         "%d 即办件 not due", len(report.scheduled), len(report.on_call), len(report.closed_without),
                         len(report.on_call_not_due))
        if self.active and self._due("heartbeat", self.rules.lease.total_seconds() / 4):
            with transaction(self.sf) as s:
                service.renew_leases(s, job_ids=[c.claim.job_id for c in self.active.values()],
                                     dialer_id=self.dialer_id, now=self.clock(), rules=self.rules)
        if self._due("recover", SWEEP_EVERY_S):
            self._recover()
        if self.active and self._due("reconcile", RECONCILE_EVERY_S):
            self._reconcile()
        self._dial()

    # -- dialling ----------------------------------------------------------------------------------
    def _room(self) -> int:
        now = time.monotonic()
        while self.recent and now - self.recent[0] >= 60.0:
            self.recent.popleft()
        per_minute = self.settings.callback_per_minute - len(self.recent)
        if self.recent and now - self.recent[-1] < 60.0 / max(self.settings.callback_per_minute, 1):
            per_minute = 0  # spread the minute's calls out instead of bursting them
        return min(self.settings.callback_max_concurrent - len(self.active), per_minute)

    def _dial(self) -> None:
        # No claim while AMI is down (the drop may come mid-tick): a claim would only wait for reconcile.
        while self._room() > 0 and self.ami.connected:
            with transaction(self.sf) as s:
                claims = service.claim(s, now=self.clock(), dialer_id=self.dialer_id, rules=self.rules,
                                       deps=self.deps, limit=1)
            if not claims:
                return
            self._originate(claims[0])

    def _originate(self, claim: service.Claim) -> None:
        with transaction(self.sf) as s:
            mine = service.still_mine(s, claim=claim, dialer_id=self.dialer_id, now=self.clock(), rules=self.rules)
        if not mine:
            log.warning("callback job %d: claim lapsed before dialling; not dialled", claim.job_id)
            return
        # Our own ActionID, known before sending: an OriginateResponse that arrives after a reconnect
        # (Asterisk sends it to every session) still finds its call.
        call = ActiveCall(claim, action_id=f"cb-{claim.channel_id}", sent_at=time.monotonic())
        self.active[claim.channel_id] = call
        self.by_action[call.action_id] = claim.channel_id
        template = self.settings.callback_channel
        local = template.startswith("Local/")
        try:
            self.ami.originate(
                channel_for(template, claim.number), context="callback", exten="s", priority=1,
                caller_id=self.settings.callback_caller_id, timeout_ms=self.settings.callback_ring_s * 1000,
                async_=True, channel_id=claim.channel_id,
                other_channel_id=f"{claim.channel_id}-2" if local else None,
                variables={"CALLBACK_JOB": claim.job_id, "CALLBACK_TICKET": claim.ticket_id},
                ActionID=call.action_id,
            )
        except AmiError as exc:
            if isinstance(exc.packet, dict) and exc.packet.get("Response", "").lower() == "error":
                # Refused outright (bad channel technology...): no call exists.
                log.error("callback job %d: originate refused: %s", claim.job_id, exc)
                self._finish(claim.channel_id, AttemptResult.FAILED)
                return
            # Connection trouble: the Originate may have reached Asterisk. The call stays active (lease
            # renewed), never dialled again; reconcile resolves it from Asterisk's channels after reconnecting.
            self.recent.append(call.sent_at)
            raise
        self.recent.append(call.sent_at)
        self.stats.originated += 1
        log.info("callback job %d attempt %d: dialling %s (channel id %s)", claim.job_id, claim.attempt_no,
                 mask_number(claim.number), claim.channel_id)

    # -- following calls ---------------------------------------------------------------------------
    def _drain(self) -> None:
        while True:
            try:
                event = self.events.get_nowait()
            except queue.Empty:
                break
            if event.get("Event") == "OriginateResponse":
                cid = self.by_action.get(event.get("ActionID", ""))
                call = self.active.get(cid or "")
                if call is None:
                    continue
                call.response = event.get("Response", "")
                call.reason = _int(event.get("Reason"))
                if call.response.lower() != "success":
                    self._finish(call.claim.channel_id, result_of(call.reason))
            else:
                call = self.active.get(event.get("Uniqueid", ""))
                if call is not None:
                    call.hung_up_at, call.cause = time.monotonic(), _int(event.get("Cause"))
        now = time.monotonic()
        for call in list(self.active.values()):
            if call.hung_up_at is None:
                continue
            if call.response.lower() == "success":
                self._finish(call.claim.channel_id, AttemptResult.NO_RESPONSE)  # answered; the DB knows the rest
            elif now - call.hung_up_at > RESPONSE_GRACE_S:
                self._finish(call.claim.channel_id, result_of(call.reason))

    def _finish(self, channel_id: str, result: AttemptResult) -> None:
        call = self.active.pop(channel_id, None)
        if call is None:
            return
        self.by_action.pop(call.action_id, None)
        with transaction(self.sf) as s:
            state = finish_attempt(s, channel_id=channel_id, result=result, now=self.clock(), rules=self.rules,
                                   deps=self.deps, reason_code=call.reason, hangup_cause=call.cause)
        self.stats.finished[str(result)] = self.stats.finished.get(str(result), 0) + 1
        log.info("callback job %d attempt %d: %s (reason %s, cause %s); job %s", call.claim.job_id,
                 call.claim.attempt_no, result, call.reason, call.cause, state)

    def live_channels(self) -> set[str]:
        """Uniqueids and Linkedids of every channel up in Asterisk now (raises AmiError if unknown)."""
        ids: set[str] = set()
        for ev in self.ami.action_list("CoreShowChannels"):
            ids.update(v for v in (ev.get("Uniqueid"), ev.get("Linkedid")) if v)
        return ids

    def _is_up(self, channel_id: str, live: set[str]) -> bool:
        return bool({channel_id, f"{channel_id}-2"} & live)

    def _reconcile(self) -> None:
        """Calls whose end we did not see (events lost while AMI reconnected): ask Asterisk."""
        live = self.live_channels()
        limit = self.settings.callback_ring_s + 2 * RESPONSE_GRACE_S
        for cid, call in list(self.active.items()):
            if self._is_up(cid, live):
                continue
            if call.response.lower() == "success":
                self._finish(cid, AttemptResult.NO_RESPONSE)
            elif time.monotonic() - call.sent_at > limit:
                self._finish(cid, AttemptResult.INTERRUPTED)

    def _recover(self) -> None:
        with transaction(self.sf) as s:
            expired = [e for e in service.expired_claims(s, now=self.clock(), rules=self.rules)
                       if e.channel_id not in self.active]
        if not expired:
            return
        live = self.live_channels()  # no AMI, no certainty: AmiError leaves every claim as it is
        for e in expired:
            with transaction(self.sf) as s:
                if self._is_up(e.channel_id, live):
                    service.hold_expired(s, expired=e, now=self.clock(), rules=self.rules)
                elif service.recover(s, expired=e, now=self.clock(), rules=self.rules, deps=self.deps):
                    self.stats.recovered += 1


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None
