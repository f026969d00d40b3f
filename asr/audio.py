"""8 kHz, 16-bit, mono signed-linear audio: the format Asterisk records and Vosk decodes."""

from __future__ import annotations

import subprocess
import wave
from pathlib import Path

import numpy as np
import webrtcvad

RATE = 8000
SAMPLE_WIDTH = 2
FRAME_MS = 20  # webrtcvad accepts 10, 20 or 30 ms frames
# webrtcvad can call steady low-level hiss "speech"; frames quieter than this
# (about -50 dBFS) never count as voice.
MIN_SPEECH_RMS = 100.0


def read_wav_pcm8k(path: str | Path) -> bytes:
    """Any WAV sox can read → raw 8 kHz s16le mono PCM (no header)."""
    path = Path(path)
    try:
        with wave.open(str(path), "rb") as w:
            if (w.getframerate(), w.getsampwidth(), w.getnchannels()) == (RATE, SAMPLE_WIDTH, 1):
                return w.readframes(w.getnframes())
    except (wave.Error, EOFError):  # µ-law, float, …: the wave module reads integer PCM only
        pass
    return _sox_to_raw(path)


def _sox_to_raw(path: Path) -> bytes:
    args = ["sox", "-V1", str(path), "-t", "raw", "-e", "signed-integer", "-b", "16", "-L", "-c", "1"]
    args += ["-r", str(RATE), "-"]
    return subprocess.run(args, check=True, capture_output=True).stdout


def write_wav(path: str | Path, pcm: bytes, rate: int = RATE) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(SAMPLE_WIDTH)
        w.setframerate(rate)
        w.writeframes(pcm)


def telephone_copy(src: str | Path, dst: str | Path) -> None:
    """What a phone line delivers: 8 kHz mono G.711 µ-law in a WAV container."""
    args = ["sox", "-V1", str(src), "-e", "u-law", "-b", "8", "-c", "1", "-r", str(RATE), str(dst)]
    subprocess.run(args, check=True, capture_output=True)


def pcm_seconds(pcm: bytes, rate: int = RATE) -> float:
    return len(pcm) / (SAMPLE_WIDTH * rate)


class VoiceActivity:
    """Streaming voice-activity counter: feed chunks of any size, read `.speech_seconds`."""

    def __init__(self, rate: int = RATE, aggressiveness: int = 2) -> None:
        self._vad = webrtcvad.Vad(aggressiveness)
        self._rate = rate
        self._frame_bytes = rate * FRAME_MS // 1000 * SAMPLE_WIDTH
        self._rest = b""
        self.frames = 0
        self.speech_frames = 0

    def feed(self, pcm: bytes) -> None:
        data = self._rest + pcm
        usable = len(data) - len(data) % self._frame_bytes
        self._rest = data[usable:]
        if not usable:
            return
        samples = np.frombuffer(data[:usable], dtype="<i2").reshape(-1, self._frame_bytes // SAMPLE_WIDTH)
        loud = np.sqrt(np.mean(samples.astype(np.float64) ** 2, axis=1)) >= MIN_SPEECH_RMS
        for i, is_loud in enumerate(loud):
            self.frames += 1
            start = i * self._frame_bytes
            if is_loud and self._vad.is_speech(data[start : start + self._frame_bytes], self._rate):
                self.speech_frames += 1

    @property
    def speech_seconds(self) -> float:
        return self.speech_frames * FRAME_MS / 1000

    @property
    def audio_seconds(self) -> float:
        return self.frames * FRAME_MS / 1000


def speech_seconds(pcm: bytes, rate: int = RATE, aggressiveness: int = 2) -> float:
    va = VoiceActivity(rate, aggressiveness)
    va.feed(pcm)
    return va.speech_seconds
