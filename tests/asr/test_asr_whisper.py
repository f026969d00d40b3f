"""Whisper through CTranslate2: the guards on literal values, and the real model on real speech.

The model is installed as `hotline setup` does and loaded once per test session (tests/conftest.py).
Recognition is only ever tested on real recordings (../shared/audio/mandarin-real): Whisper hears
synthesised Mandarin as nothing.
"""

from __future__ import annotations

import csv
import subprocess
from pathlib import Path
from typing import Any

import pytest

from asr.audio import read_wav_pcm8k, speech_seconds, telephone_copy, write_wav
from asr.engine import CallInfo
from asr.listen import TurnListener
from asr.metrics import cer_counts
from asr.whisper import Guards, Simplifier, compression_ratio, judge

GUARDS = Guards()


def test_believable_text_passes_the_guards() -> None:
    assert judge(text="小区门口的路灯坏了三天了", no_speech_prob=0.1, avg_logprob=-0.3, audio_s=3.0,
                 guards=GUARDS) == ""


@pytest.mark.parametrize("text, nsp, logprob, seconds, reason", [
    ("", 0.1, -0.2, 3.0, "no_speech"),
    ("。，", 0.1, -0.2, 3.0, "no_speech"),
    ("第1", 0.69, -2.43, 4.0, "no_speech"),  # measured on 4 s of digital silence
    ("我", 0.43, -3.3, 6.0, "low_confidence"),  # measured on 6 s of line noise
    ("好好的,好好的,好好的,好好的,好好的,好好的", 0.1, -0.3, 6.0, "repetition"),
    ("请不吝点赞 订阅 转发 打赏支持明镜与点点栏目", 0.2, -0.4, 5.0, "hallucination"),
    ("谢谢观看!", 0.3, -0.5, 2.0, "hallucination"),
    ("我认为你会不会有这种事", 0.3, -0.6, 6.0, "hallucination"),  # measured on faint white noise
    ("一二三四五六七八九十一二三四五六七八九十", 0.1, -0.4, 1.0, "too_fast"),
])
def test_invented_text_is_rejected(text: str, nsp: float, logprob: float, seconds: float, reason: str) -> None:
    assert judge(text=text, no_speech_prob=nsp, avg_logprob=logprob, audio_s=seconds, guards=GUARDS) == reason


def test_seconds_of_voice_with_a_word_or_two_are_noise() -> None:
    # Measured: 6 s of loud line noise, all of it "voice" to the detector, heard as 新鲜 at -1.43.
    def verdict(text: str, speech_s: float | None) -> str:
        return judge(text=text, no_speech_prob=0.32, avg_logprob=-1.1, audio_s=6.0, guards=GUARDS, speech_s=speech_s)

    assert verdict("新鲜", 6.0) == "too_sparse"
    assert verdict("新鲜", None) == ""  # without the voice detector's view, nothing to go on
    assert verdict("路灯坏了", 1.2) == ""  # a short request is short


def test_compression_ratio_sees_loops() -> None:
    assert compression_ratio("相比于其他一线城市。" * 4) > GUARDS.compression_ratio
    assert compression_ratio("广州市房地产中介协会还表示") < GUARDS.compression_ratio


def test_traditional_characters_become_simplified() -> None:
    assert Simplifier()("廣州市房地產中介協會還表示") == "广州市房地产中介协会还表示"


# -- the real model on real speech ------------------------------------------------------------

CLIPS = ("paddlespeech_zh.wav", "aishell1_BAC009S0764W0121.wav")


def _references(real_clips: Path) -> dict[str, str]:
    with (real_clips / "manifest.csv").open(encoding="utf-8") as f:
        return {row["file"]: row["transcript"] for row in csv.DictReader(f)}


@pytest.fixture(scope="module")
def phone_clips(real_clips: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The clips as a phone line carries them: 8 kHz µ-law."""
    out = tmp_path_factory.mktemp("phone")
    copies = {}
    for name in CLIPS:
        copies[name] = out / name
        telephone_copy(real_clips / name, copies[name])
    return copies


def test_real_speech_over_a_phone_line_is_recognised(whisper_engine: Any, real_clips: Path,
                                                     phone_clips: dict[str, Path]) -> None:
    refs = _references(real_clips)
    edits = chars = 0
    for name, path in phone_clips.items():
        decoded = whisper_engine.transcribe(read_wav_pcm8k(path))
        assert not decoded.rejected, (name, decoded)
        e, n = cer_counts(refs[name], decoded.text)
        edits, chars = edits + e, chars + n
    assert edits / chars <= 0.35


def test_a_turn_listener_gets_the_text_of_a_recording(whisper_engine: Any, real_clips: Path,
                                                      phone_clips: dict[str, Path], tmp_path: Path) -> None:
    rec = tmp_path / "turn.wav"
    write_wav(rec, read_wav_pcm8k(phone_clips["paddlespeech_zh.wav"]))
    listener = TurnListener(whisper_engine, CallInfo(call_id="c", caller="", turn=1, purpose="request"))
    listener.start(rec)
    heard = listener.finish()
    e, n = cer_counts(_references(real_clips)["paddlespeech_zh.wav"], heard.text)
    assert e / n <= 0.35 and heard.failure == "" and heard.speech_seconds > 2


@pytest.mark.parametrize("effect", [
    ["trim", "0", "5"],  # silence
    ["synth", "6", "whitenoise", "vol", "0.02"],  # faint hiss on the line
    ["synth", "6", "brownnoise", "vol", "0.3"],  # loud line noise
    ["synth", "0.5", "sine", "440", ":", "synth", "0.5", "sine", "554", ":", "synth", "0.5", "sine", "659",
     "repeat", "3"],  # music on hold
])
def test_silence_noise_and_music_give_no_text(whisper_engine: Any, tmp_path: Path, effect: list[str]) -> None:
    path = tmp_path / "noise.wav"
    subprocess.run(["sox", "-n", "-r", "8000", "-c", "1", "-b", "16", str(path), *effect], check=True)
    decoded = whisper_engine.transcribe(read_wav_pcm8k(path))
    assert decoded.text == "", decoded
    # The model itself, past the voice gate, must not be believed either.
    from asr.whisper import pcm8k_to_float16k

    pcm = read_wav_pcm8k(path)
    raw = whisper_engine.model.decode([pcm8k_to_float16k(pcm)], [speech_seconds(pcm)])[0]
    assert raw.text == "", raw
