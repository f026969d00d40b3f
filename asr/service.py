"""The host's recognition service: it owns the one model, and serves every call process over a local
socket (a recognizer per connection, as vosk-server does; decoding off the connection's thread where the
engine queues it, as Whisper's does).

Each connection is one listening turn (asr/wire.py). Its recognizer is fed as audio arrives; at the end
the text, or why there is none ("busy", "unavailable", "failed"), goes back. The service never lets a
caller wait without bound: the engine's queue refuses what it cannot decode in time.
"""

from __future__ import annotations

import logging
import os
import socket
import socketserver
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from asr import wire
from asr.engine import AsrEngine, CallInfo
from asr.errors import RecognitionError

log = logging.getLogger(__name__)

READ_TIMEOUT_S = 90.0  # a turn is at most a minute of audio; a silent peer is dropped after this


class RecognitionService:
    def __init__(self, engine: AsrEngine, socket_path: Path) -> None:
        self.engine = engine
        self.socket_path = socket_path
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self.started = time.time()
        socket_path.parent.mkdir(parents=True, exist_ok=True)
        if socket_path.exists() or socket_path.is_symlink():
            _remove_stale(socket_path)
        service = self

        class _Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                service._serve(self.connection, self.rfile)

        self._server = _Server(str(socket_path), _Handler)
        os.chmod(socket_path, 0o660)  # the AGI server's processes run as the same user

    def serve_forever(self) -> None:
        log.info("recognition service on %s: %s", self.socket_path, self.engine.status)
        self._server.serve_forever(poll_interval=0.2)

    def shutdown(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self.socket_path.unlink(missing_ok=True)
        close = getattr(self.engine, "close", None)
        if close is not None:
            close()

    def status(self) -> dict[str, Any]:
        with self._lock:
            counts = dict(self.counts)
        out: dict[str, Any] = {"available": self.engine.available, "status": self.engine.status,
                               "model": getattr(self.engine, "model_name", _engine_name(self.engine)),
                               "turns": counts, "uptime_s": round(time.time() - self.started, 1)}
        batcher = getattr(self.engine, "batcher", None)
        if batcher is not None:
            s = batcher.stats
            out["queue"] = {"depth": s.queue_depth, "in_flight": s.in_flight, "decoded": s.decoded,
                            "batches": s.batches, "refused": s.refused, "failed": s.failed,
                            "decode_s_ewma": round(s.decode_s_ewma, 3),
                            "expected_wait_s": round(batcher.expected_wait_s(), 3)}
        return out

    def _count(self, key: str) -> None:
        with self._lock:
            self.counts[key] += 1

    def _serve(self, conn: socket.socket, rfile: Any) -> None:
        conn.settimeout(READ_TIMEOUT_S)
        try:
            first = wire.read_frame(rfile)
            if first is None:
                return
            if first.kind == wire.STATUS:
                conn.sendall(wire.encode_json(wire.STATUS, self.status()))
                return
            if first.kind != wire.HELLO:
                raise wire.WireError(f"expected a hello frame, got {first.kind!r}")
            reply = self._turn(first.json(), rfile)
        except (wire.WireError, OSError) as exc:
            log.warning("recognition connection dropped: %s", exc)
            self._count("dropped")
            return
        try:
            conn.sendall(wire.encode_json(wire.RESULT, reply))
        except OSError as exc:  # the call hung up meanwhile
            log.info("recognition result not delivered: %s", exc)

    def _turn(self, hello: dict[str, Any], rfile: Any) -> dict[str, Any]:
        call = CallInfo(call_id=str(hello.get("call_id", "")), caller=str(hello.get("caller", "")),
                        turn=int(hello.get("turn", 0)), purpose=str(hello.get("purpose", "")))
        grammar = hello.get("grammar")
        if not self.engine.available:
            self._count("unavailable")
            return {"status": "unavailable", "reason": self.engine.status}
        recognizer = self.engine.recognizer(grammar=grammar, call=call)
        t_end = None
        while True:
            frame = wire.read_frame(rfile)
            if frame is None:
                raise wire.WireError("the call closed before the end of its turn")
            if frame.kind == wire.AUDIO:
                recognizer.accept(frame.payload)
            elif frame.kind == wire.END:
                t_end = time.perf_counter()
                break
            else:
                raise wire.WireError(f"unexpected frame {frame.kind!r} inside a turn")
        try:
            text = recognizer.result()
        except RecognitionError as exc:
            self._count(exc.kind)
            log.warning("call %s turn %d: no text (%s: %s)", call.call_id, call.turn, exc.kind, exc)
            return {"status": exc.kind, "reason": str(exc)}
        except Exception as exc:  # a broken decode: the caller goes to a person, the service lives on
            log.exception("call %s turn %d: decoding failed", call.call_id, call.turn)
            self._count("failed")
            return {"status": "failed", "reason": f"{type(exc).__name__}: {exc}"}
        decoded = getattr(recognizer, "decoded", None)
        self._count("rejected" if decoded is not None and decoded.rejected else "ok")
        reply: dict[str, Any] = {"status": "ok", "text": text,
                                 "finish_ms": round((time.perf_counter() - t_end) * 1000, 1)}
        if decoded is not None:
            reply.update(rejected=decoded.rejected, avg_logprob=round(decoded.avg_logprob, 3),
                         no_speech_prob=round(decoded.no_speech_prob, 3), decode_ms=round(decoded.decode_ms, 1))
        return reply


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    allow_reuse_address = True


def _engine_name(engine: AsrEngine) -> str:
    return type(engine).__name__


def _remove_stale(path: Path) -> None:
    """A socket left by a service that died; refuse to start beside one that still answers."""
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.settimeout(0.5)
        probe.connect(str(path))
    except OSError:
        path.unlink(missing_ok=True)
        return
    finally:
        probe.close()
    raise RuntimeError(f"another recognition service is already serving on {path}")
