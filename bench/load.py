"""Load on real Asterisk: N simultaneous simulated calls, or a compressed replay of a peak day.

  burst:    N calls (e.g. 1, 50, 100, 200) originated at once; each caller states a request, hears the
            read-back and says 对. Reports the turn overhead (a RECORD FILE ends → the next STREAM FILE
            starts, on Asterisk's own AMI timestamps) p50/p95, the calls that got their ticket and the
            ones lost (no call record, or no ticket where one was due).
  peak-day: 10,400 calls (Haikou 12345's record day) on a typical 12345 hourly arrival curve,
            compressed into --minutes, with the daily mix: intake to a ticket, callers asking for a
            person mid-call (转人工), callers hanging up mid-request; and, at the same time, satisfaction
            callbacks (回访) for --callbacks tickets that departments answered the day before, made by the
            real dialer. Nothing may be lost: every call gets its ticket, every call the queue gave up on
            its 待回拨 mark (the promise of a call back), every callback its outcome,
            nobody is rung twice.

One AMI connection drives every simulated citizen (hotline.simcall's [citizen] context): per-call AMI
clients would make Asterisk copy every event to every client. Recognition is the scripted TEST
DOUBLE unless the Vosk model is installed (the double still requires real voice in the recording).
The dialer runs in this process with calling hours held open (TEST DOUBLE AllDay: a compressed day has
no office hours) and rings simulated citizens (TEST DOUBLE Callees: most say 满意, every 20th is busy).

Last line: key=value figures."""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
CLIPS = REPO.parent / "shared" / "audio" / "mandarin-real"

from sqlalchemy import func, select, text  # noqa: E402
from sqlalchemy.exc import OperationalError  # noqa: E402

from agi.ami import AmiClient, AmiError  # noqa: E402
from bench.turn_latency import pct  # noqa: E402
from callbacks.models import CallbackAttempt, CallbackJob  # noqa: E402
from callbacks.rules import WorkflowDeps  # noqa: E402
from foundation.asterisk_layout import AsteriskLayout  # noqa: E402
from foundation.db import make_engine, open_database  # noqa: E402
from foundation.settings import Settings  # noqa: E402
from hotline.asterisk import ami_secret_for  # noqa: E402
from hotline.roots import build_dialer  # noqa: E402
from hotline.simcall import prepare_steps  # noqa: E402
from hotline.stack import Stack  # noqa: E402
from prompts.render import PromptStore  # noqa: E402
from tests.callbacks.conftest import report_ticket  # noqa: E402
from tests.e2e.callback_sim import Callees, all_day  # noqa: E402
from tests.e2e.conftest import free_port  # noqa: E402
from tests.pg import PostgresServer  # noqa: E402
from tickets.models import Call, Ticket  # noqa: E402

LAMP = "龙华区金盘路的路灯坏了好几天了晚上很黑"
# Share of each hour of a 12345 peak day (00h..23h): quiet nights, peaks late morning and afternoon.
HOURLY = [0.6, 0.4, 0.3, 0.3, 0.3, 0.5, 1.2, 3.0, 6.5, 8.5, 8.8, 7.6, 5.2, 5.6, 7.4, 7.8, 7.2, 6.0,
          4.2, 3.6, 3.3, 2.4, 1.6, 1.0]
MIX = {"intake": 0.75, "transfer": 0.15, "hangup": 0.10}  # hangup: mid-request


@dataclass
class Pending:
    kind: str
    steps: list[str]
    events: list[dict[str, str]] = field(default_factory=list)
    done: threading.Event = field(default_factory=threading.Event)
    started: float = 0.0
    originate_failed: bool = False


class Driver:
    """Many simulated citizens over one AMI connection (the protocol of hotline.simcall.place_call)."""

    def __init__(self, settings: Settings, reaction_s: float = 0.3) -> None:
        self.settings = settings
        self.reaction_s = reaction_s
        self.layout = AsteriskLayout(settings.asterisk_dir)
        self.calls: dict[str, Pending] = {}
        self.lock = threading.Lock()
        self.ami = AmiClient(settings.ami_host, settings.ami_port, settings.ami_user, ami_secret_for(settings))
        self.ami.connect(timeout=10)
        self.ami.subscribe(self._on_event)
        self.actions = ThreadPoolExecutor(16, thread_name_prefix="ami-action")

    def close(self) -> None:
        self.actions.shutdown(wait=True, cancel_futures=True)  # stopping early: queued calls are not placed
        self.ami.close()

    def originate(self, kind: str, steps: list[str], caller: str) -> str:
        chan_id = uuid.uuid4().hex
        with self.lock:
            self.calls[chan_id] = pending = Pending(kind, steps, started=time.monotonic())
        try:
            self.ami.originate("Local/s@citizen/n", context="ivr", exten="12345", priority=1,
                               caller_id=f'"" <{caller}>',
                               variables={"SIM_STEPS": "^".join(steps),
                                          "SIM_SILENCE": str(self.layout.sim_silence)},
                               timeout_ms=30000, async_=True, channel_id=chan_id)
        except AmiError as exc:
            # An overloaded Asterisk may not even acknowledge the Originate: the call may or may not
            # happen. It stays counted; if it never rings, it shows as lost ("originate_failed").
            print(f"originate {chan_id}: {exc}", file=sys.stderr, flush=True)
            pending.originate_failed = True
            pending.done.set()
        return chan_id

    def _on_event(self, e: dict[str, str]) -> None:
        uid = e.get("Uniqueid", "")
        p = self.calls.get(uid) or self.calls.get(e.get("Linkedid", ""))
        if p is None:
            return
        p.events.append(e)
        kind = e.get("Event")
        if kind == "AGIExecStart" and uid in self.calls and e.get("Command", "").upper().startswith("RECORD FILE"):
            citizen = e["Channel"].rsplit(";", 1)[0] + ";2"
            self.actions.submit(self._redirect, citizen)
        elif kind == "UserEvent" and e.get("UserEvent") == "HotlineTransfer":
            p.done.set()
            self.actions.submit(self._hangup, uid)  # handed over: the citizen leaves, freeing the queue
        elif kind == "Hangup" and uid in self.calls:
            p.done.set()

    def _redirect(self, channel: str) -> None:
        time.sleep(self.reaction_s)  # a caller starts talking a moment after the prompt
        try:
            self.ami.action("Redirect", Channel=channel, Context="citizen", Exten="next", Priority=1)
        except AmiError:
            pass  # the citizen already hung up

    def _hangup(self, uniqueid: str) -> None:
        try:
            self.ami.action("Hangup", Channel=self._channel_of(uniqueid))
        except (AmiError, KeyError):
            pass

    def _channel_of(self, uniqueid: str) -> str:
        for e in self.calls[uniqueid].events:
            if e.get("Uniqueid") == uniqueid and e.get("Channel"):
                return e["Channel"]
        raise KeyError(uniqueid)


def turn_overheads(events: list[dict[str, str]], uniqueid: str) -> list[float]:
    """RECORD FILE end → next STREAM FILE start, ms, on the bot's channel (AMI timestamps)."""
    turns: list[float] = []
    record_end = None
    for e in events:
        if e.get("Uniqueid") != uniqueid:
            continue
        ts = float(e.get("Timestamp", "0") or 0)
        cmd = e.get("Command", "").upper()
        if e.get("Event") == "AGIExecStart" and cmd.startswith("STREAM FILE") and record_end is not None:
            turns.append((ts - record_end) * 1000)
            record_end = None
        elif e.get("Event") == "AGIExecEnd" and cmd.startswith("RECORD FILE"):
            record_end = ts
    return turns


@dataclass
class Outcome:
    calls: int
    tickets: int
    lost: int
    turns: list[float]
    unfinished: int
    wall_s: float
    lost_detail: list[str] = field(default_factory=list)
    owed: int = 0  # calls nobody answered in the queue: each must end with its ticket marked 待回拨
    marked: int = 0


OVERFLOW_STATUSES = {"TIMEOUT", "FULL", "JOINEMPTY", "LEAVEEMPTY", "JOINUNAVAIL", "LEAVEUNAVAIL"}


def owed_callback(events: list[dict[str, str]]) -> bool:
    """The dialplan sent the call to the overflow leg (extensions.conf: HotlineQueueExit, then overflow)."""
    return any(e.get("Event") == "UserEvent" and e.get("UserEvent") == "HotlineQueueExit"
               and e.get("QueueStatus", "") in OVERFLOW_STATUSES for e in events)


def check(settings: Settings, driver: Driver, ids: list[str], wall_s: float) -> Outcome:
    """Every call recorded and closed, a ticket for each (all three kinds say something worth one), and
    every call the queue gave up on marked 待回拨."""
    db = open_database(settings.db_url)
    owed = [u for u in ids if owed_callback(driver.calls[u].events)]
    # Calls that fell back to their journal land when the AGI server replays it, and overflow legs may
    # still be speaking: wait for those too.
    deadline = time.monotonic() + 300
    try:
        while True:
            with db.session_factory() as s:
                calls = {c.uniqueid: c for c in s.scalars(select(Call).where(Call.uniqueid.in_(ids)))}
                with_ticket = set(s.scalars(select(Call.uniqueid).join(Ticket, Ticket.call_id == Call.id)
                                            .where(Call.uniqueid.in_(ids))))
                marked = set(s.scalars(select(Call.uniqueid).join(Ticket, Ticket.call_id == Call.id)
                                       .where(Call.uniqueid.in_(owed), Ticket.missed_callback.is_(True))))
            open_calls = [u for u in ids if u in calls and calls[u].outcome == "in_progress"]
            journaled = list(settings.journal_dir.glob("*.jsonl")) if settings.journal_dir.exists() else []
            settled = not open_calls and not journaled and len(marked) == len(owed)
            if settled or time.monotonic() > deadline:
                break
            time.sleep(1)
    finally:
        db.engine.dispose()
    unmarked = [u for u in owed if u not in marked]
    lost = [u for u in ids if u not in with_ticket] + unmarked
    turns: list[float] = []
    for u in ids:
        turns += turn_overheads(driver.calls[u].events, u)
    detail = [f"{driver.calls[u].kind}:{calls[u].outcome if u in calls else 'no_call'}"
              f"{':originate_failed' if driver.calls[u].originate_failed else ''}"
              f"{':not_marked_待回拨' if u in unmarked else ''}" for u in lost]
    return Outcome(len(ids), len(with_ticket), len(lost), turns, len(open_calls), wall_s, detail,
                   owed=len(owed), marked=len(marked))


def burst(stack: Stack, driver: Driver, voice: PromptStore, n: int, offset: int,
          real_speech: list[Path] | None = None) -> Outcome:
    yes = voice.text_path("对。") + ".wav"
    if real_speech:
        # A real recogniser needs real speech: each caller plays one of the real clips, gives no place
        # (silence if asked) and confirms on the keypad.
        steps = [prepare_steps(stack.settings, real_speech[i % len(real_speech)], ["silence:2", "dtmf:1"])
                 for i in range(n)]
    else:
        steps = [prepare_steps(stack.settings, Path(voice.text_path(f"{LAMP}。") + ".wav"), [yes])
                 for _ in range(n)]
    t0 = time.monotonic()
    ids = [driver.originate("intake", s, f"1391{offset + i:07d}") for i, s in enumerate(steps)]
    for u in ids:
        driver.calls[u].done.wait(600)
    return check(stack.settings, driver, ids, time.monotonic() - t0)


def peak_day(stack: Stack, driver: Driver, voice: PromptStore, total: int, minutes: float,
             seed: int) -> Outcome:
    rng = random.Random(seed)
    request = Path(voice.text_path(f"{LAMP}。") + ".wav")
    yes, person = voice.text_path("对。") + ".wav", voice.text_path("我要转人工。") + ".wav"
    plans = {"intake": prepare_steps(stack.settings, request, [yes]),
             "transfer": prepare_steps(stack.settings, request, [person]),
             "hangup": prepare_steps(stack.settings, request, ["hangup"])}
    day_s = minutes * 60
    weights = [w / sum(HOURLY) for w in HOURLY]
    arrivals = sorted((h + rng.random()) / 24 * day_s
                      for h in rng.choices(range(24), weights=weights, k=total))
    kinds = rng.choices(list(MIX), weights=list(MIX.values()), k=total)
    t0 = time.monotonic()
    ids: list[str] = []
    for i, (at, kind) in enumerate(zip(arrivals, kinds, strict=True)):
        delay = t0 + at - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        ids.append(driver.originate(kind, plans[kind], f"1392{i:07d}"))
    for u in ids:
        driver.calls[u].done.wait(600)
    return check(stack.settings, driver, ids, time.monotonic() - t0)


def process_cpu_s(pid: int | None) -> float:
    """CPU seconds of a process and of its children it has reaped (the AGI server's call processes)."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")  # utime stime cutime cstime


class CpuMeter:
    """CPU seconds spent by each part of the stack between two readings: what a call costs, by part."""

    def __init__(self, stack: Stack) -> None:
        self.pids: dict[str, int | None] = {"asterisk": stack.asterisk.pid if stack.asterisk else None,
                                            **{name: p.pid for name, p in stack.children.items()}}
        self.start = self.read()

    def read(self) -> dict[str, float]:
        return {name: process_cpu_s(pid) for name, pid in self.pids.items()} | {"bench": sum(os.times()[:2])}

    def per_call(self, calls: int) -> dict[str, float]:
        now = self.read()
        used = {name: (now[name] - self.start.get(name, 0.0)) / max(1, calls) for name in now}
        self.start = now
        return used


class BackendSampler:
    """Samples how many PostgreSQL backends serve the bench's database, every second."""

    def __init__(self, url: str) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._engine = make_engine(url, pooled=False)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        query = text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
        while not self._stop.wait(1.0):
            try:
                with self._engine.connect() as c:
                    self.peak = max(self.peak, int(c.execute(query).scalar_one()) - 1)
            except OperationalError:
                pass  # the server is full: the sample that matters is the one before

    def close(self) -> int:
        self._stop.set()
        self._thread.join(5)
        self._engine.dispose()
        return self.peak


def callback_number(i: int) -> str:
    return f"1370{i:07d}"


class CallbackMix:
    """The day's callbacks: tickets a department answered (反馈) yesterday, called back by the real dialer
    while the calls come in."""

    def __init__(self, stack: Stack, voice: PromptStore, n: int) -> None:
        settings = stack.settings
        stack.stop_component("dialer")  # replaced by one with calling hours held open
        self.db = open_database(settings.db_url)
        self.callees = Callees(settings)
        deps = WorkflowDeps.load()
        satisfied = voice.text_path("满意。") + ".wav"
        self.numbers = [callback_number(i) for i in range(n)]
        self.ids = []
        for i, number in enumerate(self.numbers):
            self.callees.set(number, "busy" if i % 20 == 19 else satisfied)
            self.ids.append(report_ticket(self.db.session_factory, deps, caller=number))
        self.dialer = build_dialer(settings)
        self.dialer.rules = all_day(self.dialer.rules)
        self.stop = threading.Event()
        self.worker = threading.Thread(target=self.dialer.run, args=(self.stop,), daemon=True)
        self.worker.start()

    def finish(self, timeout_s: float) -> dict[str, float]:
        """Waits for every job to end (or the timeout), stops the dialer and counts."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self.db.session_factory() as s:
                done = s.scalar(select(func.count()).where(CallbackJob.ticket_id.in_(self.ids),
                                                           CallbackJob.state == "done")) or 0
                still_open = s.scalar(select(func.count()).where(CallbackAttempt.result == "open")) or 0
            if done == len(self.ids) and not still_open:
                break
            time.sleep(1)
        self.stop.set()
        self.worker.join(60)
        self.dialer.close()
        with self.db.session_factory() as s:
            jobs = list(s.scalars(select(CallbackJob).where(CallbackJob.ticket_id.in_(self.ids))))
            attempts = list(s.scalars(select(CallbackAttempt)))
        self.callees.close()
        self.db.engine.dispose()
        number_of = {j.id: j.number for j in jobs}
        made: dict[str, int] = {}
        for a in attempts:
            made[number_of.get(a.job_id, "")] = made.get(number_of.get(a.job_id, ""), 0) + 1
        return {
            "callbacks": len(self.ids),
            "callbacks_done": sum(j.state == "done" for j in jobs),
            "callbacks_answered": sum(j.outcome in ("satisfied", "basically_satisfied", "dissatisfied")
                                      for j in jobs),
            "callbacks_unreachable": sum(j.outcome == "unreachable" for j in jobs),
            "callbacks_attempted_share": len({j.ticket_id for j in jobs if j.attempts > 0}) / max(1, len(self.ids)),
            # rung more often than the attempts table says: a citizen called twice for one attempt
            "callbacks_duplicates": sum(max(0, self.callees.rung[n] - made.get(n, 0)) for n in self.numbers),
        }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--calls", default="1,50,100,200", help="burst sizes, comma-separated")
    ap.add_argument("--peak-day", action="store_true", help="replay a compressed peak day instead of bursts")
    ap.add_argument("--day-calls", type=int, default=10_400)
    ap.add_argument("--minutes", type=float, default=15, help="the peak day compressed into this long")
    ap.add_argument("--seed", type=int, default=12345)
    ap.add_argument("--engine", choices=["scripted", "whisper"], default="scripted",
                    help="whisper: the real recogniser, and the real clips of ../shared/audio as callers (bursts)")
    ap.add_argument("--callbacks", type=int, default=-1,
                    help="peak day: callbacks to make meanwhile (default: a tenth of --day-calls)")
    ap.add_argument("--callback-concurrency", type=int, default=8)
    ap.add_argument("--database-url", default="", help="default: SQLite in a temporary HOTLINE_HOME")
    ap.add_argument("--postgres", type=int, metavar="MAX_CONNECTIONS", default=0,
                    help="start a throwaway PostgreSQL (default settings, fsync on) allowing this many clients")
    ap.add_argument("--home", help="keep HOTLINE_HOME (logs, database) here instead of a temporary directory")
    args = ap.parse_args()
    # SIGTERM stops the run like Ctrl-C: the finally blocks stop the stack and PostgreSQL.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    pg = None
    if args.postgres:
        pg = PostgresServer(max_connections=args.postgres, durable=True)
        pg.start()
        args.database_url = pg.create_database("load")
    try:
        return run(args)
    finally:
        if pg is not None:
            pg.stop()


def cpu_figure(used: dict[str, float]) -> str:
    """Prints the split, returns the stack's CPU per call (the simulated citizens' driver excluded)."""
    print("cpu seconds per call:", json.dumps({k: round(v, 3) for k, v in used.items()}), flush=True)
    return f"cpu_s_per_call={sum(v for k, v in used.items() if k != 'bench'):.2f}"


def run(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(args.home or tmp)
        home.mkdir(parents=True, exist_ok=True)
        script = home / "script.json"
        # Callers state the lamp and confirm; citizens called back (keyed by their number) say 满意.
        n_callbacks = (args.day_calls // 10 if args.callbacks < 0 else args.callbacks) if args.peak_day else 0
        script.write_text(json.dumps({"*": [LAMP, "对"]} | {callback_number(i): ["满意"] for i in range(n_callbacks)},
                                     ensure_ascii=False), encoding="utf-8")
        engine: dict[str, str] = {"asr_engine": "tests.doubles.scripted_asr:scripted_engine",
                                  "asr_engine_options": str(script)}
        real_speech: list[Path] | None = None
        if args.engine == "whisper":
            from asr.whisper_install import ensure_whisper_base

            model = ensure_whisper_base(Settings().whisper_model_dir)
            engine = {"asr_engine": "whisper", "whisper_model_path": str(model)}
            real_speech = sorted(CLIPS.glob("*.wav"))
        elif Settings().vosk_model_dir.exists():
            engine = {"vosk_model_path": str(Settings().vosk_model_dir)}
        os.environ["PYTHONPATH"] = str(REPO)
        settings = Settings(home=home, api_port=free_port(), agi_port=free_port(), ami_port=free_port(),
                            sip_port=free_port(), simulated_parties=True, queue_timeout_s=10,
                            database_url=args.database_url,
                            callback_channel="Local/{number}@sim-callee/n", callback_ring_s=5, callback_delay_s=0,
                            callback_backoff_s="5", callback_poll_s=0.5, callback_per_minute=600,
                            callback_max_concurrent=args.callback_concurrency, callback_lease_s=60,
                            **engine)  # type: ignore[arg-type]
        voice = PromptStore(home / "voice")
        stack = Stack(settings)
        stack.start()
        driver = Driver(settings)
        cpu = CpuMeter(stack)
        asr_name = engine.get("asr_engine", "vosk").replace("tests.doubles.scripted_asr:scripted_engine",
                                                            "scripted-double")
        figures: list[str] = [f"asr={asr_name}",
                              f"db={settings.db_url.split(':', 1)[0].split('+')[0]}"]
        sampler = BackendSampler(settings.db_url) if settings.db_url.startswith("postgresql") else None
        lost = 0
        try:
            if args.peak_day:
                mix = CallbackMix(stack, voice, n_callbacks) if n_callbacks else None
                cpu.per_call(1)  # seeding the callbacks is not the day's work
                o = peak_day(stack, driver, voice, args.day_calls, args.minutes, args.seed)
                print("peak day:", json.dumps({"calls": o.calls, "tickets": o.tickets, "lost": o.lost,
                                               "owed_待回拨": o.owed, "marked_待回拨": o.marked,
                                               "unfinished": o.unfinished, "wall_s": round(o.wall_s),
                                               "lost_detail": o.lost_detail[:20]}, ensure_ascii=False), flush=True)
                figures.append(cpu_figure(cpu.per_call(o.calls)))
                figures += [f"day_calls={o.calls}", f"day_minutes={args.minutes:g}", f"tickets={o.tickets}",
                            f"owed_callbacks={o.owed}", f"marked_callbacks={o.marked}",
                            f"turn_p50_ms={pct(o.turns, 0.5):.0f}", f"turn_p95_ms={pct(o.turns, 0.95):.0f}",
                            f"wall_s={o.wall_s:.0f}"]
                lost = o.lost
                if mix is not None:
                    cb = mix.finish(timeout_s=max(600.0, n_callbacks * 10.0))
                    print("callbacks:", json.dumps(cb), flush=True)
                    figures += [f"{k}={v:.2f}" if isinstance(v, float) else f"{k}={v}" for k, v in cb.items()]
                    lost += int(cb["callbacks"] - cb["callbacks_done"]) + int(cb["callbacks_duplicates"])
            else:
                offset = 0
                for n in (int(x) for x in args.calls.split(",")):
                    o = burst(stack, driver, voice, n, offset, real_speech)
                    offset += n
                    used = cpu.per_call(n)
                    print(f"{n} at once:", json.dumps({"calls": o.calls, "tickets": o.tickets, "lost": o.lost,
                                                       "turn_p50_ms": round(pct(o.turns, 0.5)),
                                                       "turn_p95_ms": round(pct(o.turns, 0.95)),
                                                       "wall_s": round(o.wall_s), "lost_detail": o.lost_detail[:20]}),
                          flush=True)
                    figures += [f"c{n}_turn_p50_ms={pct(o.turns, 0.5):.0f}",
                                f"c{n}_turn_p95_ms={pct(o.turns, 0.95):.0f}", f"c{n}_tickets={o.tickets}"]
                    figures.append(f"c{n}_{cpu_figure(used)}")
                    lost += o.lost
            if sampler is not None:
                figures.append(f"pg_backends_peak={sampler.close()}")
        finally:
            # A second Ctrl-C or SIGTERM must not cut the clean-up short and leave the stack running.
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            try:
                driver.close()
            finally:
                stack.stop()
    print(" ".join([*figures, f"lost={lost}"]))
    return 0 if lost == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
