"""Simulated citizens answering satisfaction callbacks, and a dialer pinned to calling hours.

TEST DOUBLES: `Callees` stands in for the citizens' phones (the [sim-callee] dialplan context does the
answering; this drives what each one says at each prompt, as hotline.simcall does for callers), and
`AllDay` keeps the calling hours open so the tests run at any hour. The
calling-hours rule itself is tested in tests/callbacks/test_hours.py; the real `hotline dialer`
process is started in tests/e2e/test_callbacks.py::test_hotline_dialer_process_runs_and_stops.
"""

from __future__ import annotations

import socket
import sys
import threading
from collections import Counter
from dataclasses import replace
from datetime import datetime, time
from pathlib import Path
from time import sleep

from agi.ami import AmiClient, AmiError
from callbacks.hours import CallingHours
from callbacks.rules import CallbackRules
from foundation.asterisk_layout import AsteriskLayout
from foundation.settings import Settings
from hotline.asterisk import ami_secret_for


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


class AmiProxy:
    """TEST DOUBLE for the network between a dialer and Asterisk's AMI: a TCP relay a test can cut (the
    dialer sees EOF, as when Asterisk restarts or a link fails), keep refusing for a while (each new
    connection is closed before the banner), or cut right after it has passed an Originate on to Asterisk,
    before the response comes back."""

    def __init__(self, host: str, port: int) -> None:
        self.upstream = (host, port)
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.server.getsockname()[1])
        self.connections = 0  # relayed to Asterisk
        self.refused = 0
        self.cuts = 0
        self.originates = 0  # Originate actions passed on to Asterisk
        self.refusing = threading.Event()
        self.cut_after_originate = threading.Event()
        self._lock = threading.Lock()
        self._socks: list[socket.socket] = []
        threading.Thread(target=self._accept, name="ami-proxy", daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return  # closed
            if self.refusing.is_set():
                self.refused += 1
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.upstream, timeout=10)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self.connections += 1
                self._socks += [client, upstream]
            mute = threading.Event()  # set: nothing more from Asterisk reaches the dialer on this connection
            threading.Thread(target=self._pump, args=(client, upstream, mute), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, mute, False), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, mute: threading.Event, to_asterisk: bool = True) -> None:
        try:
            while data := src.recv(65536):
                if not to_asterisk:
                    if mute.is_set():
                        break
                    dst.sendall(data)
                    continue
                originate = b"Action: Originate\r\n" in data
                self.originates += data.count(b"Action: Originate\r\n")
                cut = originate and self.cut_after_originate.is_set()
                if cut:
                    mute.set()  # before Asterisk can answer: the response is lost for sure
                dst.sendall(data)
                if cut:
                    sleep(0.2)  # let Asterisk read the action before the line goes
                    self.cut_after_originate.clear()
                    self.cut()
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self) -> None:
        with self._lock:
            socks, self._socks = self._socks, []
            self.cuts += 1
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def close(self) -> None:
        self.server.close()
        self.cut()


def run_dialer_process() -> None:
    """`python -m tests.e2e.callback_sim`: the real dialer with calling hours always open, in its own process,
    so a test can kill it with SIGKILL mid-call."""
    import signal

    from foundation import logs
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
