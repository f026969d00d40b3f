"""Real recognition through real Asterisk: the host's recognition service runs Whisper base, a real
Mandarin recording is the caller's request, and the ticket's transcript is the recogniser's text.

One stack for the module (the model loads once, in its recognition service). Also: the service killed
while a call is being recognised, and the queue bound reached, both send the caller to a person with
the recording kept.
"""

from __future__ import annotations

import csv
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from asr.follower import PLACEHOLDER_SIZES, parse_wav_header
from asr.metrics import cer
from hotline.simcall import place_call
from hotline.stack import Stack
from tests.conftest import SHARED
from tests.e2e.conftest import _run_stack

pytestmark = pytest.mark.asterisk

CLIPS = SHARED / "audio" / "mandarin-real"
REQUEST_CLIP = "paddlespeech_zh.wav"  # 5.6 s; the clearest of the set


@pytest.fixture(scope="module")
def whisper_stack(tmp_path_factory: pytest.TempPathFactory, whisper_model_dir: Path) -> Iterator[Stack]:
    if not (CLIPS / "manifest.csv").exists():
        pytest.skip(f"real speech not found at {CLIPS}")
    yield from _run_stack(tmp_path_factory.mktemp("whisper-home"), asr_engine="whisper",
                          whisper_model_path=whisper_model_dir, whisper_cpu_threads=2)


def _reference(name: str) -> str:
    with (CLIPS / "manifest.csv").open(encoding="utf-8") as f:
        return next(row["transcript"] for row in csv.DictReader(f) if row["file"] == name)


def test_a_real_request_becomes_the_tickets_transcript(whisper_stack: Stack) -> None:
    r = place_call(whisper_stack.settings, CLIPS / REQUEST_CLIP, caller="13800000011",
                   then=["silence:2", "dtmf:1"], until="transfer")
    assert r.ticket is not None, r
    request = r.ticket.recordings[0]
    assert request.purpose == "request" and Path(request.path).stat().st_size > 8000
    assert cer(_reference(REQUEST_CLIP), request.transcript) <= 0.35, request.transcript
    assert request.transcript in r.ticket.transcript
    assert not r.ticket.needs_transcription
    assert r.transfer_reason in ("ticket_confirmed", "confirmation_not_understood"), r.transfer_reason


def _closed(wav: Path) -> bool:
    """Asterisk writes the real data size into the header when it closes the recording."""
    layout = parse_wav_header(wav.read_bytes()[:4096])
    return layout is not None and layout.data_size not in PLACEHOLDER_SIZES


def _kill_asr_when_recognising(stack: Stack, caller_dir_before: set[Path], done: threading.Event) -> None:
    """Kill the recognition service (SIGKILL) the moment the call's first recording closes: the call
    process is then waiting for its text."""
    spool = stack.settings.recordings_dir
    while not done.is_set():
        fresh = [p for p in spool.rglob("01-request.wav") if p not in caller_dir_before]
        if fresh and _closed(fresh[0]):
            proc = stack.children.get("asr")
            if proc is not None:
                proc.kill()
            return
        time.sleep(0.01)


def test_recognition_service_killed_mid_call_sends_the_caller_to_a_person(whisper_stack: Stack) -> None:
    done = threading.Event()
    before = set(whisper_stack.settings.recordings_dir.rglob("01-request.wav"))
    killer = threading.Thread(target=_kill_asr_when_recognising, args=(whisper_stack, before, done), daemon=True)
    killer.start()
    try:
        r = place_call(whisper_stack.settings, CLIPS / REQUEST_CLIP, caller="13800000012", until="transfer")
    finally:
        done.set()
        killer.join(5)
        whisper_stack.stop_component("asr")
        whisper_stack.start_component("asr", timeout=60)
    assert r.transfer.get("Target") == "operator", r
    assert r.transfer_reason.startswith("asr_"), r.transfer_reason
    assert r.ticket is not None and r.ticket.needs_transcription  # the recording is the content
    assert Path(r.ticket.recordings[0].path).stat().st_size > 8000


def test_a_full_recognition_queue_sends_the_caller_to_a_person(whisper_stack: Stack) -> None:
    whisper_stack.stop_component("asr")
    whisper_stack.settings.asr_max_wait_s = 0.0  # every turn would wait past the bound
    try:
        whisper_stack.start_component("asr", timeout=60)
        r = place_call(whisper_stack.settings, CLIPS / REQUEST_CLIP, caller="13800000013", until="transfer")
    finally:
        whisper_stack.stop_component("asr")
        whisper_stack.settings.asr_max_wait_s = 6.0
        whisper_stack.start_component("asr", timeout=60)
    assert r.transfer.get("Target") == "operator", r
    assert r.transfer_reason == "asr_busy", r.transfer_reason
    assert r.ticket is not None and r.ticket.needs_transcription
    assert Path(r.ticket.recordings[0].path).stat().st_size > 8000
