"""Whole calls through real Asterisk: Local channels play recorded speech into the 12345 dialplan."""

from __future__ import annotations

import csv
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from asr.metrics import cer
from hotline.simcall import place_call
from hotline.stack import Stack
from tests.conftest import SHARED

pytestmark = pytest.mark.asterisk


def test_whole_intake_from_synthesised_speech(stack: Stack, voice: Callable[[str], Path]) -> None:
    r = place_call(stack.settings, voice("龙华区金盘路的路灯坏了好几天了，晚上很黑。"),
                   caller="13800000001", then=[str(voice("对。"))])
    assert r.transfer["Target"] == "operator"
    assert r.ticket is not None, r
    assert r.transfer["TicketId"] == str(r.ticket.id)  # TICKET_ID as the dialplan saw it
    assert r.ticket.confirmed_by_caller and "金盘路" in r.ticket.place
    assert r.ticket.department_id == "urban_mgmt"
    assert [rec.purpose for rec in r.ticket.recordings] == ["request", "confirm"]
    # Voice came through Asterisk on both turns (a one-syllable 对 shows ~0.15 s of voice).
    assert r.ticket.recordings[0].speech_seconds > 1.0 and r.ticket.recordings[1].speech_seconds > 0.1
    assert all(Path(rec.path).stat().st_size > 8000 for rec in r.ticket.recordings)


def _first_real_clip() -> tuple[Path, str]:
    manifest = SHARED / "audio" / "mandarin-real" / "manifest.csv"
    if not manifest.exists():
        pytest.skip(f"shared real speech not found at {manifest}")
    with manifest.open(encoding="utf-8") as f:
        row = next(csv.DictReader(f))
    return manifest.parent / row["file"], row["transcript"]


def test_whole_intake_from_real_recorded_speech(stack: Stack, voice: Callable[[str], Path]) -> None:
    """A real human recording (16 kHz, sent through µ-law) as the request; place and 对 follow."""
    clip, _transcript = _first_real_clip()
    # caller 13800000004's script: the request, then the place, then 对
    r = place_call(stack.settings, clip, caller="13800000004",
                   then=[str(voice("美兰区白龙街道。")), str(voice("对。"))])
    assert r.ticket is not None, r
    heard = [(rec.purpose, rec.transcript, rec.speech_seconds) for rec in r.ticket.recordings]
    assert r.ticket.confirmed_by_caller, (r.transfer_reason, heard)
    assert "白龙街道" in r.ticket.place
    assert r.ticket.department_id == "hrss"
    assert [rec.purpose for rec in r.ticket.recordings] == ["request", "place", "confirm"]
    assert r.ticket.recordings[0].speech_seconds > 1.0  # the real clip arrived through Asterisk


def test_operator_word_in_the_middle_goes_to_the_queue(stack: Stack, voice: Callable[[str], Path]) -> None:
    r = place_call(stack.settings, voice("小区门口垃圾堆了好几天没人清理。"), caller="13800000002",
                   then=[str(voice("我要转人工。"))], until="hangup")
    assert r.transfer["Target"] == "operator" and r.transfer["Reason"] == "caller_asked_operator"
    assert r.ticket is not None and r.transfer["TicketId"] == str(r.ticket.id)
    kinds = [e.get("Event") for e in r.events]
    assert "QueueCallerJoin" in kinds  # it really entered the operator queue
    assert "AgentConnect" in kinds  # and a (simulated) operator picked up


def test_hangup_while_recording_keeps_an_incomplete_ticket(stack: Stack, voice: Callable[[str], Path]) -> None:
    r = place_call(stack.settings, voice("我们小区已经停水两天了。"), caller="13800000003",
                   then=["hangup"], until="hangup")
    assert r.outcome == "hangup"
    assert r.ticket is not None and r.ticket.incomplete
    assert r.ticket.transcript == "我们小区已经停水两天了"
    rec = r.ticket.recordings[0]
    assert rec.speech_seconds > 1.0 and Path(rec.path).exists()


def test_agi_server_down_sends_the_call_to_the_queue(stack: Stack, voice: Callable[[str], Path]) -> None:
    stack.stop_component("agi")
    try:
        r = place_call(stack.settings, voice("路灯坏了。"), caller="13800000009")
    finally:
        stack.start_component("agi")
    assert r.transfer["Target"] == "operator"
    assert r.transfer["Reason"].startswith("agi-")  # AGISTATUS was not SUCCESS
    assert r.ticket is None


def test_a_crashed_agi_server_is_restarted_and_serves_calls(stack: Stack, voice: Callable[[str], Path]) -> None:
    old = stack.children["agi"]
    old.kill()
    old.wait(10)
    assert stack.supervise_once()  # what `hotline up` does every second
    assert stack.children["agi"] is not old
    deadline = time.monotonic() + 30
    while not stack.healthy():
        assert time.monotonic() < deadline, "AGI server did not come back"
        time.sleep(0.1)
    r = place_call(stack.settings, voice("龙华区金盘路的路灯坏了好几天了，晚上很黑。"),
                   caller="13800000001", then=[str(voice("对。"))])
    assert r.ticket is not None and r.ticket.confirmed_by_caller


def test_twenty_simultaneous_calls_twenty_tickets(stack: Stack, voice: Callable[[str], Path]) -> None:
    callers = [f"1390000{i:04d}" for i in range(20)]
    audio = [voice(f"龙华区金盘路{i + 1}号门口的路灯坏了。") for i in range(20)]
    yes = str(voice("对。"))
    t0 = time.monotonic()
    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(lambda a: place_call(stack.settings, a[0], caller=a[1], then=[yes]),
                                zip(audio, callers, strict=True)))
    assert time.monotonic() - t0 < 150
    tickets = [r.ticket for r in results]
    assert all(t is not None and t.confirmed_by_caller for t in tickets), [r.as_json() for r in results]
    assert len({t.number for t in tickets if t}) == 20
    assert sorted(t.caller_number for t in tickets if t) == callers


def test_emergency_goes_straight_to_119(stack: Stack, voice: Callable[[str], Path]) -> None:
    r = place_call(stack.settings, voice("我家厨房着火了，快来人。"), caller="13800000005", until="hangup")
    assert r.transfer["Target"] == "119"
    assert r.ticket is not None and r.ticket.emergency == "fire"
    answered = [e for e in r.events if e.get("UserEvent") == "HotlineSimAnswered"]
    assert answered and answered[0]["Party"] == "119"


@pytest.mark.vosk_model
def test_real_vosk_transcribes_real_speech_through_asterisk(vosk_stack: Stack) -> None:
    clip, transcript = _first_real_clip()
    r = place_call(vosk_stack.settings, clip, caller="13800000010", then=["hangup"], until="hangup")
    assert r.ticket is not None and r.ticket.incomplete
    assert cer(transcript, r.ticket.transcript) < 0.4, r.ticket.transcript
