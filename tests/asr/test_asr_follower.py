from __future__ import annotations

import struct
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from asr.follower import follow_wav, parse_wav_header
from tests.doubles.recorder import GrowingWavWriter, wav_header


def _pcm(seconds: float, seed: int = 1) -> bytes:
    rng = np.random.default_rng(seed)
    return rng.integers(-8000, 8000, int(8000 * seconds), dtype="<i2").tobytes()


def _collect(path: Path, done: threading.Event, out: list[bytes], **kw: float) -> threading.Thread:
    def run() -> None:
        out.extend(follow_wav(path, done, **kw))

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def _follow_recording(writer: GrowingWavWriter, **kw: float) -> tuple[list[bytes], float]:
    """Follow while the writer records; set done once it closed; return chunks and finish ms."""
    done, chunks = threading.Event(), list[bytes]()
    reader = _collect(writer.path, done, chunks, **kw)
    writer.record()
    t0 = time.perf_counter()
    done.set()
    reader.join(5)
    assert not reader.is_alive()
    return chunks, (time.perf_counter() - t0) * 1000


def test_follows_growing_file_to_exactly_all_bytes(tmp_path: Path) -> None:
    pcm = _pcm(8.3)  # 5 steps of 32 KB, the last one partial
    writer = GrowingWavWriter(tmp_path / "turn1.wav", pcm, interval_s=0.05)
    done, chunks, early = threading.Event(), [], []

    def follow() -> None:
        for chunk in follow_wav(writer.path, done):
            chunks.append(chunk)
            early.append(not writer.closed.is_set())

    reader = threading.Thread(target=follow)
    reader.start()
    writer.record()
    t0 = time.perf_counter()
    done.set()
    reader.join(5)
    finish_ms = (time.perf_counter() - t0) * 1000
    assert b"".join(chunks) == pcm
    assert sum(early) >= 3, "should yield while the file grows, not only at the end"
    assert all(len(c) % 2 == 0 for c in chunks)
    assert finish_ms < 100


@pytest.mark.parametrize("step", [32767, 1001, 45])
def test_odd_write_steps_keep_sample_alignment(tmp_path: Path, step: int) -> None:
    pcm = _pcm(1.5, seed=step)
    writer = GrowingWavWriter(tmp_path / "t.wav", pcm, step=step, interval_s=0.001)
    chunks, _ = _follow_recording(writer)
    assert all(len(c) % 2 == 0 for c in chunks)
    assert b"".join(chunks) == pcm


def test_placeholder_ffffffff_and_extra_chunk_before_data(tmp_path: Path) -> None:
    pcm = _pcm(2.0)
    extra = b"LIST" + struct.pack("<I", 5) + b"abcde" + b"\0"  # odd size: padded to a word
    writer = GrowingWavWriter(tmp_path / "t.wav", pcm, placeholder=0xFFFFFFFF, extra_chunks=extra)
    chunks, _ = _follow_recording(writer)
    assert b"".join(chunks) == pcm


def test_chunk_after_data_of_a_closed_file_is_not_audio(tmp_path: Path) -> None:
    pcm = _pcm(1.0)
    path = tmp_path / "t.wav"
    path.write_bytes(wav_header(len(pcm)) + pcm + b"LIST" + struct.pack("<I", 4) + b"INFO")
    done = threading.Event()
    done.set()  # a listener that started after the recording closed
    assert b"".join(follow_wav(path, done)) == pcm


def test_waits_for_the_file_to_appear(tmp_path: Path) -> None:
    pcm = _pcm(1.0)
    writer = GrowingWavWriter(tmp_path / "late.wav", pcm, start_delay_s=0.2)
    chunks, _ = _follow_recording(writer)
    assert b"".join(chunks) == pcm


def test_missing_file_times_out(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        list(follow_wav(tmp_path / "never.wav", threading.Event(), appear_timeout_s=0.1))


def test_done_before_the_file_appeared_yields_nothing(tmp_path: Path) -> None:
    done = threading.Event()
    done.set()
    assert list(follow_wav(tmp_path / "never.wav", done)) == []


def test_empty_file_with_done_yields_nothing(tmp_path: Path) -> None:
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    done = threading.Event()
    done.set()
    assert list(follow_wav(path, done)) == []


def test_parse_header_needs_enough_bytes() -> None:
    header = wav_header(0)
    assert len(header) == 44  # what Asterisk's format_wav writes
    assert parse_wav_header(header[:30]) is None
    layout = parse_wav_header(header)
    assert layout is not None
    assert (layout.data_offset, layout.rate, layout.channels, layout.bits) == (44, 8000, 1, 16)
    with pytest.raises(ValueError):
        parse_wav_header(b"OggS" + bytes(40))


def test_trailing_silence_truncated_at_close(tmp_path: Path) -> None:
    speech, silence = _pcm(3.0), bytes(8000 * 2 * 2)
    writer = GrowingWavWriter(tmp_path / "t.wav", speech + silence, trim_bytes=len(silence) - 3200)
    chunks, _ = _follow_recording(writer)
    heard = b"".join(chunks)
    # What was read before the truncation stays read (it is silence); nothing is lost or repeated.
    assert heard.startswith(speech + bytes(3200))
    assert len(heard) <= len(speech + silence)
