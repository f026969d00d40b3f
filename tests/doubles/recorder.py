"""TEST DOUBLE for Asterisk's RECORD FILE: writes a WAV that grows the way format_wav's does.

The file is created empty, then the header and audio land in 32 KB steps (Asterisk's stdio buffer:
about 2 s of 8 kHz audio per step, shortened here by `interval_s`); the size fields stay placeholders
until close, when the last partial step lands and the header is patched.
"""

from __future__ import annotations

import struct
import threading
import time
from pathlib import Path

STEP = 32 * 1024


def wav_header(data_size: int, rate: int = 8000, extra_chunks: bytes = b"") -> bytes:
    fmt = struct.pack("<HHIIHH", 1, 1, rate, rate * 2, 2, 16)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + extra_chunks
    riff_size = min(len(body) + 8 + data_size, 0xFFFFFFFF)
    return b"RIFF" + struct.pack("<I", riff_size) + body + b"data" + struct.pack("<I", data_size)


class GrowingWavWriter(threading.Thread):
    def __init__(
        self,
        path: Path,
        pcm: bytes,
        *,
        step: int = STEP,
        interval_s: float = 0.02,
        start_delay_s: float = 0.0,
        placeholder: int = 0,
        extra_chunks: bytes = b"",
        stop_after_bytes: int | None = None,
        trim_bytes: int = 0,
    ) -> None:
        super().__init__(daemon=True)
        self.path, self.pcm, self.step, self.interval_s = path, pcm, step, interval_s
        self.start_delay_s = start_delay_s
        self.header = wav_header(placeholder, extra_chunks=extra_chunks)
        self.extra_chunks = extra_chunks
        self.stop_after_bytes = stop_after_bytes  # a hang-up: stop writing, never close properly
        # RECORD FILE with silence detection rewinds and truncates the trailing silence at the end.
        self.trim_bytes = trim_bytes
        self.closed = threading.Event()
        self.first_write = threading.Event()

    def run(self) -> None:
        time.sleep(self.start_delay_s)
        blob = self.header + self.pcm
        with open(self.path, "wb") as f:
            for i in range(0, len(blob), self.step):
                if self.stop_after_bytes is not None and i >= self.stop_after_bytes:
                    return
                time.sleep(self.interval_s)
                f.write(blob[i : i + self.step])
                f.flush()
                self.first_write.set()
            kept = len(self.pcm) - self.trim_bytes
            f.truncate(len(self.header) + kept)
            f.seek(0)
            f.write(wav_header(kept, extra_chunks=self.extra_chunks))
        self.closed.set()

    def record(self) -> None:
        """Like RECORD FILE: start, and return once the recording is closed."""
        self.start()
        self.join()
