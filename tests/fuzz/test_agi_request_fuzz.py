"""The FastAGI request reader under hostile input: arbitrary header blocks, huge lines, no blank line,
non-UTF-8, EOF or a stall mid-header. Always a clear error (AgiHangup for EOF, AgiBadRequest for the
rest), in bounded memory and time; over a socket, the server answers FAILURE and keeps serving."""

from __future__ import annotations

import io
import socket
import threading
import time
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import agi.server
from agi.channel import HotlineAGI
from agi.errors import AgiBadRequest, AgiHangup
from agi.replies import read_env
from agi.request import MAX_HEADER_LINE_CHARS, MAX_HEADER_LINES, AgiRequest
from agi.server import FastAgiServer
from tests.agi.fakes import agi_env, env_text, fake_call
from tests.agi.server_app import ROUTES

HEADER_CHARS = st.one_of(st.sampled_from(list(":\n\r \tagi_requestchannel/?=&[]%")), st.characters())


def _read(text: str) -> dict[str, str]:
    stream = io.StringIO(text)
    return read_env(lambda: stream.readline(MAX_HEADER_LINE_CHARS + 2))


@given(st.text(HEADER_CHARS, max_size=600))
@example("agi_request: agi://[::1/intake\n\n")
@example("agi_request: agi://h:99999999/x?%zz=%\n\n")
@example(":\n:::\n \n")
def test_any_header_block_reads_or_fails_clearly(text: str) -> None:
    try:
        env = _read(text)
    except AgiHangup:
        assert not any(not line.strip() for line in io.StringIO(text)), "a blank line ends the header"
        return
    except AgiBadRequest:
        return
    assert all(isinstance(k, str) and k == k.strip() and k for k in env)
    try:
        request = AgiRequest.from_env(env)
    except AgiBadRequest:
        return
    assert request.path.startswith("/")


@given(st.dictionaries(st.text(max_size=20), st.text(max_size=80), max_size=12))
@example({"agi_request": "agi://[::1/intake"})
@example({"agi_request": "agi://[v1.fe]/x"})
@example({"agi_arg_1": "a", "agi_arg_3": "c"})
def test_request_from_any_env_is_a_request_or_a_bad_request(env: dict[str, str]) -> None:
    try:
        request = AgiRequest.from_env(env)
    except AgiBadRequest:
        return
    assert request.path.startswith("/")
    assert all(isinstance(a, str) for a in request.args)


def test_eof_mid_header_is_a_hangup() -> None:
    with pytest.raises(AgiHangup):
        _read("agi_channel: PJSIP/x\nagi_uniqueid: 1")


def test_missing_blank_line_is_a_hangup_at_eof() -> None:
    with pytest.raises(AgiHangup):
        _read(env_text(agi_env("/intake")).rstrip("\n") + "\n")


def test_too_many_header_lines_are_refused() -> None:
    text = "".join(f"agi_arg_{i}: x\n" for i in range(MAX_HEADER_LINES + 1)) + "\n"
    with pytest.raises(AgiBadRequest, match="more than"):
        _read(text)
    # Exactly the limit is fine.
    assert len(_read("".join(f"agi_arg_{i}: x\n" for i in range(MAX_HEADER_LINES)) + "\n")) == MAX_HEADER_LINES


@pytest.mark.parametrize("ending", ["\n", "\r\n", ""])
def test_huge_header_line_is_refused_without_reading_it_whole(ending: str) -> None:
    huge = "agi_request: " + "x" * (50 * MAX_HEADER_LINE_CHARS) + ending
    stream = io.StringIO(huge + "\n")
    longest = 0

    def readline() -> str:
        nonlocal longest
        line = stream.readline(MAX_HEADER_LINE_CHARS + 2)
        longest = max(longest, len(line))
        return line

    with pytest.raises(AgiBadRequest, match="longer than"):
        read_env(readline)
    assert longest <= MAX_HEADER_LINE_CHARS + 2


def test_longest_allowed_line_with_crlf_is_one_line() -> None:
    value = "v" * (MAX_HEADER_LINE_CHARS - len("agi_x: "))
    env = _read(f"agi_x: {value}\r\nagi_y: 1\r\n\r\n")
    assert env == {"agi_x": value, "agi_y": "1"}


def test_hotline_agi_reads_its_header_bounded() -> None:
    text = "agi_request: " + "y" * (3 * MAX_HEADER_LINE_CHARS) + "\n\n"
    with pytest.raises(AgiBadRequest):
        HotlineAGI(io.StringIO(text), io.StringIO())


# -- over a socket: the real server ------------------------------------------------------------


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FastAgiServer]:
    monkeypatch.setattr(agi.server, "HEADER_TIMEOUT_S", 0.5)
    srv = FastAgiServer("127.0.0.1", 0, ROUTES, mode="thread", max_children=20)
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    thread.join(5)


def _exchange(port: int, payload: bytes, *, close_write: bool = True, timeout: float = 5) -> bytes:
    """Send raw bytes as 'Asterisk', then read what the server answers until it closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        try:
            sock.sendall(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass
        if close_write:
            sock.shutdown(socket.SHUT_WR)
        out = b""
        try:
            while chunk := sock.recv(65536):
                out += chunk
        except ConnectionResetError:
            pass
        return out


def _still_serves(port: int) -> None:
    call = fake_call(port, "/echo", ["200 result=1 (ok)", "200 result=1", "200 result=1"])
    assert call.commands[0] == 'GET VARIABLE "X"'


@pytest.mark.parametrize(
    ("payload", "logged"),
    [
        (b"agi_request: agi://127.0.0.1/echo" + b"A" * (4 * 1024 * 1024) + b"\n\n", "longer than"),
        (b"".join(b"agi_arg_%d: 1\n" % i for i in range(MAX_HEADER_LINES + 5)) + b"\n", "more than"),
        (b"agi_request: agi://[::1/echo\nagi_uniqueid: 1\n\n", "not a URL"),
        (b"agi_request: agi://127.0.0.1/nowhere\n\n", "no FastAGI route"),
    ],
    ids=["huge line", "too many lines", "unparseable url", "unknown path"],
)
def test_server_refuses_bad_headers_with_failure(server: FastAgiServer, caplog: pytest.LogCaptureFixture,
                                                 payload: bytes, logged: str) -> None:
    answer = _exchange(server.bound_port, payload, close_write=False)
    # The server stops reading at the limit: the rest of a 4 MB line may reset the connection before
    # FAILURE arrives, so the log says why it refused.
    assert answer.startswith(b"FAILURE") or answer == b""
    assert any(logged in r.getMessage() for r in caplog.records), [r.getMessage() for r in caplog.records]
    _still_serves(server.bound_port)


def test_server_handles_non_utf8_header(server: FastAgiServer) -> None:
    env = env_text(agi_env("/echo", server.bound_port)).encode()
    payload = env.replace(b"agi_calleridname: unknown", b"agi_calleridname: \xff\xfe\xc3\x28 \xe4\xb8")
    with socket.create_connection(("127.0.0.1", server.bound_port), timeout=5) as sock:
        sock.sendall(payload)
        rfile = sock.makefile("r", encoding="utf-8", newline="\n")
        assert rfile.readline() == 'GET VARIABLE "X"\n'  # served: undecodable bytes became U+FFFD


@pytest.mark.parametrize("payload", [b"", b"agi_channel: x\n", b"agi_channel: x\nagi_uniq"])
def test_server_eof_mid_header_ends_quietly(server: FastAgiServer, payload: bytes) -> None:
    assert _exchange(server.bound_port, payload) in (b"", b"FAILURE\n")
    _still_serves(server.bound_port)


def test_server_cuts_off_a_peer_that_trickles_its_header(server: FastAgiServer) -> None:
    # One byte every 0.1 s: a per-read socket timeout (0.5 s here) would never fire.
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", server.bound_port), timeout=5) as sock:
        closed = False
        for byte in b"agi_channel: " + b"x" * 100:
            try:
                sock.sendall(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
            sock.settimeout(0.1)
            try:
                if sock.recv(100) in (b"", b"FAILURE\n"):
                    closed = True
                    break
            except TimeoutError:
                continue
            except ConnectionResetError:
                closed = True
                break
    assert closed
    assert time.monotonic() - started < 8.0  # cut off at 0.5 s; sending it all would take 11 s
    _still_serves(server.bound_port)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=2000))
def test_server_survives_any_bytes(server: FastAgiServer, payload: bytes) -> None:
    answer = _exchange(server.bound_port, payload + b"\n\n")
    assert answer == b"" or answer.startswith((b"FAILURE", b"GET VARIABLE", b"ANSWER", b"STREAM FILE"))
