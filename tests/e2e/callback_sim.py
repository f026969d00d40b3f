"""Simulated citizens answering satisfaction callbacks, and a dialer pinned to calling hours.

TEST DOUBLES: `Callees` stands in for the citizens' phones (the [sim-callee] dialplan context does the
answering; this drives what each one says at each prompt, as hotline.simcall does for callers), and
`AllDay` keeps the calling hours open so the tests run at any hour. The
calling-hours rule itself is tested in tests/callbacks/test_hours.py; the real `hotline dialer`
process is started in tests/e2e/test_callbacks.py::test_hotline_dialer_process_runs_and_stops.
"""

from __future__ import annotations

import sys
import threading
from collections import Counter
from dataclasses import replace
from datetime import datetime, time
from pathlib import Path

from agi.ami import AmiClient, AmiError
from callbacks.hours import CallingHours
from callbacks.rules import CallbackRules
from hotline.asterisk import AsteriskLayout, ami_secret_for
from hotline.settings import Settings


class AllDay(CallingHours):
    """TEST DOUBLE: calling hours that never close, so the tests run at any hour, weekends included."""

    def __init__(self) -> None:
        super().__init__(windows=((time(8), time(21)),))

    def allows(self, moment: datetime) -> bool:
        return True

    def next_start(self, moment: datetime) -> datetime:
        return moment


def all_day(rules: CallbackRules, **overrides: object) -> CallbackRules:
    return replace(rules, hours=AllDay(), **overrides)  # type: ignore[arg-type]


class Callees:
    """Sets what each simulated citizen does (global SIM_CALLEE_<number>) and feeds their answers at
    each prompt; counts every time a citizen's phone was rung (originations, from Asterisk's own events)."""

    def __init__(self, settings: Settings, reaction_s: float = 0.3) -> None:
        self.settings = settings
        self.reaction_s = reaction_s
        self.rung: Counter[str] = Counter()
        self.ami = AmiClient(settings.ami_host, settings.ami_port, settings.ami_user, ami_secret_for(settings))
        self.ami.connect(timeout=10)
        self.ami.action("Setvar", Variable="SIM_CALLEE_SILENCE", Value=str(AsteriskLayout(settings.asterisk_dir)
                                                                            .sim_silence))
        self._lock = threading.Lock()
        self.ami.subscribe(self._on_event)

    def set(self, number: str, *steps: str | Path) -> None:
        """'busy', 'noanswer', or steps: a WAV path (spoken), 'dtmf:D', 'silence' (say nothing), 'hangup'."""
        parts = []
        for step in steps:
            text = str(step)
            if text in ("busy", "noanswer", "hangup") or text.startswith("dtmf:"):
                parts.append(text)
            elif text == "silence":
                parts.append("")
            else:
                parts.append(f"play:{Path(text).with_suffix('')}")
        self.ami.action("Setvar", Variable=f"SIM_CALLEE_{number}", Value="^".join(parts) or "silence")

    def _on_event(self, e: dict[str, str]) -> None:
        if e.get("Event") == "UserEvent" and e.get("UserEvent") == "HotlineSimCallee":
            with self._lock:
                self.rung[e.get("Number", "")] += 1
        chan = e.get("Channel", "")
        if (e.get("Event") == "AGIExecStart" and "@sim-callee-" in chan and chan.endswith(";1")
                and e.get("Command", "").upper().startswith("RECORD FILE")):
            threading.Timer(self.reaction_s, self._next, args=(chan[:-2] + ";2",)).start()

    def _next(self, citizen: str) -> None:
        try:
            self.ami.action("Redirect", Channel=citizen, Context="citizen", Exten="next", Priority=1)
        except AmiError:
            pass  # the citizen already hung up

    def close(self) -> None:
        self.ami.close()


def run_dialer_process() -> None:
    """`python -m tests.e2e.callback_sim`: the real dialer with calling hours always open, in its own process,
    so a test can kill it with SIGKILL mid-call."""
    import signal

    from hotline import logs
    from hotline.roots import build_dialer

    settings = Settings()
    logs.setup(settings.log_level, settings.logs_dir / "dialer-test.log")
    dialer = build_dialer(settings)
    dialer.rules = all_day(dialer.rules)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        dialer.run(stop)
    finally:
        dialer.close()


if __name__ == "__main__":
    run_dialer_process()
    sys.exit(0)
