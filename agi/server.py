"""FastAGI server: one connection per call, routed by script path to a handler.

``mode='fork'`` (default) serves each call in its own process, so whatever the parent loaded
once (the speech model) is shared copy-on-write and a crashing call cannot take others down.
``mode='thread'`` serves calls in threads of this process (tests, small installs).

When a call cannot be served (unknown path, handler error, no capacity) the server answers
``FAILURE``: res_agi then ends the AGI with AGISTATUS=FAILURE, so the dialplan can hand the
caller to a person. Merely closing the socket would read as SUCCESS.

Signal handling (SIGTERM...) is the caller's business; children only drop inherited handlers.
"""

from __future__ import annotations

import gc
import logging
import os
import signal
import socket
import socketserver
import threading
from collections.abc import Callable, Mapping
from typing import Literal, TextIO

from agi.channel import HotlineAGI
from agi.errors import AgiBadRequest, AgiHangup
from agi.replies import read_env
from agi.request import HEADER_TIMEOUT_S, MAX_HEADER_LINE_CHARS, AgiRequest
from foundation.masking import mask_number

__all__ = ["AgiRequest", "FastAgiServer", "Handler", "Mode"]

log = logging.getLogger(__name__)

Handler = Callable[[HotlineAGI, AgiRequest], None]
Mode = Literal["fork", "thread"]

_REFUSE_READ_TIMEOUT_S = 1.0
# What socketserver hands over per connection (a socket, for TCP).
_Request = socket.socket | tuple[bytes, socket.socket]


def normalize_path(path: str) -> str:
    return "/" + path.strip().strip("/")


class FastAgiServer:
    """Serve FastAGI on ``host:port`` (port 0 picks a free one, see ``bound_port``)."""

    def __init__(
        self,
        host: str,
        port: int,
        routes: Mapping[str, Handler],
        *,
        mode: Mode = "fork",
        max_children: int = 500,
        after_fork: Callable[[], None] | None = None,
    ) -> None:
        if mode not in ("fork", "thread"):
            raise ValueError(f"mode must be 'fork' or 'thread', not {mode!r}")
        self._routes = {normalize_path(path): handler for path, handler in routes.items()}
        self._mode = mode
        self._serving: threading.Thread | None = None
        self._server: _BaseServer
        if mode == "fork":
            self._server = _ForkingServer((host, port), self._serve_connection, max_children, after_fork)
        else:
            self._server = _ThreadingServer((host, port), self._serve_connection, max_children)

    @property
    def bound_port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def mode(self) -> Mode:
        return self._mode

    @property
    def max_calls(self) -> int:
        """Calls served at once; one more is answered FAILURE (the dialplan hands it to a person)."""
        return self._server.max_children

    def serve_forever(self, poll_interval: float = 0.5) -> None:
        """Accept calls until :meth:`shutdown`; closes the listening socket on return."""
        self._serving = threading.current_thread()
        if self._mode == "fork":
            # Everything loaded so far (router, speech model, prompts) goes to a permanent generation: a
            # call process's garbage collections would otherwise write to, and so copy, every page of it.
            gc.freeze()
        try:
            self._server.serve_forever(poll_interval)
        finally:
            self._server.server_close()

    def shutdown(self) -> None:
        """Stop accepting calls. Calls in progress carry on (children or daemon threads).

        Safe from another thread, from a signal handler on the serving thread, or before
        ``serve_forever`` ever ran.
        """
        if self._serving is None:
            self._server.server_close()
        elif self._serving is threading.current_thread():
            # socketserver's shutdown() waits for the loop to end: never block the loop itself.
            threading.Thread(target=self._server.shutdown, name="agi-shutdown", daemon=True).start()
        else:
            self._server.shutdown()

    # -- one connection ------------------------------------------------------------------------

    def _serve_connection(self, sock: socket.socket) -> None:
        try:
            # One short command line per round trip: don't let Nagle hold it back.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        reader = sock.makefile("r", encoding="utf-8", errors="replace", newline="\n")
        writer = sock.makefile("w", encoding="utf-8", newline="\n")
        uniqueid = "?"
        try:
            agi = _read_header(sock, reader, writer)
            request = AgiRequest.from_env(agi.env)
            uniqueid = request.uniqueid or "?"
            handler = self._routes.get(request.path)
            if handler is None:
                log.warning("call %s: no FastAGI route for %r, refusing", uniqueid, request.path)
                _send_failure(writer)
                return
            log.info("call %s: %s from %s", uniqueid, request.path, mask_number(request.callerid))
            handler(agi, request)
            log.info("call %s: %s finished", uniqueid, request.path)
        except AgiHangup as exc:
            log.info("call %s: caller hung up (%s)", uniqueid, exc)
        except AgiBadRequest as exc:
            log.warning("refusing a malformed FastAGI request: %s", exc)
            _send_failure(writer)
        except Exception:
            log.exception("call %s: handler failed; sending FAILURE so the dialplan falls back", uniqueid)
            _send_failure(writer)
        finally:
            for stream in (writer, reader):
                try:
                    stream.close()
                except OSError:
                    pass


def _read_header(sock: socket.socket, reader: TextIO, writer: TextIO) -> HotlineAGI:
    """The AGI session, once its header is in. A peer that has not sent the whole header within
    HEADER_TIMEOUT_S is cut off: a total deadline, since a socket timeout restarts with every byte
    a slow peer trickles in. Commands later may legitimately wait for minutes (RECORD FILE)."""
    expired = threading.Event()

    def cut_off() -> None:
        expired.set()
        try:
            sock.shutdown(socket.SHUT_RDWR)  # the blocked readline returns EOF
        except OSError:
            pass

    timer = threading.Timer(HEADER_TIMEOUT_S, cut_off)
    timer.daemon = True
    timer.start()
    try:
        agi = HotlineAGI(reader, writer)
    except AgiHangup:
        if expired.is_set():
            raise AgiBadRequest(f"no complete AGI header within {HEADER_TIMEOUT_S:.0f} s") from None
        raise
    finally:
        timer.cancel()
    if expired.is_set():
        raise AgiBadRequest(f"no complete AGI header within {HEADER_TIMEOUT_S:.0f} s")
    return agi


def _send_failure(writer: TextIO) -> None:
    """A line starting with 'failure' makes res_agi stop with AGISTATUS=FAILURE."""
    try:
        writer.write("FAILURE\n")
        writer.flush()
    except (OSError, ValueError):
        pass


def _refuse(request: socket.socket) -> None:
    """Answer FAILURE without serving. The env header is read first: closing a socket with unread
    input resets the connection, and Asterisk could lose our line."""
    try:
        request.settimeout(_REFUSE_READ_TIMEOUT_S)
        with request.makefile("r", encoding="utf-8", errors="replace", newline="\n") as reader:
            read_env(lambda: reader.readline(MAX_HEADER_LINE_CHARS + 2))
        request.sendall(b"FAILURE\n")
    except (OSError, AgiHangup, AgiBadRequest):
        pass


class _ConnectionHandler(socketserver.BaseRequestHandler):
    server: _BaseServer

    def handle(self) -> None:
        self.server.serve_connection(self.request)


class _BaseServer(socketserver.TCPServer):
    allow_reuse_address = True
    # A burst of calls must not overflow the kernel backlog while the parent forks: with 128, 200
    # simultaneous calls saw Asterisk's 2 s FastAGI connect time out (bench/load.py).
    request_queue_size = 1024
    block_on_close = False  # shutdown must not wait for calls in progress

    def __init__(
        self,
        address: tuple[str, int],
        serve_connection: Callable[[socket.socket], None],
        max_children: int,
    ) -> None:
        self.serve_connection = serve_connection
        self.max_children = max_children
        super().__init__(address, _ConnectionHandler)

    def handle_error(self, request: object, client_address: object) -> None:
        # socketserver's default prints a traceback to stderr.
        log.exception("FastAGI connection from %s failed", client_address)

    def refuse(self, request: _Request, reason: str) -> None:
        log.warning("refusing FastAGI connection: %s", reason)
        if isinstance(request, socket.socket):
            _refuse(request)
        self.shutdown_request(request)


class _ForkingServer(socketserver.ForkingMixIn, _BaseServer):
    def __init__(
        self,
        address: tuple[str, int],
        serve_connection: Callable[[socket.socket], None],
        max_children: int,
        after_fork: Callable[[], None] | None,
    ) -> None:
        self._after_fork = after_fork
        self._parent_pid = os.getpid()
        super().__init__(address, serve_connection, max_children)

    def collect_children(self, *, blocking: bool = False) -> None:
        # The stdlib version blocks in waitpid(-1) once full (stalling accept) and can reap
        # children this server did not start; reap only our own.
        for pid in list(self.active_children or ()):
            try:
                done, _ = os.waitpid(pid, 0 if blocking else os.WNOHANG)
            except ChildProcessError:
                done = pid
            if done and self.active_children is not None:
                self.active_children.discard(pid)

    def process_request(self, request: _Request, client_address: object) -> None:
        self.collect_children()
        if len(self.active_children or ()) >= self.max_children:
            self.refuse(request, f"{self.max_children} calls already in progress")
            return
        super().process_request(request, client_address)

    def finish_request(self, request: _Request, client_address: object) -> None:
        if os.getpid() != self._parent_pid:
            try:
                self._setup_child()
            except Exception:
                log.exception("after_fork failed")
                self.refuse(request, "after_fork failed")
                return
        super().finish_request(request, client_address)

    def _setup_child(self) -> None:
        self.socket.close()  # the child serves one call; the port belongs to the parent
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            # The parent's handlers (e.g. one calling shutdown()) make no sense in a child.
            signal.signal(signum, signal.SIG_DFL)
        if self._after_fork is not None:
            self._after_fork()


class _ThreadingServer(socketserver.ThreadingMixIn, _BaseServer):
    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        serve_connection: Callable[[socket.socket], None],
        max_children: int,
    ) -> None:
        self._active = 0
        self._active_lock = threading.Lock()
        super().__init__(address, serve_connection, max_children)

    def process_request(self, request: _Request, client_address: object) -> None:
        with self._active_lock:
            full = self._active >= self.max_children
            if not full:
                self._active += 1
        if full:
            self.refuse(request, f"{self.max_children} calls already in progress")
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._release()
            raise

    def process_request_thread(self, request: _Request, client_address: object) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._release()

    def _release(self) -> None:
        with self._active_lock:
            self._active -= 1
