from __future__ import annotations

import subprocess
import wave
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from asr.audio import VoiceActivity, pcm_seconds, read_wav_pcm8k, speech_seconds, telephone_copy, write_wav

CLIP = "aishell1_BAC009S0724W0124.wav"  # 5.49 s of read speech, 16 kHz


def _soxi(path: Path, flag: str) -> str:
    done = subprocess.run(["soxi", flag, str(path)], check=True, capture_output=True, text=True)
    return done.stdout.strip()


def test_read_real_16k_clip_resamples_to_8k(real_clips: Path) -> None:
    pcm = read_wav_pcm8k(real_clips / CLIP)
    assert len(pcm) % 2 == 0
    assert pcm_seconds(pcm) == pytest.approx(5.494, abs=0.01)
    assert 2.5 < speech_seconds(pcm) < 5.5


def test_native_8k_is_read_unchanged(tmp_path: Path) -> None:
    pcm = np.arange(-4000, 4000, dtype="<i2").tobytes()
    write_wav(tmp_path / "a.wav", pcm)
    with wave.open(str(tmp_path / "a.wav")) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (8000, 1, 2)
    assert read_wav_pcm8k(tmp_path / "a.wav") == pcm


def test_other_formats_are_converted(tmp_path: Path, synth: Callable[[str], Path]) -> None:
    stereo = tmp_path / "stereo.wav"
    src = synth("ni3 hao3 , qing3 shuo1")
    subprocess.run(["sox", src, "-r", "44100", "-c", "2", "-e", "floating-point", stereo], check=True)
    pcm = read_wav_pcm8k(stereo)
    assert pcm_seconds(pcm) == pytest.approx(pcm_seconds(read_wav_pcm8k(src)), abs=0.01)
    assert speech_seconds(pcm) > 0.5


def test_telephone_copy_is_ulaw_8k_and_keeps_speech(tmp_path: Path, real_clips: Path) -> None:
    dst = tmp_path / "phone.wav"
    telephone_copy(real_clips / CLIP, dst)
    assert _soxi(dst, "-r") == "8000"
    assert _soxi(dst, "-c") == "1"
    assert "u-law" in _soxi(dst, "-e")
    original, phone = read_wav_pcm8k(real_clips / CLIP), read_wav_pcm8k(dst)
    assert len(phone) == pytest.approx(len(original), abs=32)
    assert speech_seconds(phone) == pytest.approx(speech_seconds(original), abs=0.5)


def test_synthesised_speech_is_speech_and_silence_is_not(synth: Callable[[str], Path]) -> None:
    pcm = read_wav_pcm8k(synth("xiao3 qu1 lu4 deng1 huai4 le5 , qing3 kuai4 lai2 xiu1"))
    assert speech_seconds(pcm) > 1.0
    assert speech_seconds(bytes(16000 * 3)) == 0.0
    hiss = np.random.default_rng(0).normal(0, 20, 8000 * 3).astype("<i2").tobytes()
    assert speech_seconds(hiss) < 0.1


def test_streaming_vad_matches_one_shot_with_odd_chunks(real_clips: Path) -> None:
    pcm = read_wav_pcm8k(real_clips / CLIP)
    va = VoiceActivity()
    for i in range(0, len(pcm), 777):
        va.feed(pcm[i : i + 777])
    assert va.speech_seconds == speech_seconds(pcm)
    assert va.audio_seconds == pytest.approx(pcm_seconds(pcm), abs=0.02)


@pytest.mark.parametrize("name", ["funasr_asr_example.wav", "speechcolab_CCTV_1.wav", "paddlespeech_zh.wav"])
def test_all_kinds_of_real_clips_have_speech(real_clips: Path, name: str) -> None:
    pcm = read_wav_pcm8k(real_clips / name)
    assert speech_seconds(pcm) > 0.5 * pcm_seconds(pcm) - 0.5
