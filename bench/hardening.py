"""Bad-input and operations figures: worst cases that used to blow up, and the cost of a /metrics scrape.

* reply_ms: the AGI reply parser on a 900 KB hostile line ("(" + ") k=v" * 150_000 + " !"); the one-regex
  parser it replaced was quadratic (25 s at 10k repetitions, 9 min at 50k).
* place_ms: routing.place.extract_place on 100k digits (167 s before the digit runs were bounded).
* wav2h_ms / wav2h_rss_mb: refusing a sparse two-hour 44.1 kHz stereo WAV (1.3 GB, through sox), and the
  peak RSS growth while doing so (the limit is 15 min of 8 kHz PCM, 14.4 MB).
* vad15_rss_mb: peak RSS growth of VoiceActivity over 15 minutes of PCM fed at once.
* scrape_ms: GET /metrics with --tickets tickets and --turns spooled turn latencies (SQLite, in-process).

Usage: .venv/bin/python bench/hardening.py [--tickets 5000] [--turns 20000]
Last line: reply_ms=... place_ms=... wav2h_ms=... wav2h_rss_mb=... vad15_rss_mb=... scrape_ms=...
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import resource
import statistics
import struct
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _ms(fn: object) -> float:
    started = time.perf_counter()
    fn()  # type: ignore[operator]
    return (time.perf_counter() - started) * 1000


def reply_parser() -> float:
    from agi.errors import AgiUnexpectedReply
    from agi.replies import parse_reply

    line = "200 result=1 (" + ") k=v" * 150_000 + " !"

    def run() -> None:
        try:
            parse_reply([line])
        except AgiUnexpectedReply:
            pass

    return _ms(run)


def place() -> float:
    from routing.place import extract_place

    return _ms(lambda: extract_place("1" * 100_000))


def _in_fresh_process(target: str, *args: object) -> tuple[float, ...]:
    """Peak RSS is a lifetime maximum: each memory figure is taken in its own interpreter."""
    ctx = multiprocessing.get_context("spawn")
    queue: multiprocessing.Queue[tuple[float, ...]] = ctx.Queue()
    proc = ctx.Process(target=_child, args=(queue, target, args))
    proc.start()
    result = queue.get(timeout=300)
    proc.join(30)
    return result


def _child(queue: multiprocessing.Queue[tuple[float, ...]], target: str, args: tuple[object, ...]) -> None:
    import asr.audio  # noqa: F401  (imports are not what is measured)

    result = globals()[target](*args)
    queue.put(result if isinstance(result, tuple) else (result,))


def two_hour_wav(tmp: Path) -> tuple[float, float]:
    from asr.audio import AudioError, read_wav_pcm8k

    rate, channels, bits, seconds = 44100, 2, 16, 7200
    data = rate * channels * bits // 8 * seconds
    path = tmp / "two-hours.wav"
    with path.open("wb") as f:
        block = channels * bits // 8
        f.write(b"RIFF" + struct.pack("<I", (36 + data) & 0xFFFFFFFF) + b"WAVEfmt " + struct.pack("<I", 16)
                + struct.pack("<HHIIHH", 1, channels, rate, rate * block, block, bits)
                + b"data" + struct.pack("<I", data & 0xFFFFFFFF))
        f.truncate(44 + data)  # sparse: nothing written
    before = _rss_mb()

    def run() -> None:
        try:
            read_wav_pcm8k(path)
        except AudioError:
            return
        raise SystemExit("a two-hour file was accepted")

    ms = _ms(run)
    return ms, _rss_mb() - before


def vad_rss() -> float:
    from asr.audio import MAX_FILE_SECONDS, RATE, VoiceActivity

    pcm = b"\x01\x00" * (MAX_FILE_SECONDS * RATE)  # real pages: bytes(n) would map the shared zero page
    before = _rss_mb()  # the input itself (14.4 MB) is not counted
    VoiceActivity().feed(pcm)
    return _rss_mb() - before


def scrape(tmp: Path, tickets: int, turns: int) -> float:
    from fastapi.testclient import TestClient

    from api.app import create_app
    from foundation import migrate
    from foundation.db import open_database, transaction
    from foundation.settings import Settings
    from foundation.turn_spool import record_turn
    from tickets.models import Ticket

    settings = Settings(home=tmp / "home", ready_requires_agi=False)
    settings.ensure_dirs()
    migrate.upgrade(settings.db_url)
    db = open_database(settings.db_url)
    with transaction(db.session_factory) as s:
        states = ("accepted", "dispatched", "closed")
        s.add_all(Ticket(number=f"B{i:09d}", status=states[i % 3]) for i in range(tickets))
    for i in range(turns):
        record_turn(settings.home, 100 + i % 2000, ("request", "confirm", "place")[i % 3])
    client = TestClient(create_app(settings, db.session_factory))
    client.get("/metrics")  # the first scrape reads the whole spool
    times = []
    for _ in range(20):
        started = time.perf_counter()
        assert client.get("/metrics").status_code == 200
        times.append((time.perf_counter() - started) * 1000)
    db.engine.dispose()
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=5000)
    parser.add_argument("--turns", type=int, default=20000)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        figures = {"reply_ms": reply_parser(), "place_ms": place()}
        figures["wav2h_ms"], figures["wav2h_rss_mb"] = _in_fresh_process("two_hour_wav", tmp)
        (figures["vad15_rss_mb"],) = _in_fresh_process("vad_rss")
        figures["scrape_ms"] = scrape(tmp, args.tickets, args.turns)
    print(" ".join(f"{k}={v:.0f}" for k, v in figures.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
