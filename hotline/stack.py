"""`hotline up`: the whole stack in the foreground — Asterisk on the rendered asterisk-conf/, the
FastAGI server and the API — each in its own process, stopped together."""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from types import FrameType

from foundation import migrate
from foundation.settings import Settings
from hotline.asterisk import AsteriskError, AsteriskProcess, render_config

log = logging.getLogger(__name__)


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment that gives a child process exactly these settings."""
    env = dict(os.environ)
    for name, value in settings.model_dump().items():
        if value is None:
            continue
        env[f"HOTLINE_{name.upper()}"] = str(value).lower() if isinstance(value, bool) else str(value)
    return env


def prepare(settings: Settings) -> None:
    """Everything `up` needs that is quick and idempotent: dirs, schema, prompts."""
    from accounts.bootstrap import bootstrap
    from foundation.db import open_database, transaction
    from prompts.render import PromptStore
    from routing.catalog import load_catalog

    settings.ensure_dirs()
    migrate.upgrade(settings.db_url)
    db = open_database(settings.db_url)
    try:
        with transaction(db.session_factory) as session:
            bootstrap(session, catalog=load_catalog(), secrets_dir=settings.secrets_dir)
    finally:
        db.engine.dispose()
    PromptStore(settings.prompts_dir).render_all()


def stop_group(p: subprocess.Popen[bytes], *, grace_s: float) -> None:
    """Wait up to `grace_s` for a child started with process_group=0 (SIGTERM already sent) and for
    whatever it forked, then SIGKILL the rest of its group: nothing outlives the stack. A call process
    killed here is like one that crashed; its journal is replayed at the next start."""
    deadline = time.monotonic() + grace_s
    try:
        p.wait(grace_s)
    except subprocess.TimeoutExpired:
        log.error("process %d did not stop within %.0f s; killing its group", p.pid, grace_s)
    while time.monotonic() < deadline and _group_alive(p.pid):
        time.sleep(0.1)
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass  # the group is empty
    p.wait()


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


# The scheduler (overdue sweep, notifications) is supervised like the others: restarted if it dies.
# The recognition service owns the speech model for every call on this host (asr/service.py).
COMPONENTS = {"asr": ("asr-service",), "agi": ("agi-server",), "api": ("api",), "scheduler": ("scheduler",),
              "dialer": ("dialer",)}


class Stack:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.asterisk: AsteriskProcess | None = None
        self.children: dict[str, subprocess.Popen[bytes]] = {}
        self._restarts: dict[str, list[float]] = {}  # monotonic times of recent restarts, per process

    def _spawn(self, name: str) -> None:
        with (self.settings.logs_dir / f"{name}.log").open("ab") as log_file:
            self.children[name] = subprocess.Popen(
                [sys.executable, "-m", "hotline.cli", *COMPONENTS[name]], env=settings_env(self.settings),
                stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT,
                process_group=0,  # its own group, so stop() can reach the call processes it forks
            )

    def stop_component(self, name: str) -> None:
        """Stop one process (fault tests: the AGI server down)."""
        p = self.children.pop(name)
        p.terminate()
        stop_group(p, grace_s=10)

    def start_component(self, name: str, timeout: float = 30) -> None:
        self._spawn(name)
        deadline = time.monotonic() + timeout
        while not self.healthy():
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not come back within {timeout:.0f} s")
            time.sleep(0.1)

    def start(self, timeout: float = 60) -> None:
        prepare(self.settings)
        for name in COMPONENTS:
            if name == "asr" and not self.settings.asr_service:
                continue  # each AGI server loads its own engine
            self._spawn(name)
        self.asterisk = AsteriskProcess(render_config(self.settings))
        self.asterisk.start()
        deadline = time.monotonic() + timeout
        while not self.healthy():
            for name, p in self.children.items():
                if p.poll() is not None:
                    self.stop()
                    raise RuntimeError(f"{name} exited with {p.returncode}; see "
                                       f"{self.settings.logs_dir / (name + '.log')}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("stack did not become healthy in time")
            time.sleep(0.2)

    def healthy(self) -> bool:

        try:
            with urllib.request.urlopen(f"{self.api_url}/health", timeout=2) as r:
                if r.status != 200:
                    return False
            with socket.create_connection((self.settings.agi_host, self.settings.agi_port), timeout=2):
                pass
            if "asr" in self.children:
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
                    probe.settimeout(2)
                    probe.connect(str(self.settings.asr_socket))
        except OSError:
            return False
        return self.asterisk is not None and self.asterisk.running

    @property
    def api_url(self) -> str:
        return f"http://{self.settings.api_host}:{self.settings.api_port}"

    def stop(self) -> None:
        for p in self.children.values():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        if self.asterisk is not None:
            self.asterisk.stop()  # hangs up the calls: their AGI processes end on their own
        for p in self.children.values():
            stop_group(p, grace_s=10)
        self.children.clear()

    def supervise_once(self) -> bool:
        """Restart any process that died, Asterisk included (the dialplan sends calls to the queue
        while a service is down); one that keeps dying is restarted less and less often, never in a
        tight loop. False when Asterisk cannot be started again, which ends the stack."""
        now = time.monotonic()
        for name, p in list(self.children.items()):
            if p.poll() is not None and self._restart_due(name, now):
                log.error("%s exited with %s; restarting it", name, p.returncode)
                self._spawn(name)
        if self.asterisk is not None and not self.asterisk.running and self._restart_due("asterisk", now):
            log.error("asterisk stopped; restarting it (calls it was carrying are gone)")
            try:
                self.asterisk.start()
            except AsteriskError as exc:
                log.error("asterisk did not start again: %s", exc)
                return False
        return True

    def _restart_due(self, name: str, now: float) -> bool:
        """At once for the first 3 restarts within a minute, then 2, 4, 8 ... up to 60 s apart."""
        recent = [t for t in self._restarts.get(name, []) if now - t < 60]
        wait = 0 if len(recent) < 3 else min(60, 2 ** (len(recent) - 2))
        if recent and now - recent[-1] < wait:
            return False
        self._restarts[name] = [*recent, now]
        return True

    def wait(self) -> int:
        """Block until a signal or Asterisk stops, restarting crashed services; then stop everything."""
        stopping = False

        def _stop(_sig: int, _frame: FrameType | None) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        code = 0
        while not stopping:
            if not self.supervise_once():
                log.error("asterisk stopped; stopping the stack")
                code = 1
                break
            time.sleep(1.0)  # also paces restarts of a process that dies at once
        self.stop()
        return code
