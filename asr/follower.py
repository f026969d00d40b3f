"""Follow a WAV file that Asterisk is still recording and yield its PCM as it grows.

Asterisk writes through a 32 KB stdio buffer, so the file (header included) appears in ~2 s steps and
its RIFF/data size fields stay placeholders until the recording closes. We therefore never trust the
sizes while recording: we find where `data` starts and read to EOF. Once the header holds a real data
size (the writer closed the file) we stop there, so a chunk written after the audio is not played as
audio; `done` (RECORD FILE has returned) means read what is left and stop.
"""

from __future__ import annotations

import io
import logging
import os
import struct
import threading
import time
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

READ_SIZE = 64 * 1024
PLACEHOLDER_SIZES = (0, 0xFFFFFFFF)


@dataclass(frozen=True)
class WavLayout:
    data_offset: int
    data_size: int  # as written in the header: a placeholder until the writer closes the file
    rate: int
    channels: int
    bits: int


def parse_wav_header(head: bytes) -> WavLayout | None:
    """Walk the RIFF chunks up to `data`; None while too few bytes are on disk to know."""
    if len(head) < 12:
        return None
    if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        raise ValueError("not a RIFF/WAVE file")
    pos, fmt = 12, None
    while pos + 8 <= len(head):
        chunk_id, size = head[pos : pos + 4], struct.unpack_from("<I", head, pos + 4)[0]
        body = pos + 8
        if chunk_id == b"data":
            if fmt is None:
                raise ValueError("WAV data chunk before fmt chunk")
            return WavLayout(body, size, *fmt)
        if chunk_id == b"fmt ":
            if body + 16 > len(head):
                return None
            _tag, channels, rate, _bps, _align, bits = struct.unpack_from("<HHIIHH", head, body)
            fmt = (rate, channels, bits)
        pos = body + size + (size & 1)  # chunks are word-aligned
    return None


def _wait_for_file(path: Path, done: threading.Event, poll_s: float, appear_timeout_s: float) -> bool:
    deadline = time.monotonic() + appear_timeout_s
    while not path.exists():
        if done.is_set():
            return path.exists()
        if time.monotonic() >= deadline:
            raise FileNotFoundError(f"recording {path} did not appear within {appear_timeout_s} s")
        done.wait(poll_s)
    return True


def follow_wav(
    path: str | Path,
    done: threading.Event,
    *,
    poll_s: float = 0.01,
    appear_timeout_s: float = 5,
) -> Generator[bytes, None, None]:
    """Yield 16-bit-aligned PCM from a growing WAV until `done` is set and EOF is reached.

    Raises FileNotFoundError if the file has not appeared after `appear_timeout_s`; returns quietly
    if `done` is set before it ever appeared (nothing was recorded).
    """
    path = Path(path)
    if not _wait_for_file(path, done, poll_s, appear_timeout_s):
        return
    with open(path, "rb", buffering=0) as f:
        layout, head = None, b""
        while layout is None:
            final = done.is_set()  # sample before reading: whatever we read after this is complete
            head += f.read(READ_SIZE)
            layout = parse_wav_header(head)
            if layout is None:
                if final:
                    log.warning("recording %s ended without a complete WAV header", path)
                    return
                done.wait(poll_s)
        if (layout.rate, layout.channels, layout.bits) != (8000, 1, 16):
            log.warning("recording %s is %s, expected 8000 Hz mono 16-bit", path, layout)
        yield from _follow_data(f, path, head[layout.data_offset :], layout.data_offset, done, poll_s)


def _follow_data(
    f: io.FileIO, path: Path, first: bytes, data_offset: int, done: threading.Event, poll_s: float
) -> Generator[bytes, None, None]:
    pending, sent = first, 0
    while True:
        final = done.is_set()  # sampled before reading, so a final pass sees the closed file
        while more := f.read(READ_SIZE):
            pending += more
        limit = _data_limit(f, data_offset, sent + len(pending)) if pending else sent
        usable = min(len(pending), limit - sent) & ~1  # keep 16-bit sample alignment across reads
        if usable > 0:
            chunk, pending = pending[:usable], pending[usable:]
            sent += usable
            yield chunk
        if final:  # what is left is an odd last byte or a chunk after the audio
            if limit - sent == 1:
                log.warning("recording %s ended on an odd byte; dropped it", path)
            return
        done.wait(poll_s)


def _data_limit(f: io.FileIO, data_offset: int, available: int) -> int:
    """Bytes of audio on disk: all of them while the header holds placeholders, else its data size
    (which leaves out any chunk a writer appends after the audio)."""
    layout = parse_wav_header(os.pread(f.fileno(), data_offset, 0))
    if layout is None or layout.data_size in PLACEHOLDER_SIZES or layout.data_size > available:
        return available
    return layout.data_size
