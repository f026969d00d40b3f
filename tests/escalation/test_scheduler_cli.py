"""`hotline scheduler` as a real process: --once, two at once, SIGTERM, an unmigrated home, and the
real webhook notifier posting to a local HTTP receiver."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
from sqlalchemy import select

from escalation.models import EscalationMark
from foundation.settings import Settings
from tests.escalation.conftest import Desk
from tickets.models import Ticket

HOTLINE = [sys.executable, "-m", "hotline.cli"]


def _env(settings: Settings, **extra: str) -> dict[str, str]:
    return {**os.environ, "HOTLINE_HOME": str(settings.home), "HOTLINE_DATABASE_URL": settings.database_url,
            **extra}


def _late_emergencies(desk: Desk, count: int) -> list[int]:
    # Emergencies have wall-clock deadlines (no holiday data needed, whatever today's date is):
    # dispatched 90 min ago, the sign-for is an hour late (level 3), resolution not yet due.
    dispatched = datetime.now(UTC) - timedelta(minutes=90)
    ids = []
    for _ in range(count):
        tid = desk.open()
        with desk.factory.begin() as s:
            s.get_one(Ticket, tid).emergency = "fire"
        desk.act(tid, "dispatch", "dispatcher", now=dispatched, department_id="fire_rescue")
        ids.append(tid)
    return ids


def _figures(stdout: str) -> dict[str, int]:
    last = stdout.strip().splitlines()[-1]
    return {k: int(v) for k, v in (pair.split("=") for pair in last.split())}


class _Receiver(BaseHTTPRequestHandler):
    posts: ClassVar[list[tuple[dict[str, object], str]]] = []  # each fixture subclasses with its own

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).posts.append((json.loads(body), self.headers.get("X-Hotline-Signature", "")))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[tuple[dict[str, object], str]]]]:
    posts: list[tuple[dict[str, object], str]] = []
    handler = type("Receiver", (_Receiver,), {"posts": posts})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", posts
    server.shutdown()
    server.server_close()


def test_once_escalates_notifies_through_log_and_webhook_and_is_idempotent(
        settings: Settings, desk: Desk, receiver: tuple[str, list[tuple[dict[str, object], str]]]) -> None:
    url, posts = receiver
    (tid,) = _late_emergencies(desk, 1)
    env = _env(settings, HOTLINE_WEBHOOK_URL=url, HOTLINE_WEBHOOK_SECRET="s3cret")
    first = subprocess.run([*HOTLINE, "scheduler", "--once"], env=env, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    figures = _figures(first.stdout)
    assert figures["escalated"] == 1 and figures["delivered"] == 2 and figures["delivery_failed"] == 0
    ((body, signature),) = posts
    assert body["ticket_id"] == tid and body["kind"] == "supervision.sign_late" and body["severity"] == "critical"
    assert signature.startswith("sha256=")
    log_text = (settings.logs_dir / "hotline.log").read_text(encoding="utf-8")
    assert "三级督办" in log_text and "签收超时" in log_text
    assert "13812345678" not in log_text
    second = subprocess.run([*HOTLINE, "scheduler", "--once"], env=env, capture_output=True, text=True,
                            timeout=120)
    assert second.returncode == 0, second.stderr
    assert _figures(second.stdout)["escalated"] == 0 and _figures(second.stdout)["delivered"] == 0
    assert len(posts) == 1 and [e.data["level"] for e in desk.supervised(tid)] == [3]


def test_two_scheduler_processes_at_once_escalate_each_ticket_once(settings: Settings, desk: Desk) -> None:
    ids = _late_emergencies(desk, 30)
    env = _env(settings)
    procs = [subprocess.Popen([*HOTLINE, "scheduler", "--once"], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err for _, err in outputs]
    figures = [_figures(out) for out, _ in outputs]
    assert sum(f["escalated"] for f in figures) == len(ids)
    assert sum(f["delivered"] for f in figures) == len(ids)
    assert sorted((m[0], m[2]) for m in desk.marks()) == [(tid, 3) for tid in ids]
    assert len(desk.supervised()) == len(ids)


def test_sigterm_stops_the_running_scheduler_cleanly(settings: Settings, desk: Desk) -> None:
    (tid,) = _late_emergencies(desk, 1)
    proc = subprocess.Popen([*HOTLINE, "scheduler"], env=_env(settings, HOTLINE_SCHEDULER_INTERVAL_S="0.5"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            with desk.factory() as s:
                if s.scalars(select(EscalationMark).where(EscalationMark.ticket_id == tid)).first():
                    break
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the scheduler did not sweep within 60 s"
            time.sleep(0.2)
        assert all(r.delivered_at is not None for r in desk.outbox()) or _wait_delivered(desk)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "scheduler stopping" in err and "Traceback" not in err


def _wait_delivered(desk: Desk, timeout: float = 30) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if all(r.delivered_at is not None for r in desk.outbox()):
            return True
        time.sleep(0.2)
    return False


def test_an_unmigrated_home_is_a_clear_error(tmp_path: Path) -> None:
    env = {**os.environ, "HOTLINE_HOME": str(tmp_path / "home")}
    env.pop("HOTLINE_DATABASE_URL", None)
    r = subprocess.run([*HOTLINE, "scheduler", "--once"], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2
    assert "hotline setup" in r.stderr and "Traceback" not in r.stderr


def test_hotline_up_runs_the_scheduler_as_a_supervised_child(settings: Settings, desk: Desk) -> None:
    from hotline.stack import COMPONENTS, Stack

    assert COMPONENTS["scheduler"] == ("scheduler",)
    (tid,) = _late_emergencies(desk, 1)
    stack = Stack(settings.model_copy(update={"scheduler_interval_s": 0.5}))
    stack._spawn("scheduler")  # what start() does for each component, without Asterisk
    try:
        deadline = time.monotonic() + 60
        while not desk.supervised(tid):
            assert stack.children["scheduler"].poll() is None, "the scheduler child exited"
            assert time.monotonic() < deadline, "the stack's scheduler did not sweep within 60 s"
            time.sleep(0.2)
    finally:
        child = stack.children["scheduler"]
        stack.stop_component("scheduler")  # SIGTERM, as Stack.stop sends
    assert child.returncode == 0
