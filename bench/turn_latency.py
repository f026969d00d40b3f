"""Turn latency on real Asterisk, measured on Asterisk's own AMI event timestamps.

  greeting: the call enters the 12345 dialplan → the greeting's STREAM FILE starts
  turn:     a RECORD FILE ends (caller stopped speaking + endpointer) → the next STREAM FILE starts

Runs whole simulated calls (synthesised Mandarin through µ-law) at 1 and at N concurrent calls.
Recognition: Vosk when the model is installed, else the scripted test double (which still checks
for real speech). Last line: key=value figures."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from foundation.settings import Settings  # noqa: E402
from hotline.simcall import CallResult, place_call  # noqa: E402
from hotline.stack import Stack  # noqa: E402
from prompts.render import PromptStore  # noqa: E402
from tests.e2e.conftest import free_port  # noqa: E402

REQUEST = "龙华区金盘路{n}号门口的路灯坏了。"


def latencies(result: CallResult) -> tuple[float | None, list[float]]:
    """(greeting ms, [turn ms]) from one call's AMI events."""
    entered = None
    greeting = None
    turns: list[float] = []
    record_end = None
    for e in result.events:
        ts = float(e.get("Timestamp", "0") or 0)
        kind = e.get("Event")
        if kind == "Newexten" and e.get("Context") == "ivr" and e.get("Priority") == "1" and entered is None:
            entered = ts
        elif kind == "AGIExecStart" and e.get("Command", "").upper().startswith("STREAM FILE"):
            if greeting is None and entered is not None:
                greeting = (ts - entered) * 1000
            if record_end is not None:
                turns.append((ts - record_end) * 1000)
                record_end = None
        elif kind == "AGIExecEnd" and e.get("Command", "").upper().startswith("RECORD FILE"):
            record_end = ts
    return greeting, turns


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run(stack: Stack, voice: PromptStore, calls: int, concurrency: int, offset: int) -> dict[str, float]:
    yes = voice.text_path("对。") + ".wav"

    def one(i: int) -> CallResult:
        n = offset + i
        audio = Path(voice.text_path(REQUEST.format(n=n + 1)) + ".wav")
        return place_call(stack.settings, audio, caller=f"1390001{n:04d}", then=[yes], until="hangup")

    with ThreadPoolExecutor(concurrency) as pool:
        results = list(pool.map(one, range(calls)))
    greetings: list[float] = []
    turns: list[float] = []
    lost = 0
    for r in results:
        g, t = latencies(r)
        if g is not None:
            greetings.append(g)
        turns.extend(t)
        lost += r.ticket is None
    return {"calls": calls, "concurrency": concurrency, "lost": lost,
            "greeting_p50_ms": pct(greetings, 0.5), "greeting_p95_ms": pct(greetings, 0.95),
            "turn_p50_ms": pct(turns, 0.5), "turn_p95_ms": pct(turns, 0.95), "turns": len(turns)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--calls", type=int, default=20)
    ap.add_argument("--concurrency", type=int, default=20)
    ap.add_argument("--serial-calls", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        model = Settings(home=home).vosk_model_dir
        engine: dict[str, Any] = {}
        if not model.exists() and not Settings().vosk_model_dir.exists():
            script = home / "script.json"
            script.write_text(json.dumps({"*": [REQUEST.format(n=1).rstrip("。"), "对"]}, ensure_ascii=False))
            engine = {"asr_engine": "tests.doubles.scripted_asr:scripted_engine",
                      "asr_engine_options": str(script)}
        elif not model.exists():
            engine = {"vosk_model_path": str(Settings().vosk_model_dir)}
        import os

        os.environ["PYTHONPATH"] = str(REPO)
        settings = Settings(home=home, api_port=free_port(), agi_port=free_port(), ami_port=free_port(),
                            sip_port=free_port(), simulated_parties=True, queue_timeout_s=10, **engine)
        voice = PromptStore(home / "voice")
        stack = Stack(settings)
        stack.start()
        try:
            t0 = time.monotonic()
            serial = run(stack, voice, args.serial_calls, 1, 0)
            print("1 call at a time:", json.dumps(serial), flush=True)
            burst = run(stack, voice, args.calls, args.concurrency, 1000)
            print(f"{args.concurrency} at once:", json.dumps(burst), flush=True)
            elapsed = time.monotonic() - t0
        finally:
            stack.stop()
    asr = "scripted-double" if engine.get("asr_engine") else "vosk"
    print(f"asr={asr} greeting_p50_ms={serial['greeting_p50_ms']:.0f} greeting_p95_ms={serial['greeting_p95_ms']:.0f} "
          f"turn_p50_ms={serial['turn_p50_ms']:.0f} turn_p95_ms={serial['turn_p95_ms']:.0f} "
          f"c{args.concurrency}_greeting_p95_ms={burst['greeting_p95_ms']:.0f} "
          f"c{args.concurrency}_turn_p50_ms={burst['turn_p50_ms']:.0f} "
          f"c{args.concurrency}_turn_p95_ms={burst['turn_p95_ms']:.0f} "
          f"calls={serial['calls'] + burst['calls']} lost={serial['lost'] + burst['lost']} "
          f"elapsed_s={elapsed:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
