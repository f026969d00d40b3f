"""Faults on a real stack (Asterisk + AGI server + API, simulated callers through AMI): the AGI
server killed mid-call, the spool full, Asterisk dying, the database gone for 30 s."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import pytest
from sqlalchemy import select

from accounts import service as accounts
from accounts.roles import Role
from agi.ami import AmiClient
from foundation.db import open_database, transaction
from foundation.settings import Settings
from hotline.asterisk import ami_secret_for
from hotline.simcall import CallResult, place_call
from hotline.stack import Stack, settings_env
from ivr_flows.replay import LOST_REASON
from tests.e2e.conftest import _run_stack, free_port
from tests.faults.outages import wait_healthy
from tests.pg import PostgresServer
from tickets import service
from tickets.models import Call, Recording, Ticket
from tickets.schemas import TicketDetail

pytestmark = pytest.mark.asterisk
T = TypeVar("T")

LAMP = "龙华区金盘路的路灯坏了好几天了晚上很黑"
WAGES, PLACE = "公司拖欠我三个月工资不发", "美兰区白龙街道"
SCRIPTS = {"13700000001": [WAGES, PLACE, "对"], "*": [LAMP, "对"]}


def _stack(home: Path, **extra: object) -> Iterator[Stack]:
    script = home / "asr-script.json"
    script.write_text(json.dumps(SCRIPTS, ensure_ascii=False), encoding="utf-8")
    yield from _run_stack(home, asr_engine="tests.doubles.scripted_asr:scripted_engine",
                          asr_engine_options=str(script), journal_replay_interval_s=1, **extra)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    yield from _stack(tmp_path_factory.mktemp("faults-home"))


def _normal_call(stack: Stack, voice: Callable[[str], Path], caller: str = "13700000099") -> CallResult:
    r = place_call(stack.settings, voice(LAMP + "。"), caller=caller, then=[str(voice("对。"))])
    assert r.ticket is not None and r.ticket.confirmed_by_caller, r.as_json()
    assert r.transfer["TicketId"] == str(r.ticket.id)
    return r


def _tree(pid: int) -> list[int]:
    """pid and all its descendants (the AGI server forks one process per call)."""
    found = [pid]
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            found += _tree(int(child))
    return found


def _wait(what: str, check: Callable[[], T | None], timeout: float = 30) -> T:
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def _call_by_caller(settings: Settings, caller: str) -> tuple[Call, list[Recording], TicketDetail | None] | None:
    db = open_database(settings.db_url)
    try:
        with db.session_factory() as s:
            call = s.scalars(select(Call).where(Call.caller_number == caller).order_by(Call.started_at.desc())).first()
            if call is None:
                return None
            recs = list(s.scalars(select(Recording).where(Recording.call_id == call.id).order_by(Recording.turn)))
            ticket = (TicketDetail.model_validate(service.get_ticket(s, ticket_id=call.ticket_id))
                      if call.ticket_id is not None else None)
            return call, recs, ticket
    finally:
        db.engine.dispose()


def test_agi_server_killed_while_the_caller_speaks(stack: Stack, voice: Callable[[str], Path]) -> None:
    """The whole AGI server (parent and call processes) is SIGKILLed during the second turn: the call
    goes to the operator queue, what was said is kept, and the restarted server closes the call with
    an incomplete ticket holding the first turn's transcript, then serves new calls."""
    caller = "13700000001"
    settings = stack.settings
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(place_call, settings, voice(WAGES + "。"), caller=caller,
                              then=[str(voice(PLACE + "。")), str(voice("对。"))], timeout_s=90)

        def speaking_place() -> bool:
            got = _call_by_caller(settings, caller)
            return got is not None and any(r.purpose == "place" for r in got[1])

        _wait("the place turn", speaking_place, 60)
        time.sleep(1.0)  # the caller is now saying the place
        server = stack.children["agi"]
        victims = _tree(server.pid)
        assert len(victims) >= 2, "the call's own process was not found"
        for pid in victims:
            os.kill(pid, signal.SIGKILL)
        server.wait(10)
        assert stack.supervise_once()  # what `hotline up` does every second: restarts the AGI server
        r = pending.result(timeout=120)
    assert r.transfer["Target"] == "operator"  # the dialplan's fallback: a person, not silence
    assert "QueueCallerJoin" in [e.get("Event") for e in r.events]

    def recovered() -> tuple[Call, list[Recording], TicketDetail | None] | None:
        got = _call_by_caller(settings, caller)
        return got if got is not None and got[0].outcome != "in_progress" else None

    call, recs, ticket = recovered() or _wait("the restarted server to close the call", recovered)
    assert (call.outcome, call.transfer_reason) == ("operator", LOST_REASON)
    assert [r.purpose for r in recs] == ["request", "place"]
    assert recs[0].transcript == WAGES and all(Path(r.path).exists() for r in recs)
    assert Path(recs[1].path).stat().st_size > 8000  # Asterisk kept recording the caller: nothing lost
    assert ticket is not None and ticket.incomplete and ticket.needs_transcription
    assert ticket.transcript == WAGES and ticket.department_id == "hrss"
    assert not list(settings.journal_dir.glob("*.jsonl"))
    _normal_call(stack, voice)


def _fill(directory: Path) -> None:
    with (directory / "ballast").open("wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass


def test_spool_full(stack: Stack, voice: Callable[[str], Path]) -> None:
    """Recordings and journal on a full filesystem: the call reaches a person at once with a clear
    error in the log, the AGI server does not die (no restart loop), and calls work once space is back."""
    settings = stack.settings
    mounts = [settings.recordings_dir, settings.journal_dir]
    server = stack.children["agi"]
    log_file = settings.logs_dir / "agi.log"  # the stack sends each process's stderr to logs/NAME.log
    log_size = log_file.stat().st_size
    for m in mounts:
        m.mkdir(parents=True, exist_ok=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(m)], check=True)
    try:
        for m in mounts:
            _fill(m)
        t0 = time.monotonic()
        r = place_call(settings, voice(LAMP + "。"), caller="13700000002", then=[str(voice("对。"))], timeout_s=60)
        took = time.monotonic() - t0
        assert r.transfer["Target"] == "operator"
        assert r.transfer["Reason"] == "recording_failed", r.transfer
        assert took < 30  # no rounds of "please repeat" into a recorder that cannot write
        assert stack.supervise_once() and stack.children["agi"] is server and server.poll() is None
        logged = log_file.read_bytes()[log_size:].decode(errors="replace")
        assert "spool full (No space left on device" in logged and "recording failed" in logged
    finally:
        for m in mounts:
            subprocess.run(["umount", "-l", str(m)], check=False)
    _normal_call(stack, voice)
    assert stack.children["agi"] is server  # the same server served throughout


def test_asterisk_dies_and_the_stack_brings_it_back(stack: Stack, voice: Callable[[str], Path]) -> None:
    assert stack.asterisk is not None and stack.asterisk.pid is not None
    os.kill(stack.asterisk.pid, signal.SIGKILL)
    _wait("asterisk to die", lambda: stack.asterisk is not None and not stack.asterisk.running, 10)
    assert stack.supervise_once()  # notices and starts it again on the same configuration
    _wait("the stack to be healthy", stack.healthy, 30)
    _normal_call(stack, voice, caller="13700000003")


def test_asterisk_restarted_by_its_admin(stack: Stack, voice: Callable[[str], Path]) -> None:
    assert stack.asterisk is not None
    pid = stack.asterisk.pid
    stack.asterisk.cli("core restart now")
    time.sleep(1.0)

    def booted() -> bool:
        try:
            return stack.asterisk is not None and "fully booted" in stack.asterisk.cli("core waitfullybooted", 5)
        except Exception:
            return False

    _wait("asterisk to boot again", booted, 60)
    assert stack.supervise_once() and stack.asterisk.pid == pid  # re-executed in place
    _normal_call(stack, voice, caller="13700000004")


@pytest.fixture(scope="module")
def pg_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, PostgresServer]]:
    pg = PostgresServer()
    pg.start()
    try:
        url = pg.create_database("hotline")
        for st in _stack(tmp_path_factory.mktemp("faults-pg-home"), database_url=url):
            yield st, pg
    finally:
        pg.stop()


def _replayed(settings: Settings, caller: str, *, marked: bool = False) -> tuple[Call, TicketDetail]:
    """The caller's call once the journal replay has written its ticket (`marked`: and the 待回拨 mark)."""

    def landed() -> tuple[Call, TicketDetail] | None:
        try:
            got = _call_by_caller(settings, caller)
        except Exception:  # the database is still coming back
            return None
        if got is None or got[2] is None or (marked and not got[2].missed_callback):
            return None
        return got[0], got[2]

    return _wait("the journal replay", landed, 30)


def _assert_one_call_and_ticket(settings: Settings, caller: str) -> None:
    db = open_database(settings.db_url)
    try:
        with db.session_factory() as s:
            assert len(s.scalars(select(Ticket).where(Ticket.caller_number == caller)).all()) == 1
            assert len(s.scalars(select(Call).where(Call.caller_number == caller)).all()) == 1
    finally:
        db.engine.dispose()


def test_database_down_for_30_s(pg_stack: tuple[Stack, PostgresServer], voice: Callable[[str], Path]) -> None:
    """PostgreSQL stops for 30 s while a citizen calls: the caller is heard, read back and handed to a
    person; the AGI server writes the call into the database when it is back: one ticket, no duplicate."""
    stack, pg = pg_stack
    settings = stack.settings
    caller = "13700000005"
    pg.pause()
    t0 = time.monotonic()
    try:
        r = place_call(settings, voice(LAMP + "。"), caller=caller, then=[str(voice("对。"))], timeout_s=60)
        assert r.transfer["Target"] == "operator" and r.transfer["Reason"] == "ticket_confirmed"
        assert r.transfer["TicketId"] == ""  # no ticket number yet: it waits in the journal
        [journal] = list(settings.journal_dir.glob("*.jsonl"))
        assert '"op":"open_ticket"' in journal.read_text(encoding="utf-8")
        time.sleep(max(0.0, 30 - (time.monotonic() - t0)))
    finally:
        pg.resume()

    call, ticket = _replayed(settings, caller)
    assert call.uniqueid == r.uniqueid and call.outcome == "operator"
    assert ticket is not None and ticket.confirmed_by_caller and ticket.transcript == LAMP
    assert [x.purpose for x in ticket.recordings] == ["request", "confirm"]
    assert all(Path(x.path).stat().st_size > 8000 for x in ticket.recordings)
    assert not list(settings.journal_dir.glob("*.jsonl"))
    time.sleep(2.5)  # two more replay passes: nothing is written twice
    _assert_one_call_and_ticket(settings, caller)
    _normal_call(stack, voice, caller="13700000006")  # and calls after the outage get their ticket at once


def test_overflow_while_the_database_is_down(pg_stack: tuple[Stack, PostgresServer],
                                            voice: Callable[[str], Path]) -> None:
    """Nobody at the desk and PostgreSQL stopped: the caller waits out the queue, the overflow leg still
    answers and promises a call back, and keeps the 待回拨 mark in its journal. Once the database is
    back, the call's one ticket carries the mark, once."""
    stack, pg = pg_stack
    settings = stack.settings
    caller = "13700000007"
    ami = AmiClient(settings.ami_host, settings.ami_port, settings.ami_user, ami_secret_for(settings))
    ami.connect(timeout=10)
    members = [f"Local/op{i}@sim-answer/n" for i in range(1, settings.operator_count + 1)]
    for m in members:
        ami.action("QueuePause", Queue=settings.operator_queue, Interface=m, Paused="true", Reason="test")
    pg.pause()
    try:
        r = place_call(settings, voice(LAMP + "。"), caller=caller, then=[str(voice("对。"))], until="hangup",
                       timeout_s=150)
        exits = [e for e in r.events if e.get("UserEvent") == "HotlineQueueExit"]
        assert exits and exits[0]["QueueStatus"] == "TIMEOUT", r.as_json()
        legs = sorted(p.name for p in settings.journal_dir.glob("*.jsonl"))
        assert [n.split(".", 1)[1] for n in legs] == ["jsonl", "overflow.jsonl"], legs  # intake's and the leg's
        assert '"op":"missed_callback"' in (settings.journal_dir / legs[1]).read_text(encoding="utf-8")
    finally:
        pg.resume()
        for m in members:
            ami.action("QueuePause", Queue=settings.operator_queue, Interface=m, Paused="false")
        ami.close()

    call, ticket = _replayed(settings, caller, marked=True)
    assert call.uniqueid == r.uniqueid
    assert ticket.transcript == LAMP and ticket.confirmed_by_caller and ticket.callback_due_by is not None
    assert [e.kind for e in ticket.events].count("missed_callback") == 1
    assert [x.purpose for x in ticket.recordings][:2] == ["request", "confirm"]
    assert not list(settings.journal_dir.glob("*.jsonl"))
    _assert_one_call_and_ticket(settings, caller)


class PopReader:
    """An operator page's Server-Sent Events stream, read in a thread: the pops it received."""

    def __init__(self, api_url: str, station: str, token: str) -> None:
        self.pops: list[dict[str, object]] = []
        self.open = threading.Event()
        parts = urllib.parse.urlsplit(api_url)
        self._conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=60)
        self._conn.request("GET", f"/api/console/stream?station={station}",
                           headers={"Authorization": f"Bearer {token}"})
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        response = self._conn.getresponse()
        if response.status != 200:
            return
        self.open.set()
        try:
            for raw in response:
                line = raw.decode("utf-8").strip()
                if line.startswith("data: "):
                    message = json.loads(line[len("data: "):])
                    if message.get("kind") == "pop":
                        self.pops.append(message)
        except (OSError, ValueError, AttributeError):  # http.client, once closed from another thread
            return

    def close(self) -> None:
        self._conn.close()


def test_a_pop_reaches_an_operator_page_on_a_second_api_instance(
        pg_stack: tuple[Stack, PostgresServer], voice: Callable[[str], Path]) -> None:
    """Two API instances on one PostgreSQL; only the stack's own follows Asterisk. A page connected to
    the other one still gets the pop, with the ticket, when an operator answers."""
    stack, _ = pg_stack
    db = open_database(stack.settings.db_url)
    try:
        with transaction(db.session_factory) as s:
            uid = accounts.create_user(s, username="relay-op", password="relay-pass-1", role=Role.OPERATOR,
                                       display_name="relay").id
            token = accounts.issue_token(s, user_id=uid)
    finally:
        db.engine.dispose()
    other = stack.settings.model_copy(update={"api_port": free_port(), "console_follow_ami": False})
    with (stack.settings.logs_dir / "api-2.log").open("ab") as log_file:
        api2 = subprocess.Popen([sys.executable, "-m", "hotline.cli", "api"], env=settings_env(other),
                                stdout=log_file, stderr=subprocess.STDOUT)
    url2 = f"http://{other.api_host}:{other.api_port}"
    readers: list[PopReader] = []
    try:
        wait_healthy(url2)
        readers = [PopReader(url2, f"op{i}", token) for i in range(1, stack.settings.operator_count + 1)]
        assert all(r.open.wait(10) for r in readers)
        r = _normal_call(stack, voice, caller="13700000010")
        assert r.ticket is not None
        tid = r.ticket.id
        pop = _wait("the pop on the second instance",
                    lambda: next((p for rd in readers for p in rd.pops if _ticket_id(p) == tid), None), 15)
        assert pop["caller_number"] == "13700000010"
    finally:
        for rd in readers:
            rd.close()
        api2.terminate()
        api2.wait(15)


def _ticket_id(pop: dict[str, object]) -> object:
    ticket = pop.get("ticket")
    return ticket.get("id") if isinstance(ticket, dict) else None
