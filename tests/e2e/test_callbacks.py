"""Satisfaction callbacks through real Asterisk: the dialer originates Local channels into simulated
citizens ([sim-callee]) who answer with recorded speech, keys, silence, or are busy / never answer;
outcomes are checked in the database."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from agi.callback_dialer import Dialer
from callbacks.models import CallbackAttempt, CallbackJob
from callbacks.rules import WorkflowDeps
from foundation.db import Database, open_database
from foundation.settings import Settings
from hotline.roots import build_dialer
from hotline.stack import Stack, settings_env
from tests.callbacks.conftest import close_on_call_ticket, report_ticket
from tests.conftest import REPO
from tests.e2e.callback_sim import AmiProxy, Callees, all_day
from tests.e2e.conftest import _run_stack
from tickets.models import Ticket, TicketEvent

pytestmark = pytest.mark.asterisk

SATISFIED, UNHAPPY, DTMF, SILENT, BUSY, NOANSWER, ON_CALL = (f"1370000000{i}" for i in range(1, 8))
KILL = [f"137000001{i:02d}" for i in range(4)]
DROP = [f"137000002{i:02d}" for i in range(4)]
SCRIPTS: dict[str, list[str]] = {
    SATISFIED: ["满意"],
    UNHAPPY: ["不满意", "路灯还是不亮晚上很黑"],
    ON_CALL: ["不满意", "材料清单和窗口说的不一样"],
    **{n: ["基本满意"] for n in KILL + DROP},
}


@pytest.fixture(scope="module")
def cb_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    home = tmp_path_factory.mktemp("callback-home")
    script = home / "asr-script.json"
    script.write_text(json.dumps(SCRIPTS, ensure_ascii=False), encoding="utf-8")
    for st in _run_stack(home, asr_engine="tests.doubles.scripted_asr:scripted_engine",
                         asr_engine_options=str(script), callback_channel="Local/{number}@sim-callee/n",
                         callback_ring_s=4, callback_delay_s=0, callback_backoff_s="1",
                         callback_lease_s=6, callback_poll_s=0.2, callback_per_minute=600):
        st.stop_component("dialer")  # the tests run their own dialers, on a daytime clock
        yield st


@pytest.fixture(scope="module")
def db(cb_stack: Stack) -> Iterator[Database]:
    d = open_database(cb_stack.settings.db_url)
    yield d
    d.engine.dispose()


@pytest.fixture(scope="module")
def deps() -> WorkflowDeps:
    return WorkflowDeps.load()


@pytest.fixture(scope="module")
def callees(cb_stack: Stack) -> Iterator[Callees]:
    c = Callees(cb_stack.settings)
    yield c
    c.close()


class Running:
    """A dialer in a thread of the test process (the real Dialer; only its calling hours never close)."""

    def __init__(self, stack: Stack, settings: Settings | None = None, **rule_overrides: object) -> None:
        self.dialer: Dialer = build_dialer(settings or stack.settings)
        self.dialer.rules = all_day(self.dialer.rules, **rule_overrides)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.dialer.run, args=(self.stop,), daemon=True)

    def __enter__(self) -> Dialer:
        self.thread.start()
        return self.dialer

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(30)
        self.dialer.close()


def _wait_job(sf: sessionmaker[Session], tid: int, timeout: float = 150) -> CallbackJob:
    deadline = time.monotonic() + timeout
    while True:
        with sf() as s:
            job = s.scalars(select(CallbackJob).where(CallbackJob.ticket_id == tid)).one_or_none()
            open_attempts = s.scalars(select(CallbackAttempt).where(CallbackAttempt.result == "open")).all()
            if job is not None and job.state == "done" and not open_attempts:
                return job
        assert time.monotonic() < deadline, f"callback of ticket {tid} not finished in {timeout} s"
        time.sleep(0.3)


def _attempts(sf: sessionmaker[Session], job_id: int) -> list[CallbackAttempt]:
    with sf() as s:
        return list(s.scalars(select(CallbackAttempt).where(CallbackAttempt.job_id == job_id)
                              .order_by(CallbackAttempt.number)))


def _ticket(sf: sessionmaker[Session], tid: int) -> tuple[Ticket, list[TicketEvent]]:
    with sf() as s:
        t = s.get_one(Ticket, tid)
        return t, list(s.scalars(select(TicketEvent).where(TicketEvent.ticket_id == tid).order_by(TicketEvent.id)))


def test_satisfied_by_voice_closes_the_ticket(cb_stack: Stack, db: Database, deps: WorkflowDeps, callees: Callees,
                                              voice: Callable[[str], Path]) -> None:
    callees.set(SATISFIED, voice("满意。"))
    tid = report_ticket(db.session_factory, deps, caller=SATISFIED)
    with Running(cb_stack):
        job = _wait_job(db.session_factory, tid)
    assert (job.outcome, job.attempts) == ("satisfied", 1)
    (a,) = _attempts(db.session_factory, job.id)
    assert (a.result, a.reason_code, a.answered_by) == ("answered", 4, "voice")
    t, events = _ticket(db.session_factory, tid)
    assert (t.status, t.satisfaction) == ("closed", "satisfied")
    assert [e.kind for e in events][-3:] == ["callback_scheduled", "closed", "callback_answered"]
    assert callees.rung[SATISFIED] == 1


def test_dissatisfied_with_a_reason_reopens_and_flags(cb_stack: Stack, db: Database, deps: WorkflowDeps,
                                                      callees: Callees, voice: Callable[[str], Path]) -> None:
    callees.set(UNHAPPY, voice("不满意。"), voice("路灯还是不亮，晚上很黑。"))
    tid = report_ticket(db.session_factory, deps, caller=UNHAPPY)
    with Running(cb_stack):
        job = _wait_job(db.session_factory, tid)
    assert job.outcome == "dissatisfied" and job.reason == "路灯还是不亮晚上很黑"
    t, events = _ticket(db.session_factory, tid)
    assert (t.status, t.department_id, t.satisfaction) == ("dispatched", "urban_mgmt", "dissatisfied")
    assert t.supervision_level >= 1
    reopened = next(e for e in events if e.kind == "reopened")
    assert reopened.reason == "回访不满意：路灯还是不亮晚上很黑"
    (a,) = _attempts(db.session_factory, job.id)
    rec = Path(a.detail["reason_recording"])
    assert rec.exists() and rec.stat().st_size > 8000  # the citizen's reason, kept as audio


def test_on_call_ticket_is_called_back_and_dissatisfied_reopens_it(
        cb_stack: Stack, db: Database, deps: WorkflowDeps, callees: Callees, voice: Callable[[str], Path]) -> None:
    """A 即办件 (closed by the operator during the call) is called back too; 不满意 reopens it to the
    department the router chose, under supervision."""
    callees.set(ON_CALL, voice("不满意。"), voice("材料清单和窗口说的不一样。"))
    tid = close_on_call_ticket(db.session_factory, deps, caller=ON_CALL)
    with Running(cb_stack):
        job = _wait_job(db.session_factory, tid)
    assert (job.kind, job.outcome, job.reason) == ("on_call", "dissatisfied", "材料清单和窗口说的不一样")
    (a,) = _attempts(db.session_factory, job.id)
    assert (a.result, a.reason_code, a.answered_by) == ("answered", 4, "voice")
    t, events = _ticket(db.session_factory, tid)
    assert (t.status, t.department_id, t.satisfaction) == ("dispatched", "housing_fund", "dissatisfied")
    assert t.supervision_level >= 1
    kinds = [e.kind for e in events]
    assert kinds[kinds.index("closed_on_call"):] == ["closed_on_call", "callback_scheduled", "reopened",
                                                      "callback_answered"]
    assert events[-2].reason == "回访不满意：材料清单和窗口说的不一样"
    assert callees.rung[ON_CALL] == 1


def test_silence_then_key_1_is_taken_by_dtmf(cb_stack: Stack, db: Database, deps: WorkflowDeps,
                                             callees: Callees) -> None:
    callees.set(DTMF, "silence", "dtmf:1")
    tid = report_ticket(db.session_factory, deps, caller=DTMF)
    with Running(cb_stack):
        job = _wait_job(db.session_factory, tid)
    (a,) = _attempts(db.session_factory, job.id)
    assert (job.outcome, a.answered_by) == ("satisfied", "dtmf")


def test_silent_citizen_counts_as_no_response_and_ends_unreachable(
        cb_stack: Stack, db: Database, deps: WorkflowDeps, callees: Callees) -> None:
    callees.set(SILENT, "silence")
    tid = report_ticket(db.session_factory, deps, caller=SILENT)
    with Running(cb_stack, max_attempts=2):
        job = _wait_job(db.session_factory, tid, timeout=180)
    assert job.outcome == "unreachable"
    assert [a.result for a in _attempts(db.session_factory, job.id)] == ["no_response", "no_response"]
    t, _ = _ticket(db.session_factory, tid)
    assert t.status == "closed" and t.satisfaction == ""


def test_busy_is_retried_then_unreachable(cb_stack: Stack, db: Database, deps: WorkflowDeps,
                                          callees: Callees) -> None:
    callees.set(BUSY, "busy")
    tid = report_ticket(db.session_factory, deps, caller=BUSY)
    with Running(cb_stack):
        job = _wait_job(db.session_factory, tid)
    attempts = _attempts(db.session_factory, job.id)
    assert [(a.result, a.reason_code) for a in attempts] == [("busy", 5)] * 3
    assert job.outcome == "unreachable" and callees.rung[BUSY] == 3
    t, events = _ticket(db.session_factory, tid)
    assert t.status == "closed" and [e.kind for e in events][-2:] == ["callback_unreachable",
                                                                     "callback_attempts_exhausted"]


def test_never_answering_phone_is_no_answer(cb_stack: Stack, db: Database, deps: WorkflowDeps,
                                            callees: Callees) -> None:
    callees.set(NOANSWER, "noanswer")
    tid = report_ticket(db.session_factory, deps, caller=NOANSWER)
    with Running(cb_stack, max_attempts=1):
        job = _wait_job(db.session_factory, tid)
    (a,) = _attempts(db.session_factory, job.id)
    assert (a.result, a.reason_code, job.outcome) == ("no_answer", 3, "unreachable")


def test_dialer_killed_mid_call_and_restarted_calls_nobody_twice(
        cb_stack: Stack, db: Database, deps: WorkflowDeps, callees: Callees, voice: Callable[[str], Path]) -> None:
    for n in KILL:
        callees.set(n, voice("基本满意。"))
    tids = [report_ticket(db.session_factory, deps, caller=n) for n in KILL]
    env = settings_env(cb_stack.settings)
    env["HOTLINE_CALLBACK_MAX_CONCURRENT"] = "2"  # two calls up when killed, two left for the restart
    env["PYTHONPATH"] = os.pathsep.join(p for p in (env.get("PYTHONPATH"), str(REPO)) if p)

    def spawn() -> subprocess.Popen[bytes]:
        return subprocess.Popen([sys.executable, "-m", "tests.e2e.callback_sim"], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    first = spawn()
    try:
        deadline = time.monotonic() + 60
        while sum(callees.rung[n] for n in KILL) < 2:  # calls are up
            assert time.monotonic() < deadline and first.poll() is None
            time.sleep(0.1)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    second = spawn()
    try:
        jobs = [_wait_job(db.session_factory, tid, timeout=180) for tid in tids]
    finally:
        second.terminate()
        second.wait(15)
    assert [callees.rung[n] for n in KILL] == [1] * len(KILL)  # every citizen rung exactly once
    assert [j.outcome for j in jobs] == ["basically_satisfied"] * len(KILL)
    assert all(j.attempts == 1 for j in jobs)
    with db.session_factory() as s:
        dialers = {a.dialer_id for a in s.scalars(select(CallbackAttempt).where(
            CallbackAttempt.job_id.in_([j.id for j in jobs])))}
    assert len(dialers) == 2  # both processes dialled: the restart really took over


def test_ami_connection_dropped_reconnects_and_calls_nobody_twice(
        cb_stack: Stack, db: Database, deps: WorkflowDeps, callees: Callees, voice: Callable[[str], Path]) -> None:
    """Issue 7: the dialer's AMI connection drops twice, once right after an Originate reached Asterisk
    (its response lost) and once with calls up, and stays refused a while each time. The dialer
    reconnects with backoff, resolves those calls from Asterisk, and rings nobody twice."""
    for n in DROP:
        callees.set(n, voice("基本满意。"))
    tids = [report_ticket(db.session_factory, deps, caller=n) for n in DROP]
    proxy = AmiProxy(cb_stack.settings.ami_host, cb_stack.settings.ami_port)
    settings = cb_stack.settings.model_copy(update={"ami_port": proxy.port, "callback_max_concurrent": 2})

    def outage(seconds: float) -> None:
        proxy.refusing.set()
        proxy.cut()
        time.sleep(seconds)  # the dialer retries, backing off, against a refusing AMI
        proxy.refusing.clear()

    def rung() -> int:
        return sum(callees.rung[n] for n in DROP)

    try:
        proxy.cut_after_originate.set()
        with Running(cb_stack, settings=settings):
            deadline = time.monotonic() + 60
            while proxy.cuts < 1:  # the first Originate passed on to Asterisk, then the line cut
                assert time.monotonic() < deadline
                time.sleep(0.05)
            outage(2.0)
            while rung() < 2:  # the first call, and a call dialled after the reconnect, are up
                assert time.monotonic() < deadline
                time.sleep(0.1)
            outage(2.0)
            jobs = [_wait_job(db.session_factory, tid, timeout=180) for tid in tids]
    finally:
        proxy.close()
    assert [callees.rung[n] for n in DROP] == [1] * len(DROP)  # every citizen rung exactly once
    assert [j.outcome for j in jobs] == ["basically_satisfied"] * len(DROP)
    assert all(j.attempts == 1 for j in jobs)
    assert [a.result for j in jobs for a in _attempts(db.session_factory, j.id)] == ["answered"] * len(DROP)
    assert proxy.refused >= 2 and proxy.connections >= 3  # refused while down, reconnected after each drop
    assert proxy.originates == len(DROP)  # the Originate whose response was lost was not sent again


def test_hotline_dialer_process_runs_and_stops(cb_stack: Stack) -> None:
    """The real `hotline dialer` (real clock): starts, connects to AMI, keeps running, stops on SIGTERM."""
    p = subprocess.Popen([sys.executable, "-m", "hotline.cli", "dialer"], env=settings_env(cb_stack.settings),
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert p.stderr is not None
    seen: list[bytes] = []
    deadline = time.monotonic() + 60
    while not any(b"callback dialer" in line and b"started" in line for line in seen):
        assert time.monotonic() < deadline and p.poll() is None, b"".join(seen).decode(errors="replace")
        seen.append(p.stderr.readline())
    time.sleep(2)  # a few ticks against the real AMI
    assert p.poll() is None
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=20)
    log = (b"".join(seen) + err).decode(errors="replace")
    assert p.returncode == 0, log[-2000:]
    assert "Traceback" not in log and "AMI unavailable" not in log
