"""FastAgiServer against a fake Asterisk on real TCP sockets, in both modes."""

from __future__ import annotations

import logging
import multiprocessing
import os
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from agi.channel import HotlineAGI
from agi.request import AgiRequest
from agi.server import FastAgiServer, Mode
from tests.agi.fakes import Reply, agi_env, fake_call
from tests.agi.server_app import ROUTES, serve

MODES: list[Mode] = ["fork", "thread"]
ECHO_REPLIES = ["200 result=0", "200 result=1", "200 result=1"]


@dataclass
class Running:
    bound_port: int


@contextmanager
def running(mode: Mode, report_dir: Path | None = None, max_children: int = 500) -> Iterator[Running]:
    """Thread mode in this process; fork mode in a spawned process (see server_app)."""
    if mode == "thread":
        server = FastAgiServer("127.0.0.1", 0, ROUTES, mode="thread", max_children=max_children)
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        try:
            yield Running(server.bound_port)
        finally:
            server.shutdown()
            thread.join(5)
            assert not thread.is_alive()
        return
    ctx = multiprocessing.get_context("spawn")
    ours, theirs = ctx.Pipe()
    marker_dir = None if report_dir is None else str(report_dir)
    proc = ctx.Process(target=serve, args=(theirs, marker_dir, max_children), daemon=True)
    proc.start()
    try:
        assert ours.poll(15), "server process did not start"
        yield Running(ours.recv())
    finally:
        proc.terminate()  # SIGTERM -> server.shutdown() from its own signal handler
        assert ours.poll(5) and ours.recv() == "stopped"
        proc.join(5)
        assert proc.exitcode == 0


def pid_of(commands: list[str]) -> int:
    return int(commands[2].split('"')[3])  # SET VARIABLE "PID" "<pid>"


@pytest.mark.parametrize("mode", MODES)
def test_routing_by_path_with_query(mode: Mode) -> None:
    with running(mode) as server:
        port = server.bound_port
        env = agi_env("/echo", port, agi_request=f"agi://127.0.0.1:{port}/echo?lang=zh&x=1",
                      agi_network_script="echo?lang=zh&x=1")
        call = fake_call(port, "/echo", ["200 result=1 (hello)", "200 result=1", "200 result=1"], env=env)
    assert call.commands[0] == 'GET VARIABLE "X"'
    assert call.commands[1] == (
        "SET VARIABLE \"SEEN\" \"/echo|{'lang': 'zh', 'x': '1'}|13812345678|1700000000.1|hello\""
    )
    assert (pid_of(call.commands) != os.getpid()) == (mode == "fork")
    assert call.closed_by_server
    assert "FAILURE" not in call.commands


@pytest.mark.parametrize("mode", MODES)
def test_unknown_path_answers_failure_and_closes(mode: Mode) -> None:
    with running(mode) as server:
        call = fake_call(server.bound_port, "/nowhere", [])
    assert call.commands == ["FAILURE"]
    assert call.closed_by_server


@pytest.mark.parametrize("mode", MODES)
def test_handler_exception_fails_the_call_not_the_server(
    mode: Mode, caplog: pytest.LogCaptureFixture
) -> None:
    with running(mode) as server:
        port = server.bound_port
        bad = fake_call(port, "/boom", ["200 result=0"])
        good = fake_call(port, "/echo", ECHO_REPLIES)
    assert bad.commands == ["ANSWER", "FAILURE"]
    assert bad.closed_by_server
    assert len(good.commands) == 3
    if mode == "thread":  # fork mode logs in another process
        assert "handler bug" in caplog.text


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("ending", ["HANGUP", "511 Command Not Permitted on a dead channel", None])
def test_hangup_ends_the_call_quietly(mode: Mode, ending: str | None) -> None:
    with running(mode) as server:
        call = fake_call(server.bound_port, "/loop", ["200 result=0 endpos=10", ending])
        after = fake_call(server.bound_port, "/echo", ECHO_REPLIES)
    assert call.commands[:2] == ['STREAM FILE "prompt" ""'] * 2
    if ending is not None:
        assert call.closed_by_server
        assert "FAILURE" not in call.commands  # AgiHangup is a normal end, not a handler failure
    assert len(after.commands) == 3


def test_twenty_concurrent_calls_each_in_its_own_process(tmp_path: Path) -> None:
    n = 20
    everyone_in = threading.Barrier(n, timeout=15)

    def hold_until_all_connected(command: str) -> str:
        everyone_in.wait()  # breaks unless all n handlers are live at the same time
        return "200 result=1"

    with running("fork", tmp_path) as server:
        port = server.bound_port
        script: list[Reply] = ["200 result=0", hold_until_all_connected, "200 result=1"]
        with ThreadPoolExecutor(n) as pool:
            calls = list(pool.map(lambda _: fake_call(port, "/echo", script), range(n)))
    assert all(len(c.commands) == 3 and c.closed_by_server for c in calls)
    pids = {pid_of(c.commands) for c in calls}
    assert len(pids) == n and os.getpid() not in pids
    forked = {int(p.name.split("-")[1]) for p in tmp_path.glob("forked-*")}
    assert pids <= forked  # after_fork ran in every child that served a call


@pytest.mark.parametrize("mode", MODES)
def test_over_capacity_calls_are_refused_with_failure(mode: Mode) -> None:
    release = threading.Event()

    def slow(command: str) -> str:
        release.wait(10)
        return "200 result=1"

    with running(mode, max_children=1) as server:
        port = server.bound_port
        with ThreadPoolExecutor(1) as pool:
            first = pool.submit(fake_call, port, "/echo", [slow, "200 result=1", "200 result=1"])
            time.sleep(0.3)  # the first call is being served now
            refused = fake_call(port, "/echo", ECHO_REPLIES)
            release.set()
            assert len(first.result(10).commands) == 3
        time.sleep(0.3)  # let the first child exit and be reaped
        again = fake_call(port, "/echo", ECHO_REPLIES)  # capacity is given back
    assert refused.commands == ["FAILURE"]
    assert len(again.commands) == 3


def test_caller_gone_before_the_header_ends(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="agi")
    with running("thread") as server:
        with socket.create_connection(("127.0.0.1", server.bound_port)) as sock:
            sock.sendall(b"agi_network: yes\n")
        time.sleep(0.2)
        assert len(fake_call(server.bound_port, "/echo", ECHO_REPLIES).commands) == 3
    assert "hung up" in caplog.text


def test_shutdown_before_serving_and_port_zero() -> None:
    server = FastAgiServer("127.0.0.1", 0, ROUTES, mode="thread")
    assert server.bound_port > 0
    server.shutdown()  # must not hang


def test_routes_are_normalised() -> None:
    seen: list[str] = []

    def handler(agi: HotlineAGI, request: AgiRequest) -> None:
        seen.append(request.path)

    server = FastAgiServer("127.0.0.1", 0, {"intake/": handler}, mode="thread")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        fake_call(server.bound_port, "/intake", [])
    finally:
        server.shutdown()
        thread.join(5)
    assert seen == ["/intake"]


def test_bad_mode() -> None:
    with pytest.raises(ValueError):
        FastAgiServer("127.0.0.1", 0, ROUTES, mode="process")  # type: ignore[arg-type]
