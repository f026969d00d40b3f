"""Handlers for the server tests, and a FastAGI server process for fork mode.

Fork mode is served from a spawned process, like production: forked children of the test
process itself would inherit the fake Asterisk's client sockets, so closing one in the test
would never reach its handler as EOF.
"""

from __future__ import annotations

import logging
import os
import signal
from multiprocessing.connection import Connection
from pathlib import Path
from types import FrameType

from agi.channel import HotlineAGI
from agi.request import AgiRequest
from agi.server import FastAgiServer, Handler


def echo(agi: HotlineAGI, request: AgiRequest) -> None:
    """Reads X, answers with what it saw of the request and which process served it."""
    x = agi.get_var("X")
    agi.set_var("SEEN", f"{request.path}|{request.query}|{request.callerid}|{request.uniqueid}|{x}")
    agi.set_var("PID", os.getpid())


def boom(agi: HotlineAGI, request: AgiRequest) -> None:
    agi.answer()
    raise RuntimeError("handler bug")


def plays_until_hangup(agi: HotlineAGI, request: AgiRequest) -> None:
    while True:
        agi.play("prompt")


ROUTES: dict[str, Handler] = {"/echo": echo, "/boom": boom, "/loop": plays_until_hangup}


def serve(conn: Connection, report_dir: str | None, max_children: int) -> None:
    """Run a fork-mode server until SIGTERM; sends its port through ``conn``."""
    logging.basicConfig(level=logging.INFO)

    def after_fork() -> None:
        if report_dir is not None:  # only tests that count children ask for the marker files
            (Path(report_dir) / f"forked-{os.getpid()}").touch()

    server = FastAgiServer("127.0.0.1", 0, ROUTES, mode="fork", max_children=max_children,
                           after_fork=after_fork)

    def on_term(signum: int, frame: FrameType | None) -> None:
        server.shutdown()  # runs on the serving thread: must not deadlock

    signal.signal(signal.SIGTERM, on_term)
    conn.send(server.bound_port)
    server.serve_forever(poll_interval=0.05)
    conn.send("stopped")
