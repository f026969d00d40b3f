"""Operations endpoints: Prometheus ``/metrics`` and readiness ``/ready`` (liveness is ``/health``).

Every gauge is computed from the database at scrape time, so any number of API workers report the
same values and nothing is lost when a process restarts. Turn latencies come from the AGI call
processes through the spool in foundation.turn_spool. The registry is this app's own (built when the
app is composed): no process-global prometheus_client state.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from asr.client import RemoteEngine
from asr.errors import RecognitionError
from asr.model import model_files_present
from asr.whisper import model_files_present as whisper_files_present
from callbacks.models import CallbackJob, JobState
from foundation.db import read_only
from foundation.migrate import alembic_config
from foundation.settings import Settings
from foundation.turn_spool import TurnLatencyReader
from tickets.models import Call, CallOutcome, Ticket
from tickets.states import TicketStatus

log = logging.getLogger(__name__)

# A call row still 'in_progress' long after any call could last belongs to a process that died
# (power cut, kill -9): it is not a call in progress.
STALE_CALL_AFTER = timedelta(hours=6)
_PROBE_TIMEOUT_S = 0.5


class HotlineCollector(Collector):
    """Scrape-time gauges from the database plus the turn-latency histogram from the spool."""

    def __init__(self, factory: sessionmaker[Session], turns: TurnLatencyReader,
                 recognition: RemoteEngine | None = None) -> None:
        self._factory = factory
        self._turns = turns
        self._recognition = recognition

    def collect(self) -> Iterator[Metric]:
        now = datetime.now(UTC)
        up = GaugeMetricFamily("hotline_database_up", "1 if the database answered this scrape")
        try:
            with read_only(self._factory) as session:
                families = list(_database_families(session, now))
            up.add_metric([], 1)
        except Exception as exc:  # a scrape must still answer (with database_up 0) when the DB is down
            log.warning("metrics: database unavailable: %s", exc)
            families = []
            up.add_metric([], 0)
        yield up
        yield from families
        yield _turn_histogram(self._turns)
        if self._recognition is not None:
            yield from _recognition_families(self._recognition)


def _recognition_families(service: RemoteEngine) -> Iterator[Metric]:
    """The host's recognition service: which engine serves, how its turns ended, its queue."""
    up = GaugeMetricFamily("hotline_asr_service_up", "1 if the recognition service answered this scrape")
    try:
        status = service.service_status()
    except RecognitionError as exc:
        log.warning("metrics: recognition service: %s", exc)
        up.add_metric([], 0)
        yield up
        return
    up.add_metric([], 1)
    yield up
    info = GaugeMetricFamily("hotline_asr_engine_info", "The engine and model the recognition service runs",
                             labels=["model", "available"])
    info.add_metric([str(status.get("model", "")), str(bool(status.get("available"))).lower()], 1)
    yield info
    turns = CounterMetricFamily("hotline_asr_turns", "Turns the recognition service answered, by result "
                                "(ok, rejected by the guards, busy: sent to a person by the queue bound, "
                                "unavailable, failed, dropped)", labels=["result"])
    for result in ("ok", "rejected", "busy", "unavailable", "failed", "dropped"):
        turns.add_metric([result], float(status.get("turns", {}).get(result, 0)))
    yield turns
    queue = status.get("queue")
    if queue:
        yield GaugeMetricFamily("hotline_asr_queue_depth", "Utterances waiting to be decoded", value=queue["depth"])
        yield GaugeMetricFamily("hotline_asr_expected_wait_seconds", "Wait a new utterance would have for its text",
                                value=queue["expected_wait_s"])
        yield GaugeMetricFamily("hotline_asr_decode_seconds", "Recent decode time per batch (moving average)",
                                value=queue["decode_s_ewma"])


def _database_families(session: Session, now: datetime) -> Iterator[Metric]:
    by_state = dict.fromkeys((str(s) for s in TicketStatus), 0)
    for status, count in session.execute(select(Ticket.status, func.count()).group_by(Ticket.status)):
        by_state[str(status)] = int(count)
    tickets = GaugeMetricFamily("hotline_tickets", "Tickets by workflow state", labels=["state"])
    for state, count in sorted(by_state.items()):
        tickets.add_metric([state], count)
    yield tickets

    overdue = session.scalar(select(func.count()).select_from(Ticket).where(
        Ticket.status != TicketStatus.CLOSED, Ticket.resolve_by.is_not(None), Ticket.resolve_by < now))
    yield GaugeMetricFamily("hotline_tickets_overdue", "Open tickets past their resolution deadline",
                            value=int(overdue or 0))

    in_progress = session.scalar(select(func.count()).select_from(Call).where(
        Call.outcome == CallOutcome.IN_PROGRESS, Call.started_at >= now - STALE_CALL_AFTER))
    yield GaugeMetricFamily("hotline_calls_in_progress", "Intake calls the bot is serving now",
                            value=int(in_progress or 0))

    due = session.scalar(select(func.count()).select_from(CallbackJob).where(
        CallbackJob.state == JobState.PENDING, CallbackJob.next_attempt_at <= now))
    waiting = session.scalar(select(func.count()).select_from(CallbackJob).where(
        CallbackJob.state == JobState.PENDING, CallbackJob.next_attempt_at > now))
    dialing = session.scalar(select(func.count()).select_from(CallbackJob).where(
        CallbackJob.state == JobState.DIALING))
    queue = GaugeMetricFamily("hotline_dialer_queue", "Callback (回访) jobs: due now, waiting for their time, "
                              "being dialled", labels=["state"])
    queue.add_metric(["due"], int(due or 0))
    queue.add_metric(["waiting"], int(waiting or 0))
    queue.add_metric(["dialing"], int(dialing or 0))
    yield queue


def _turn_histogram(turns: TurnLatencyReader) -> HistogramMetricFamily:
    hist = HistogramMetricFamily("hotline_turn_latency_seconds",
                                 "End of the caller's speech to the start of the next prompt", labels=["purpose"])
    histogram = turns.refresh()
    for purpose in sorted(histogram.counts):
        hist.add_metric([purpose], histogram.cumulative(purpose), histogram.sums[purpose])
    return hist


# -- readiness ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Readiness:
    """What /ready checks. Script heads are read once: they cannot change under a running process."""

    settings: Settings
    factory: sessionmaker[Session]
    script_heads: frozenset[str]
    recognition: RemoteEngine | None = None

    def check(self) -> tuple[bool, dict[str, Any]]:
        checks: dict[str, Any] = {}
        ready = True
        try:
            with read_only(self.factory) as session:
                session.execute(text("SELECT 1"))
                current = frozenset(MigrationContext.configure(session.connection()).get_current_heads())
            checks["database"] = "ok"
            at_head = current == self.script_heads
            checks["migrations"] = "ok" if at_head else {
                "database": sorted(current), "code": sorted(self.script_heads)}
            ready = ready and at_head
        except Exception as exc:
            checks["database"] = f"unavailable: {type(exc).__name__}"
            checks["migrations"] = "unknown"
            ready = False
        # Without a model calls still work (recorded, transcribed by a person): reported, not fatal.
        checks["asr"] = _asr_status(self.settings, self.recognition)
        if self.settings.ready_requires_agi:
            host, port = self.settings.agi_host, self.settings.agi_port
            agi_ok = _port_listening(host, port)
            checks["agi"] = "ok" if agi_ok else f"nothing listening on {host}:{port}"
            ready = ready and agi_ok
        return ready, checks


def _asr_status(settings: Settings, recognition: RemoteEngine | None) -> str:
    """Which engine and model serve (the service's own word where there is one)."""
    if recognition is not None:
        try:
            status = recognition.service_status()
        except RecognitionError as exc:
            return f"degraded: recognition service not answering ({exc}); calls go to a person"
        if not status.get("available"):
            return f"degraded: {status.get('status', 'no engine')} (calls go to a person)"
        return f"ok: {status.get('model', '')} ({status.get('status', '')})"
    if settings.asr_engine not in ("auto", "vosk", "whisper"):
        return f"engine {settings.asr_engine}"
    if settings.asr_engine != "whisper" and model_files_present(settings.vosk_model_dir):
        return f"ok: vosk ({settings.vosk_model_dir})"
    if settings.asr_engine != "vosk" and whisper_files_present(settings.whisper_model_dir):
        return f"ok: whisper ({settings.whisper_model_dir})"
    return "degraded: no recognition model installed (calls go to a person)"


def _port_listening(host: str, port: int) -> bool:
    """Whether the FastAGI server listens. On this machine: read the kernel's socket table, since a
    connection would be served as a call (a forked process, an error in the log) on every probe."""
    try:
        local = ipaddress.ip_address(socket.gethostbyname(host)).is_loopback or host in ("0.0.0.0", "::")
    except (OSError, ValueError):
        return False
    if local:
        listening = _listening_ports()
        if listening is not None:
            return port in listening
    try:
        with socket.create_connection((host, port), timeout=_PROBE_TIMEOUT_S):
            return True
    except OSError:
        return False


def _listening_ports() -> set[int] | None:
    ports: set[int] = set()
    found = False
    for table in (Path("/proc/net/tcp"), Path("/proc/net/tcp6")):
        try:
            lines = table.read_text().splitlines()[1:]
        except OSError:
            continue
        found = True
        for line in lines:
            fields = line.split()
            if len(fields) > 3 and fields[3] == "0A":  # TCP_LISTEN
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports if found else None


# -- the router --------------------------------------------------------------------------------


def router_for(settings: Settings, factory: sessionmaker[Session]) -> APIRouter:
    """/metrics and /ready for one app, with their registry and spool reader built here, once."""
    registry = CollectorRegistry(auto_describe=False)
    recognition = (RemoteEngine(settings.asr_socket, connect_timeout_s=_PROBE_TIMEOUT_S)
                   if settings.asr_service else None)
    registry.register(HotlineCollector(factory, TurnLatencyReader(settings.home), recognition))
    script = ScriptDirectory.from_config(alembic_config(settings.db_url))
    readiness = Readiness(settings, factory, frozenset(script.get_heads()), recognition)
    router = APIRouter(tags=["operations"])

    @router.get("/metrics", response_class=Response,
                responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text format"}})
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    @router.get("/ready", responses={503: {"description": "not ready: see the failing checks"}})
    def ready() -> JSONResponse:
        ok, checks = readiness.check()
        return JSONResponse({"status": "ready" if ok else "not_ready", "checks": checks},
                            status_code=200 if ok else 503)

    return router
