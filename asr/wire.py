"""The recognition service's wire format: typed, length-prefixed frames on a local stream socket.

    frame   = kind (1 byte) + length (4 bytes, big-endian) + payload
    client  → H {call_id, caller, turn, purpose, grammar}   once, first
              A <8 kHz s16le PCM>                           any number, as the recording grows
              E (empty)                                     the recording is closed: decode
    service → R {status, text, reason, queue_ms, decode_ms}  once, last

`status` is "ok" (text may be '' for silence or a rejected decode), "busy" (the queue would keep the
caller waiting past its bound), "unavailable" (no engine could load) or "failed". Parsing is pure and
tested on literal bytes; sockets only move bytes.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO

HEADER = struct.Struct(">cI")
HELLO, AUDIO, END, RESULT, STATUS = b"H", b"A", b"E", b"R", b"S"
KINDS = frozenset({HELLO, AUDIO, END, RESULT, STATUS})
MAX_PAYLOAD = 4 * 1024 * 1024  # > 4 minutes of 8 kHz audio in one frame: a broken peer, not a caller


class WireError(ValueError):
    """Bytes that are not a frame of this protocol."""


@dataclass(frozen=True)
class Frame:
    kind: bytes
    payload: bytes

    def json(self) -> dict[str, Any]:
        try:
            value = json.loads(self.payload.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise WireError(f"frame {self.kind!r} does not hold JSON: {exc}") from None
        if not isinstance(value, dict):
            raise WireError(f"frame {self.kind!r} holds {type(value).__name__}, not an object")
        return value


def encode(kind: bytes, payload: bytes = b"") -> bytes:
    if kind not in KINDS:
        raise WireError(f"unknown frame kind {kind!r}")
    if len(payload) > MAX_PAYLOAD:
        raise WireError(f"frame of {len(payload)} bytes is over {MAX_PAYLOAD}")
    return HEADER.pack(kind, len(payload)) + payload


def encode_json(kind: bytes, value: Mapping[str, Any]) -> bytes:
    return encode(kind, json.dumps(value, ensure_ascii=False).encode("utf-8"))


def parse_header(head: bytes) -> tuple[bytes, int]:
    """The 5 header bytes → (kind, payload length)."""
    if len(head) != HEADER.size:
        raise WireError(f"frame header has {len(head)} bytes, not {HEADER.size}")
    kind, size = HEADER.unpack(head)
    if kind not in KINDS:
        raise WireError(f"unknown frame kind {kind!r}")
    if size > MAX_PAYLOAD:
        raise WireError(f"frame of {size} bytes is over {MAX_PAYLOAD}")
    return kind, size


def read_frame(stream: BinaryIO) -> Frame | None:
    """The next frame, or None at a clean end of stream (between frames)."""
    head = _read_exact(stream, HEADER.size, allow_eof=True)
    if head is None:
        return None
    kind, size = parse_header(head)
    payload = _read_exact(stream, size, allow_eof=False) if size else b""
    return Frame(kind, payload or b"")


def _read_exact(stream: BinaryIO, n: int, *, allow_eof: bool) -> bytes | None:
    parts, got = [], 0
    while got < n:
        chunk = stream.read(n - got)
        if not chunk:
            if allow_eof and got == 0:
                return None
            raise WireError(f"stream ended inside a frame ({got} of {n} bytes)")
        parts.append(chunk)
        got += len(chunk)
    return b"".join(parts)
