"""接通率 from Asterisk's own records: one call answered (the bot, then an operator) and one abandoned
in the operator queue (every operator paused, the caller hangs up while waiting); `hotline cdr-import`
loads cdr_csv's Master.csv and the indicators count 2 offered, 1 answered."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from agi.ami import AmiClient
from foundation.db import open_database
from hotline.asterisk import ami_secret_for
from hotline.simcall import place_call
from hotline.stack import Stack, settings_env
from reports.cdr import cdr_file, classify_call, count_calls
from reports.indicators import compute
from reports.models import CallRecord

pytestmark = pytest.mark.asterisk


def _wait_for_cdr(path: Path, linkedid: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and f'"{linkedid}"' in path.read_text(encoding="utf-8", errors="replace"):
            return
        time.sleep(0.5)
    raise AssertionError(f"no CDR for call {linkedid} in {path} within {timeout:.0f} s")


def test_answer_rate_counts_the_abandoned_call(stack: Stack, voice: Callable[[str], Path]) -> None:
    s = stack.settings
    start = datetime.now(UTC) - timedelta(seconds=1)
    answered = place_call(s, voice("龙华区金盘路的路灯坏了好几天了，晚上很黑。"), caller="13800000001",
                          then=[str(voice("对。"))], until="hangup")
    assert answered.transfer.get("Target") == "operator"
    ami = AmiClient(s.ami_host, s.ami_port, s.ami_user, ami_secret_for(s))
    ami.connect()
    members = [f"Local/op{i}@sim-answer/n" for i in range(1, s.operator_count + 1)]
    try:
        for m in members:  # nobody free: the next caller waits in the queue
            ami.action("QueuePause", Queue=s.operator_queue, Interface=m, Paused="true")
        abandoned = place_call(s, voice("小区门口垃圾堆了好几天没人清理。"), caller="13800000002",
                               then=[str(voice("我要转人工。"))], until="transfer")
        assert abandoned.transfer.get("Target") == "operator"
        ami.wait_for_event(lambda e: e.get("Event") == "QueueCallerJoin"
                           and e.get("Linkedid") == abandoned.uniqueid, timeout=15)
        citizen = next(e["Channel"] for e in abandoned.events if e.get("Channel", "").endswith(";2"))
        ami.action("Hangup", Channel=citizen)  # the caller gives up waiting
        ami.wait_for_event(lambda e: e.get("Event") == "QueueCallerAbandon", timeout=15)
    finally:
        for m in members:
            ami.action("QueuePause", Queue=s.operator_queue, Interface=m, Paused="false")
        ami.close()
    master = cdr_file(s)
    _wait_for_cdr(master, answered.uniqueid)
    _wait_for_cdr(master, abandoned.uniqueid)

    run = subprocess.run([sys.executable, "-m", "hotline.cli", "cdr-import"], env=settings_env(s),
                         capture_output=True, text=True, timeout=60, check=False)
    assert run.returncode == 0, run.stderr
    assert "inserted=" in run.stdout and "rejected=0" in run.stdout
    again = subprocess.run([sys.executable, "-m", "hotline.cli", "cdr-import"], env=settings_env(s),
                           capture_output=True, text=True, timeout=60, check=False)
    assert "inserted=0" in again.stdout  # idempotent

    db = open_database(s.db_url)
    try:
        with db.session_factory() as session:
            def rows(linkedid: str) -> list[CallRecord]:
                return list(session.scalars(select(CallRecord).where(CallRecord.linkedid == linkedid)))

            assert classify_call(rows(answered.uniqueid)) == "person"
            assert classify_call(rows(abandoned.uniqueid)) == "abandoned"
            end = datetime.now(UTC) + timedelta(seconds=1)
            calls = count_calls(session, start=start, end=end)
            assert (calls.offered, calls.answered, calls.abandoned) == (2, 1, 1)
            rate = compute(session, start=start, end=end, now=end).overall.answer_rate
            assert rate is not None and (rate.numerator, rate.denominator) == (1, 2)
    finally:
        db.engine.dispose()
