"""The call process's side of the recognition service: an AsrEngine whose recognizers stream a turn's
audio to the host's service over its local socket (asr/wire.py) and wait, boundedly, for the text.

Nothing here loads a model. Whatever goes wrong (service down, busy, died mid-turn) ends the turn with a
`RecognitionError` from `result()`; the recording itself is on disk regardless, so the caller goes to a
person with it.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from asr import wire
from asr.engine import CallInfo, Recognizer
from asr.errors import RecognitionError, RecognitionFailed, RecognitionUnavailable, error_of_kind

log = logging.getLogger(__name__)


class RemoteEngine:
    available = True  # the service says otherwise per turn ("unavailable"), and the call goes to a person

    def __init__(self, socket_path: Path, *, connect_timeout_s: float = 1.0, result_timeout_s: float = 20.0) -> None:
        self.socket_path = socket_path
        self.connect_timeout_s = connect_timeout_s
        self.result_timeout_s = result_timeout_s
        self.status = f"ASR through the recognition service at {socket_path}"

    def recognizer(self, *, grammar: Sequence[str] | None, call: CallInfo) -> Recognizer:
        return RemoteRecognizer(self, grammar=grammar, call=call)

    def service_status(self) -> dict[str, Any]:
        """The service's own status line and counters (for /ready, /metrics and `hotline setup`)."""
        with self._connect() as sock:
            sock.sendall(wire.encode(wire.STATUS))
            sock.settimeout(self.connect_timeout_s + 2)
            frame = wire.read_frame(sock.makefile("rb"))
        if frame is None or frame.kind != wire.STATUS:
            raise RecognitionFailed("the recognition service sent no status")
        return frame.json()

    def _connect(self) -> socket.socket:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.connect_timeout_s)
        try:
            sock.connect(str(self.socket_path))
        except OSError as exc:
            sock.close()
            raise RecognitionUnavailable(f"recognition service at {self.socket_path}: {exc}") from None
        return sock


class RemoteRecognizer:
    """Connects on the first audio, streams every chunk, asks for the text once."""

    def __init__(self, engine: RemoteEngine, *, grammar: Sequence[str] | None, call: CallInfo) -> None:
        self._engine = engine
        self._hello = {"call_id": call.call_id, "caller": call.caller, "turn": call.turn, "purpose": call.purpose,
                       "grammar": list(grammar) if grammar is not None else None}
        self._sock: socket.socket | None = None
        self._error: RecognitionError | None = None
        self._text: str | None = None
        self.reply: dict[str, Any] = {}

    def _open(self) -> socket.socket | None:
        if self._sock is None and self._error is None:
            try:
                self._sock = self._engine._connect()
                self._sock.sendall(wire.encode_json(wire.HELLO, self._hello))
            except RecognitionError as exc:
                self._error = exc
            except OSError as exc:
                self._fail(f"recognition service closed the connection: {exc}")
        return self._sock

    def _fail(self, message: str) -> None:
        self._error = RecognitionFailed(message)
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def accept(self, pcm: bytes) -> None:
        sock = self._open()
        if sock is None or not pcm:
            return
        try:
            for start in range(0, len(pcm), wire.MAX_PAYLOAD):
                sock.sendall(wire.encode(wire.AUDIO, pcm[start:start + wire.MAX_PAYLOAD]))
        except OSError as exc:  # the service died mid-turn: keep going, the turn ends without text
            self._fail(f"recognition service lost mid-turn: {exc}")

    def result(self) -> str:
        if self._text is not None:
            return self._text
        sock = self._open()
        if sock is None:
            assert self._error is not None
            raise self._error
        try:
            sock.sendall(wire.encode(wire.END))
            sock.settimeout(self._engine.result_timeout_s)
            frame = wire.read_frame(sock.makefile("rb"))
        except (OSError, wire.WireError) as exc:
            self._fail(f"recognition service lost before the text: {exc}")
            raise self._error from None  # type: ignore[misc]
        finally:
            if self._sock is not None:
                self._sock.close()
                self._sock = None
        if frame is None or frame.kind != wire.RESULT:
            raise RecognitionFailed("recognition service closed without a result")
        self.reply = frame.json()
        status = str(self.reply.get("status", "failed"))
        if status != "ok":
            raise error_of_kind(status, str(self.reply.get("reason", status)))
        self._text = str(self.reply.get("text", ""))
        return self._text
