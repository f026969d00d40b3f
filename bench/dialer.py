"""Callback dialer throughput on real Asterisk: N tickets reach 反馈 and M more are closed on the call
(即办件), the real dialer calls every citizen back through Local channels into simulated callees (most
answer 满意 by voice, every tenth is busy, a few tickets of each kind are anonymous and must not be
called), and we time until every job is done.

Figures: surveys completed per minute at the given concurrency, and the share of eligible closed
tickets that were attempted (target 1.00: every closed ticket is revisited but for anonymous / 不回访),
overall and for the 即办件 alone, counted from the attempts table and cross-checked against
Asterisk's own events (every ring of a simulated phone); duplicates counts any citizen rung more
often than the attempts table says. Recognition: the scripted test double (the Vosk model is not
needed for a throughput figure). Calling hours are held open (TEST DOUBLE AllDay) so the bench runs
at any hour. Last line: key=value figures."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sqlalchemy import func, select  # noqa: E402

from callbacks.models import CallbackAttempt, CallbackJob  # noqa: E402
from callbacks.rules import WorkflowDeps  # noqa: E402
from foundation.db import open_database  # noqa: E402
from foundation.settings import Settings  # noqa: E402
from hotline.roots import build_dialer  # noqa: E402
from hotline.stack import Stack  # noqa: E402
from prompts.render import PromptStore  # noqa: E402
from tests.callbacks.conftest import close_on_call_ticket, report_ticket  # noqa: E402
from tests.e2e.callback_sim import Callees, all_day  # noqa: E402
from tests.e2e.conftest import free_port  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--tickets", type=int, default=20)
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--on-call", type=int, default=6, help="即办件: tickets closed during the call")
    ap.add_argument("--anonymous", type=int, default=2, help="tickets of each kind that must not be called back")
    ap.add_argument("--timeout", type=float, default=900)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        script = home / "script.json"
        script.write_text(json.dumps({"*": ["满意"]}, ensure_ascii=False), encoding="utf-8")
        os.environ["PYTHONPATH"] = str(REPO)
        settings = Settings(home=home, api_port=free_port(), agi_port=free_port(), ami_port=free_port(),
                            sip_port=free_port(), simulated_parties=True,
                            asr_engine="tests.doubles.scripted_asr:scripted_engine", asr_engine_options=str(script),
                            callback_channel="Local/{number}@sim-callee/n", callback_ring_s=5, callback_delay_s=0,
                            callback_backoff_s="1", callback_poll_s=0.2, callback_per_minute=600,
                            callback_max_concurrent=args.concurrency, callback_lease_s=30)
        stack = Stack(settings)
        stack.start()
        db = open_database(settings.db_url)
        callees = Callees(settings)
        try:
            stack.stop_component("dialer")
            deps = WorkflowDeps.load()
            satisfied = PromptStore(home / "voice").text_path("满意。") + ".wav"
            reported = [f"1360000{i:04d}" for i in range(args.tickets)]
            on_call = [f"1361000{i:04d}" for i in range(args.on_call)]
            numbers = reported + on_call
            anonymous_numbers = reported[: args.anonymous] + on_call[: args.anonymous]
            eligible: list[tuple[int, str]] = []
            eligible_on_call: set[int] = set()
            for i, n in enumerate(numbers):
                callees.set(n, "busy" if i % 10 == 9 else satisfied)
                anonymous = n in anonymous_numbers
                if n in on_call:
                    tid = close_on_call_ticket(db.session_factory, deps, caller=n, anonymous=anonymous)
                    if not anonymous:
                        eligible_on_call.add(tid)
                else:
                    tid = report_ticket(db.session_factory, deps, caller=n, anonymous=anonymous)
                if not anonymous:
                    eligible.append((tid, n))
            dialer = build_dialer(settings)
            dialer.rules = all_day(dialer.rules)
            stop = threading.Event()
            worker = threading.Thread(target=dialer.run, args=(stop,), daemon=True)
            t0 = time.monotonic()
            worker.start()
            ids = [tid for tid, _ in eligible]
            while True:
                with db.session_factory() as s:
                    done = s.scalar(select(func.count()).where(CallbackJob.ticket_id.in_(ids),
                                                               CallbackJob.state == "done")) or 0
                    still_open = s.scalar(select(func.count()).where(CallbackAttempt.result == "open")) or 0
                if done == len(ids) and not still_open:
                    break
                if time.monotonic() - t0 > args.timeout:
                    print(f"timeout: {done}/{len(ids)} jobs done", file=sys.stderr)
                    break
                time.sleep(0.2)
            elapsed = time.monotonic() - t0
            stop.set()
            worker.join(30)
            dialer.close()
            with db.session_factory() as s:
                jobs = list(s.scalars(select(CallbackJob)))
                attempts = list(s.scalars(select(CallbackAttempt)))
        finally:
            callees.close()
            db.engine.dispose()
            stack.stop()
    attempted = {j.ticket_id for j in jobs if j.attempts > 0}
    answered = sum(j.outcome in ("satisfied", "basically_satisfied", "dissatisfied") for j in jobs)
    unreachable = sum(j.outcome == "unreachable" for j in jobs)
    per_number: dict[str, int] = {}
    job_number = {j.id: j.number for j in jobs}
    for a in attempts:
        per_number[job_number[a.job_id]] = per_number.get(job_number[a.job_id], 0) + 1
    duplicates = sum(max(0, callees.rung[n] - per_number.get(n, 0)) for n in numbers)
    wrongly_called = sum(callees.rung[n] for n in anonymous_numbers)
    share = len(attempted & set(ids)) / len(ids) if ids else 1.0
    on_call_share = len(attempted & eligible_on_call) / len(eligible_on_call) if eligible_on_call else 1.0
    on_call_jobs = sum(j.kind == "on_call" for j in jobs)
    print(f"tickets={args.tickets} on_call={args.on_call} eligible={len(ids)} on_call_eligible={len(eligible_on_call)} "
          f"concurrency={args.concurrency} completed_per_min={answered / elapsed * 60:.1f} answered={answered} "
          f"unreachable={unreachable} attempts={len(attempts)} attempted_share={share:.2f} "
          f"on_call_attempted_share={on_call_share:.2f} on_call_jobs={on_call_jobs} "
          f"anonymous_called={wrongly_called} duplicates={duplicates} elapsed_s={elapsed:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
