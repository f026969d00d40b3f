"""Operations: /metrics (gauges from the database, turn latency from the AGI spool), /ready, and JSON
logs carrying call and ticket ids with numbers masked."""

from __future__ import annotations

import json
import logging
import multiprocessing
import socket
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from asr.engine import CallInfo
from callbacks.models import CallbackJob, JobState
from foundation import logs
from foundation.db import transaction
from foundation.masking import mask_number
from foundation.settings import Settings
from foundation.turn_spool import TurnLatencyReader, record_turn, spool_dir
from ivr_flows.intake import run_intake
from ivr_flows.ports import CallServices
from tests.flows.conftest import CALLER
from tests.flows.fakes import FakeChannel, Step
from tickets import service
from tickets.models import Call, Ticket
from tickets.schemas import TicketDraft
from tickets.states import TicketStatus


def scrape(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    r = client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    out = {}
    for family in text_string_to_metric_families(r.text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


@pytest.fixture
def client(settings: Settings, session_factory: sessionmaker[Session]) -> TestClient:
    return TestClient(create_app(settings.model_copy(update={"ready_requires_agi": False}), session_factory))


def _ticket(factory: sessionmaker[Session], status: TicketStatus, *, resolve_by: datetime | None = None) -> int:
    with transaction(factory) as s:
        t = service.open_ticket(s, draft=TicketDraft(transcript="路灯坏了", caller_number="13812345678"), actor="t")
        t.status = status
        t.resolve_by = resolve_by
        return t.id


def test_gauges_follow_the_database(client: TestClient, session_factory: sessionmaker[Session]) -> None:
    now = datetime.now(UTC)
    _ticket(session_factory, TicketStatus.ACCEPTED)
    _ticket(session_factory, TicketStatus.ACCEPTED, resolve_by=now - timedelta(hours=1))  # overdue
    _ticket(session_factory, TicketStatus.CLOSED, resolve_by=now - timedelta(days=1))  # closed: not overdue
    tid = _ticket(session_factory, TicketStatus.DISPATCHED, resolve_by=now + timedelta(days=1))
    with transaction(session_factory) as s:
        live = service.start_call(s, channel="c1", uniqueid="1", caller_number="1", dialed_number="12345")
        stale = service.start_call(s, channel="c2", uniqueid="2", caller_number="1", dialed_number="12345")
        stale.started_at = now - timedelta(days=2)  # a process that died mid-call long ago
        service.start_call(s, channel="c3", uniqueid="3", caller_number="1", dialed_number="12345").outcome = "hangup"
        jobs = ((JobState.PENDING, now - timedelta(minutes=1)), (JobState.PENDING, now - timedelta(hours=1)),
                (JobState.PENDING, now + timedelta(hours=1)), (JobState.DIALING, now))
        for round_, (state, at) in enumerate(jobs, start=1):
            s.add(CallbackJob(ticket_id=tid, round=round_, number="13812345678", state=state, next_attempt_at=at))
    assert live.id
    m = scrape(client)
    assert m[("hotline_database_up", ())] == 1
    assert m[("hotline_tickets", (("state", "accepted"),))] == 2
    assert m[("hotline_tickets", (("state", "closed"),))] == 1
    assert m[("hotline_tickets", (("state", "dispatched"),))] == 1
    assert m[("hotline_tickets", (("state", "signed"),))] == 0  # every state is reported, zero or not
    assert m[("hotline_tickets_overdue", ())] == 1
    assert m[("hotline_calls_in_progress", ())] == 1
    assert m[("hotline_dialer_queue", (("state", "due"),))] == 2
    assert m[("hotline_dialer_queue", (("state", "waiting"),))] == 1
    assert m[("hotline_dialer_queue", (("state", "dialing"),))] == 1
    with transaction(session_factory) as s:
        s.get_one(Call, live.id).outcome = "operator"
        s.get_one(Ticket, tid).status = TicketStatus.CLOSED
    m = scrape(client)
    assert m[("hotline_calls_in_progress", ())] == 0
    assert m[("hotline_tickets", (("state", "closed"),))] == 2


def _spool_writer(home: str, n: int, purpose: str) -> None:
    for i in range(n):
        record_turn(Path(home), 100.0 + i, purpose)


def test_turn_spool_from_many_processes(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_spool_writer, args=(str(tmp_path), 200, p)) for p in ("request", "confirm") * 3]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    hist = TurnLatencyReader(tmp_path).refresh()
    assert hist.cumulative("request")[-1] == ("+Inf", 600)
    assert hist.cumulative("confirm")[-1] == ("+Inf", 600)
    # 100..299 ms: all under 0.5 s, none under 0.1 s
    assert dict(hist.cumulative("request"))["0.1"] == 3 and dict(hist.cumulative("request"))["0.5"] == 600


def test_turn_spool_reads_each_line_once_and_skips_garbage(tmp_path: Path) -> None:
    reader = TurnLatencyReader(tmp_path)
    record_turn(tmp_path, 300, "request")
    assert reader.refresh().cumulative("request")[-1] == ("+Inf", 1)
    assert reader.refresh().cumulative("request")[-1] == ("+Inf", 1)  # not counted twice
    day = datetime.now(UTC).strftime("%Y%m%d")
    with (spool_dir(tmp_path) / f"turns-{day}.log").open("ab") as f:
        f.write(b"garbage\n1 nan request\n1 -5 request\n\xff\xfe x y\n1 12")  # the last line is half written
    reader.refresh()
    assert reader.skipped_lines == 4
    with (spool_dir(tmp_path) / f"turns-{day}.log").open("ab") as f:
        f.write(b"00 request\n")  # the half line completes: 1200 ms
    hist = reader.refresh()
    assert hist.cumulative("request")[-1] == ("+Inf", 2) and dict(hist.cumulative("request"))["1.0"] == 1
    record_turn(tmp_path, float("inf"), "request")  # ignored, never raises
    assert reader.refresh().cumulative("request")[-1] == ("+Inf", 2)


def test_old_spool_files_are_deleted_once_read(tmp_path: Path) -> None:
    old = datetime.now(UTC) - timedelta(days=5)
    record_turn(tmp_path, 200, "place", now=old.timestamp())
    record_turn(tmp_path, 200, "place")
    reader = TurnLatencyReader(tmp_path, keep_days=2)
    assert reader.refresh().cumulative("place")[-1] == ("+Inf", 2)
    assert len(list(spool_dir(tmp_path).iterdir())) == 1


def test_spool_write_failure_never_reaches_the_call(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    blocker = tmp_path / "home"
    blocker.write_text("a file where the home directory should be")
    record_turn(blocker, 10, "request")  # must not raise
    assert "turn latency not spooled" in caplog.text


def test_intake_call_feeds_the_latency_histogram_and_json_logs(
        make_services: Callable[..., CallServices], speech: Callable[[str], bytes],
        session_factory: sessionmaker[Session], settings: Settings, tmp_path: Path) -> None:
    log_file = tmp_path / "json.log"
    handler = logging.FileHandler(log_file, encoding="utf-8")
    handler.setFormatter(logs.JsonFormatter())
    handler.addFilter(logs.MaskNumbers())
    handler.addFilter(logs.CallContext())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        request = "龙华区金盘路的路灯坏了好几天了晚上很黑"
        services = make_services([request, "对"])
        chan = FakeChannel([Step(speech(request)), Step(speech("对"))])
        run_intake(chan, services, channel_name="Local/s@citizen-0001;1", uniqueid="1700000000.1",
                   caller=CALLER, dialed="12345")
        logging.getLogger("tests.ops").info("caller %s again", CALLER)
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        handler.close()
    client = TestClient(create_app(settings.model_copy(update={"ready_requires_agi": False}), session_factory))
    m = scrape(client)
    turns = sum(v for (name, labels), v in m.items() if name == "hotline_turn_latency_seconds_count")
    assert turns >= 2  # after the request and after the confirmation
    assert m[("hotline_turn_latency_seconds_count", (("purpose", "request"),))] >= 1

    entries = [json.loads(line) for line in log_file.read_text(encoding="utf-8").splitlines()]
    with session_factory() as s:
        call = s.query(Call).one()
    opened = [e for e in entries if "opened ticket" in e["msg"]]
    assert opened and opened[0]["call_id"] == call.id and opened[0]["ticket_id"] == call.ticket_id
    assert all(e.get("call_id") == call.id for e in entries if e["logger"].startswith("ivr_flows"))
    assert CALLER not in log_file.read_text(encoding="utf-8")
    assert any(f"caller {mask_number(CALLER)} again" == e["msg"] for e in entries)


def test_setup_json_writes_masked_json_lines(tmp_path: Path) -> None:
    root = logging.getLogger()
    saved, level = list(root.handlers), root.level
    try:
        logs.setup("INFO", tmp_path / "h.log", fmt="json")
        logs.bind(call_id="c0ffee", ticket_id=42)
        try:
            raise RuntimeError("number 13812345678 in a traceback")
        except RuntimeError:
            logging.getLogger("x").exception("failed for %s", "+8613812345678")
        for h in root.handlers:
            h.flush()
        entry = json.loads((tmp_path / "h.log").read_text(encoding="utf-8").splitlines()[-1])
        assert entry["call_id"] == "c0ffee" and entry["ticket_id"] == 42 and entry["level"] == "ERROR"
        assert "13812345678" not in json.dumps(entry) and "138****5678" in entry["exc"]
        with pytest.raises(ValueError, match="log format"):
            logs.setup("INFO", None, fmt="xml")
    finally:
        for h in list(root.handlers):
            root.removeHandler(h)
            h.close()
        for h in saved:
            root.addHandler(h)
        root.setLevel(level)


# -- readiness ---------------------------------------------------------------------------------


def test_ready_when_database_at_head(client: TestClient) -> None:
    r = client.get("/ready")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "ready" and body["checks"]["database"] == "ok" and body["checks"]["migrations"] == "ok"
    assert "asr" in body["checks"] and "agi" not in body["checks"]


def test_health_ready_and_metrics_answer_while_a_writer_holds_the_database(
        client: TestClient, settings: Settings, session_factory: sessionmaker[Session],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Probes read a snapshot: a long write (a sweep, a busy SQLite) must not make an instance look dead."""
    _ticket(session_factory, TicketStatus.DISPATCHED)
    with session_factory() as writer, writer.begin():  # SQLite: BEGIN IMMEDIATE, the write lock is held
        writer.execute(text("UPDATE tickets SET summary = 'x'"))
        assert client.get("/health").json() == {"status": "ok", "database": "ok"}
        ready = client.get("/ready")
        assert ready.status_code == 200 and ready.json()["checks"]["database"] == "ok", ready.text
        assert scrape(client)[("hotline_database_up", ())] == 1


def test_probe_sessions_refuse_writes(session_factory: sessionmaker[Session]) -> None:
    from sqlalchemy.exc import DBAPIError

    from foundation.db import read_only

    with pytest.raises(DBAPIError), read_only(session_factory) as s:
        s.execute(text("UPDATE tickets SET summary = 'x'"))


def test_not_ready_when_agi_is_not_listening_then_ready_when_it_is(settings: Settings,
                                                                   session_factory: sessionmaker[Session]) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        port = listener.getsockname()[1]
        app = create_app(settings.model_copy(update={"agi_port": port, "ready_requires_agi": True}), session_factory)
        client = TestClient(app)
        r = client.get("/ready")
        assert r.status_code == 503 and "nothing listening" in r.json()["checks"]["agi"]
        listener.listen(1)
        r = client.get("/ready")
        assert r.status_code == 200 and r.json()["checks"]["agi"] == "ok"


def test_not_ready_when_migrations_are_behind(client: TestClient, session_factory: sessionmaker[Session]) -> None:
    with transaction(session_factory) as s:
        s.execute(text("DELETE FROM alembic_version"))  # several branch heads until the lead re-chains them
        s.execute(text("INSERT INTO alembic_version (version_num) VALUES ('0002')"))
    r = client.get("/ready")
    assert r.status_code == 503 and r.json()["checks"]["migrations"]["database"] == ["0002"]


def test_not_ready_and_metrics_still_answer_when_the_database_is_gone(tmp_path: Path) -> None:
    s = Settings(home=tmp_path / "home", database_url=f"sqlite:///{tmp_path}/missing/dir/db.sqlite",
                 ready_requires_agi=False)
    from foundation.db import open_database
    db = open_database(s.db_url)
    client = TestClient(create_app(s, db.session_factory))
    r = client.get("/ready")
    assert r.status_code == 503 and r.json()["checks"]["database"].startswith("unavailable")
    m = scrape(client)
    assert m[("hotline_database_up", ())] == 0


# -- recognition -------------------------------------------------------------------------------


def test_ready_and_metrics_say_which_engine_serves_and_how_its_turns_ended(
        settings: Settings, session_factory: sessionmaker[Session], tmp_path: Path) -> None:
    import threading

    from asr.client import RemoteEngine
    from asr.service import RecognitionService
    from tests.doubles.scripted_asr import ScriptedAsrEngine

    app_settings = settings.model_copy(update={"ready_requires_agi": False, "asr_socket_path": tmp_path / "a.sock"})
    client = TestClient(create_app(app_settings, session_factory))
    body = client.get("/ready").json()
    assert body["checks"]["asr"].startswith("degraded: recognition service not answering")
    assert scrape(client)[("hotline_asr_service_up", ())] == 0

    service = RecognitionService(ScriptedAsrEngine({"*": ["路灯坏了"]}), tmp_path / "a.sock")
    threading.Thread(target=service.serve_forever, daemon=True).start()
    try:
        call = CallInfo(call_id="c", caller="", turn=1, purpose="request")
        rec = RemoteEngine(tmp_path / "a.sock").recognizer(grammar=None, call=call)
        rec.accept(bytes(16000))  # silence: the double answers ''
        assert rec.result() == ""
        assert client.get("/ready").json()["checks"]["asr"].startswith("ok: ScriptedAsrEngine")
        m = scrape(client)
        assert m[("hotline_asr_service_up", ())] == 1
        assert m[("hotline_asr_turns_total", (("result", "ok"),))] == 1
        assert m[("hotline_asr_engine_info", (("available", "true"), ("model", "ScriptedAsrEngine")))] == 1
    finally:
        service.shutdown()

