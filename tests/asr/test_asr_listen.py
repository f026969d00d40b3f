from __future__ import annotations

import time
import uuid
from pathlib import Path

import numpy as np
import pytest

from asr.audio import read_wav_pcm8k
from asr.engine import CallInfo, UnavailableEngine
from asr.listen import TurnListener
from tests.doubles.recorder import GrowingWavWriter
from tests.doubles.scripted_asr import ScriptedAsrEngine

CLIP = "funasr_asr_example.wav"  # 5.5 s of speech
ENGINE = ScriptedAsrEngine({"13800138000": ["小区路灯坏了", "金盘路二十三号"], "*": ["我要投诉"]})


def _call(turn: int = 1, caller: str = "13800138000", call_id: str = "") -> CallInfo:
    # A fresh call unless one is named: the double hands out each call's script in order.
    return CallInfo(call_id=call_id or uuid.uuid4().hex, caller=caller, turn=turn, purpose="request")


@pytest.fixture(scope="module")
def speech_pcm(real_clips: Path) -> bytes:
    return read_wav_pcm8k(real_clips / CLIP)


def test_decodes_while_recording_and_finishes_fast(tmp_path: Path, speech_pcm: bytes) -> None:
    path = tmp_path / "turn1.wav"
    listener = TurnListener(ENGINE, _call(1))
    listener.start(path)  # before Asterisk created the file, as the flow does
    GrowingWavWriter(path, speech_pcm + bytes(8000)).record()  # speech, then 0.5 s of silence
    heard = listener.finish()
    assert heard.text == "小区路灯坏了"
    assert heard.audio_seconds == pytest.approx(len(speech_pcm) / 16000 + 0.5, abs=0.001)
    assert heard.speech_seconds > 2.0
    assert heard.finish_ms < 150
    assert listener.finish() is heard


def test_turns_are_consumed_in_order_and_normalised(tmp_path: Path, speech_pcm: bytes) -> None:
    texts = []
    for turn in (1, 2, 3):
        path = tmp_path / f"turn{turn}.wav"
        listener = TurnListener(ENGINE, _call(turn, call_id="in-order"))
        listener.start(path)
        GrowingWavWriter(path, speech_pcm, interval_s=0.001).record()
        texts.append(listener.finish().text)
    assert texts == ["小区路灯坏了", "金盘路23号", ""]


def test_silence_gives_empty_text(tmp_path: Path) -> None:
    path = tmp_path / "turn1.wav"
    listener = TurnListener(ENGINE, _call(1))
    listener.start(path)
    hiss = np.random.default_rng(1).normal(0, 15, 8000 * 3).astype("<i2").tobytes()
    GrowingWavWriter(path, hiss).record()
    heard = listener.finish()
    assert heard.text == ""
    assert heard.speech_seconds < 0.3
    assert heard.audio_seconds == pytest.approx(3.0)


def test_hangup_keeps_what_was_decoded(tmp_path: Path, speech_pcm: bytes) -> None:
    path = tmp_path / "turn1.wav"
    listener = TurnListener(ENGINE, _call(1, caller="010-555"))
    listener.start(path)
    writer = GrowingWavWriter(path, speech_pcm * 3, stop_after_bytes=2 * 32768)  # the line drops
    writer.record()
    time.sleep(0.05)
    listener.abort()
    heard = listener.heard_so_far()
    assert heard.text == "我要投诉"  # the "*" script; enough speech arrived before the hang-up
    assert 0 < heard.audio_seconds < 5
    assert heard.speech_seconds > 0.3


def test_unavailable_engine_still_measures_speech(tmp_path: Path, speech_pcm: bytes) -> None:
    path = tmp_path / "turn1.wav"
    listener = TurnListener(UnavailableEngine("no model"), _call(1))
    listener.start(path)
    GrowingWavWriter(path, speech_pcm, interval_s=0.001).record()
    heard = listener.finish()
    assert heard.text == ""
    assert heard.speech_seconds > 2.0  # so the flow can mark the turn for operator transcription


def test_recording_that_never_appears(tmp_path: Path) -> None:
    listener = TurnListener(ENGINE, _call(1), appear_timeout_s=0.1)
    listener.start(tmp_path / "never.wav")
    time.sleep(0.2)
    heard = listener.finish()
    assert (heard.text, heard.audio_seconds) == ("", 0.0)
    assert isinstance(listener.error, FileNotFoundError)


def test_record_failed_before_the_file_was_created(tmp_path: Path) -> None:
    listener = TurnListener(ENGINE, _call(1))
    listener.start(tmp_path / "never.wav")
    heard = listener.finish()  # RECORD FILE returned at once (e.g. result=-1)
    assert heard.text == "" and heard.finish_ms < 100
    assert listener.error is None
