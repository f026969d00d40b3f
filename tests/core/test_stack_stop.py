"""hotline.stack.stop_group: nothing a stack's child forked outlives the stack."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from hotline.stack import stop_group

# A child that forks a "call process" which ignores SIGTERM (as one stuck on a dead channel would),
# writes the grandchild's pid, then exits on SIGTERM (or, with "stubborn", ignores it too).
CHILD = """
import os, signal, sys, time
pid = os.fork()
if pid == 0:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    time.sleep(600)
    os._exit(0)
open(sys.argv[1], "w").write(str(pid))
if sys.argv[2] == "stubborn":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
time.sleep(600)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (dead, not yet reaped by init) is not alive
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split(") ", 1)[1][0] != "Z"


def _start(tmp_path: Path, how: str) -> tuple[subprocess.Popen[bytes], int]:
    pid_file = tmp_path / "grandchild.pid"
    p = subprocess.Popen([sys.executable, "-c", CHILD, str(pid_file), how], process_group=0)
    deadline = time.monotonic() + 10
    while not (pid_file.exists() and pid_file.read_text()):
        assert time.monotonic() < deadline, "the child did not fork"
        time.sleep(0.05)
    return p, int(pid_file.read_text())


def _wait_gone(pid: int) -> bool:
    deadline = time.monotonic() + 5
    while _alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_a_forked_process_that_ignores_sigterm_is_killed_after_the_grace(tmp_path: Path) -> None:
    p, grandchild = _start(tmp_path, "polite")
    p.send_signal(signal.SIGTERM)
    t0 = time.monotonic()
    stop_group(p, grace_s=0.5)
    assert p.returncode == -signal.SIGTERM and time.monotonic() - t0 < 5
    assert _wait_gone(grandchild)


def test_a_child_that_ignores_sigterm_is_killed_with_its_group(tmp_path: Path) -> None:
    p, grandchild = _start(tmp_path, "stubborn")
    p.send_signal(signal.SIGTERM)
    stop_group(p, grace_s=0.5)
    assert p.returncode == -signal.SIGKILL
    assert _wait_gone(grandchild)


def test_an_empty_group_returns_at_once(tmp_path: Path) -> None:
    p = subprocess.Popen([sys.executable, "-c", "pass"], process_group=0)
    p.wait()
    t0 = time.monotonic()
    stop_group(p, grace_s=10)
    assert time.monotonic() - t0 < 1
