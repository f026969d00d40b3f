"""8 kHz, 16-bit, mono signed-linear audio: the format Asterisk records and Vosk decodes."""

from __future__ import annotations

import subprocess
import tempfile
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
# A whole file read into memory is a citizen's request, a prompt or a test clip: minutes, not hours.
# Longer files are refused (AudioError) after reading at most this much, whatever their header claims.
MAX_FILE_SECONDS = 15 * 60
_VAD_BLOCK_FRAMES = 500  # VoiceActivity works on 10 s at a time, so memory does not grow with the input
_PIPE_CHUNK = 1 << 16


class AudioError(ValueError):
    """A file that is not audio sox can read, or longer than the reader allows."""


def read_wav_pcm8k(path: str | Path, *, max_seconds: float = MAX_FILE_SECONDS) -> bytes:
    """Any WAV sox can read → raw 8 kHz s16le mono PCM (no header).

    Raises AudioError for a file that is not readable audio (truncated or zero-length header, not a
    WAV) or holds more than ``max_seconds``; memory stays within about ``max_seconds`` of 8 kHz PCM.
    A missing file raises FileNotFoundError.
    """
    path = Path(path)
    max_bytes = int(max_seconds * RATE) * SAMPLE_WIDTH
    try:
        with wave.open(str(path), "rb") as w:
            if (w.getframerate(), w.getsampwidth(), w.getnchannels()) == (RATE, SAMPLE_WIDTH, 1):
                # readframes stops at the end of the file, whatever size the header claims.
                pcm = w.readframes(max_bytes // SAMPLE_WIDTH + 1)
                if len(pcm) > max_bytes:
                    raise AudioError(f"{path.name} is longer than {max_seconds:.0f} s")
                return pcm[: len(pcm) - len(pcm) % SAMPLE_WIDTH]  # a truncated file can end mid-sample
    except (wave.Error, EOFError, RuntimeError):
        # µ-law, float, …: the wave module reads integer PCM only; on some malformed chunks it raises a
        # bare RuntimeError. sox gets the file either way and says what is wrong with it.
        pass
    return _sox_to_raw(path, max_bytes, max_seconds)


def _sox_to_raw(path: Path, max_bytes: int, max_seconds: float) -> bytes:
    """sox's output, streamed: it is stopped as soon as it exceeds ``max_bytes``."""
    args = ["sox", "-V1", str(path), "-t", "raw", "-e", "signed-integer", "-b", "16", "-L", "-c", "1"]
    args += ["-r", str(RATE), "-"]
    with tempfile.TemporaryFile() as err, subprocess.Popen(args, stdout=subprocess.PIPE, stderr=err) as sox:
        assert sox.stdout is not None
        chunks: list[bytes] = []
        size = 0
        while chunk := sox.stdout.read(_PIPE_CHUNK):
            chunks.append(chunk)
            size += len(chunk)
            if size > max_bytes:
                sox.kill()
                raise AudioError(f"{path.name} is longer than {max_seconds:.0f} s")
        if sox.wait() != 0:
            err.seek(0)
            lines = err.read().decode("utf-8", "replace").strip().splitlines()
            reason = lines[-1] if lines else f"sox exit status {sox.returncode}"
            raise AudioError(f"cannot read {path.name} as audio: {reason}")
        return b"".join(chunks)


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
        fb = self._frame_bytes
        view = memoryview(pcm)
        if self._rest:  # complete the partial frame left from the last chunk
            head = self._rest + bytes(view[: fb - len(self._rest)])
            view = view[fb - len(self._rest) :]
            if len(head) < fb:
                self._rest = head
                return
            self._feed_frames(head)
        usable = len(view) - len(view) % fb
        block = _VAD_BLOCK_FRAMES * fb
        for offset in range(0, usable, block):  # no copy of the whole input, however long
            self._feed_frames(bytes(view[offset : min(offset + block, usable)]))
        self._rest = bytes(view[usable:])

    def _feed_frames(self, data: bytes) -> None:
        samples = np.frombuffer(data, dtype="<i2").reshape(-1, self._frame_bytes // SAMPLE_WIDTH)
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
