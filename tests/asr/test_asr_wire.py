"""The recognition service's frames, parsed from literal bytes."""

from __future__ import annotations

import io

import pytest

from asr import wire


def test_frames_round_trip_on_literal_bytes() -> None:
    assert wire.encode(wire.END) == b"E\x00\x00\x00\x00"
    assert wire.encode(wire.AUDIO, b"\x01\x02") == b"A\x00\x00\x00\x02\x01\x02"
    hello = wire.encode_json(wire.HELLO, {"turn": 1, "purpose": "请求"})
    stream = io.BytesIO(hello + b"A\x00\x00\x00\x02\x01\x02" + b"E\x00\x00\x00\x00")
    first = wire.read_frame(stream)
    assert first is not None and first.kind == wire.HELLO and first.json() == {"turn": 1, "purpose": "请求"}
    audio = wire.read_frame(stream)
    assert audio == wire.Frame(wire.AUDIO, b"\x01\x02")
    assert wire.read_frame(stream) == wire.Frame(wire.END, b"")
    assert wire.read_frame(stream) is None  # a clean end between frames


@pytest.mark.parametrize("data, message", [
    (b"X\x00\x00\x00\x00", "unknown frame kind"),
    (b"A\x00\x00\x00\x05\x01", "ended inside a frame"),
    (b"A\x00\x00", "ended inside a frame"),
    (b"A\x7f\xff\xff\xff", "is over"),
])
def test_broken_frames_are_refused_clearly(data: bytes, message: str) -> None:
    with pytest.raises(wire.WireError, match=message):
        wire.read_frame(io.BytesIO(data))


def test_a_hello_that_is_not_a_json_object_is_refused() -> None:
    with pytest.raises(wire.WireError, match="not an object"):
        wire.Frame(wire.HELLO, b"[1, 2]").json()
    with pytest.raises(wire.WireError, match="does not hold JSON"):
        wire.Frame(wire.HELLO, b"\xff").json()


def test_unknown_kinds_and_oversized_payloads_are_not_encoded() -> None:
    with pytest.raises(wire.WireError):
        wire.encode(b"Z")
    with pytest.raises(wire.WireError):
        wire.encode(wire.AUDIO, bytes(wire.MAX_PAYLOAD + 1))
