"""The bounded decode queue, with a test-double decode function (sleeps, then echoes)."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import pytest

from asr.batcher import Batcher
from asr.errors import RecognitionBusy


class SlowEchoDouble:
    """TEST DOUBLE for a model: takes `seconds` per batch, returns its inputs upper-cased."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.batches: list[list[str]] = []
        self.release = threading.Event()
        self.release.set()

    def __call__(self, items: Sequence[str]) -> list[str]:
        self.release.wait(5)
        time.sleep(self.seconds)
        self.batches.append(list(items))
        return [i.upper() for i in items]


def test_waiting_utterances_are_decoded_together_in_order() -> None:
    double = SlowEchoDouble(0.05)
    double.release.clear()  # hold the worker so that the queue fills up
    b: Batcher[str, str] = Batcher(double, workers=1, max_batch=3, max_wait_s=60)
    try:
        futures = [b.submit(x) for x in "abcde"]
        double.release.set()
        assert [f.result(5) for f in futures] == list("ABCDE")
        assert max(len(batch) for batch in double.batches) == 3
        assert b.stats.decoded == 5 and b.stats.batches < 5
    finally:
        b.close()


def test_a_queue_past_its_bound_refuses_at_once_instead_of_keeping_the_caller_waiting() -> None:
    double = SlowEchoDouble(0.0)
    double.release.clear()
    b: Batcher[str, str] = Batcher(double, workers=1, max_batch=1, max_wait_s=2.5, first_guess_s=1.0)
    try:
        accepted = [b.submit("x"), b.submit("y")]  # 1 s, then 2 s expected
        t0 = time.monotonic()
        with pytest.raises(RecognitionBusy, match=r"bound 2\.5"):
            b.submit("z")  # would wait about 3 s
        assert time.monotonic() - t0 < 0.1
        assert b.stats.refused == 1
        double.release.set()
        assert [f.result(5) for f in accepted] == ["X", "Y"]
        assert b.submit("z").result(5) == "Z"  # the queue drained: accepted again
    finally:
        b.close()


def test_a_failing_decode_fails_its_callers_and_the_worker_goes_on() -> None:
    calls = []

    def flaky(items: Sequence[str]) -> list[str]:
        calls.append(list(items))
        if "bad" in items:
            raise RuntimeError("model error")
        return list(items)

    b: Batcher[str, str] = Batcher(flaky, workers=1, max_batch=1)
    try:
        with pytest.raises(RuntimeError, match="model error"):
            b.submit("bad").result(5)
        assert b.submit("good").result(5) == "good"
        assert b.stats.failed == 1
    finally:
        b.close()


def test_close_fails_what_is_still_queued() -> None:
    double = SlowEchoDouble(0.0)
    double.release.clear()
    b: Batcher[str, str] = Batcher(double, workers=1, max_batch=1, max_wait_s=60)
    b.submit("first")
    time.sleep(0.05)  # the worker holds "first"
    queued = b.submit("second")
    threading.Timer(0.2, double.release.set).start()
    b.close()
    with pytest.raises(RecognitionBusy):
        queued.result(1)
    with pytest.raises(RecognitionBusy):
        b.submit("late")
