"""The recognition service on a real Unix socket, with test-double engines; the client's failure kinds."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from asr import wire
from asr.audio import read_wav_pcm8k
from asr.client import RemoteEngine
from asr.engine import AsrEngine, CallInfo, Recognizer, UnavailableEngine
from asr.errors import RecognitionBusy, RecognitionFailed, RecognitionUnavailable
from asr.service import RecognitionService
from tests.asr.stuck_service import StuckEngineDouble
from tests.doubles.scripted_asr import ScriptedAsrEngine

REPO = Path(__file__).resolve().parents[2]
CALL = CallInfo(call_id="c1", caller="13800138000", turn=1, purpose="request")


class BusyEngineDouble:
    """TEST DOUBLE: an engine whose queue is always full."""

    available = True
    status = "busy TEST DOUBLE"

    def recognizer(self, *, grammar: Sequence[str] | None, call: CallInfo) -> Recognizer:
        return _BusyRecognizer()


class _BusyRecognizer:
    def accept(self, pcm: bytes) -> None:
        pass

    def result(self) -> str:
        raise RecognitionBusy("about 9.0 s of decoding queued (bound 6.0 s)")


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[[AsrEngine], RecognitionService]]:
    services: list[RecognitionService] = []

    def start(engine: AsrEngine) -> RecognitionService:
        service = RecognitionService(engine, tmp_path / "run" / "asr.sock")
        threading.Thread(target=service.serve_forever, daemon=True).start()
        services.append(service)
        return service

    yield start
    for s in services:
        s.shutdown()


@pytest.fixture(scope="module")
def speech_pcm(synth: Callable[[str], Path]) -> bytes:
    return read_wav_pcm8k(synth("lu4 deng1 huai4 le5"))


def test_a_turn_streams_to_the_service_and_gets_its_text(serve: Callable, speech_pcm: bytes) -> None:
    service = serve(ScriptedAsrEngine({"13800138000": ["小区路灯坏了"]}))
    client = RemoteEngine(service.socket_path)
    rec = client.recognizer(grammar=None, call=CALL)
    for i in range(0, len(speech_pcm), 3200):
        rec.accept(speech_pcm[i:i + 3200])
    assert rec.result() == "小区路灯坏了"
    assert rec.result() == "小区路灯坏了"  # asked once, answered from memory after
    silent = client.recognizer(grammar=None, call=CALL)
    silent.accept(bytes(16000))
    assert silent.result() == ""  # the double hears no voice: no text
    status = client.service_status()
    assert status["available"] is True and status["turns"]["ok"] == 2


def test_a_full_queue_answers_busy(serve: Callable, speech_pcm: bytes) -> None:
    service = serve(BusyEngineDouble())
    rec = RemoteEngine(service.socket_path).recognizer(grammar=None, call=CALL)
    rec.accept(speech_pcm)
    with pytest.raises(RecognitionBusy, match=r"bound 6\.0"):
        rec.result()
    assert service.status()["turns"] == {"busy": 1}


def test_no_engine_in_the_service_answers_unavailable(serve: Callable, speech_pcm: bytes) -> None:
    service = serve(UnavailableEngine("no model"))
    rec = RemoteEngine(service.socket_path).recognizer(grammar=None, call=CALL)
    rec.accept(speech_pcm)
    with pytest.raises(RecognitionUnavailable, match="no model"):
        rec.result()


def test_no_service_running_is_unavailable_not_a_hang(tmp_path: Path, speech_pcm: bytes) -> None:
    rec = RemoteEngine(tmp_path / "none.sock").recognizer(grammar=None, call=CALL)
    t0 = time.monotonic()
    rec.accept(speech_pcm)
    with pytest.raises(RecognitionUnavailable):
        rec.result()
    assert time.monotonic() - t0 < 2


def test_a_service_that_dies_mid_turn_fails_the_turn(tmp_path: Path, speech_pcm: bytes) -> None:
    sock = tmp_path / "asr.sock"
    proc = subprocess.Popen([sys.executable, "-m", "tests.asr.stuck_service", str(sock)], cwd=REPO)
    try:
        deadline = time.monotonic() + 20
        while not sock.exists():
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.05)
        rec = RemoteEngine(sock, result_timeout_s=15).recognizer(grammar=None, call=CALL)
        rec.accept(speech_pcm)
        threading.Timer(0.5, proc.kill).start()  # SIGKILL while the turn is being decoded
        t0 = time.monotonic()
        with pytest.raises(RecognitionFailed):
            rec.result()
        assert time.monotonic() - t0 < 5
    finally:
        proc.kill()
        proc.wait()


def test_a_result_that_never_comes_is_bounded(serve: Callable, speech_pcm: bytes) -> None:
    service = serve(StuckEngineDouble())
    rec = RemoteEngine(service.socket_path, result_timeout_s=0.5).recognizer(grammar=None, call=CALL)
    rec.accept(speech_pcm)
    t0 = time.monotonic()
    with pytest.raises(RecognitionFailed):
        rec.result()
    assert time.monotonic() - t0 < 2


def test_garbage_on_the_socket_is_dropped_and_the_service_goes_on(serve: Callable, speech_pcm: bytes) -> None:
    service = serve(ScriptedAsrEngine({"*": ["好的"]}))
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.connect(str(service.socket_path))
        s.sendall(b"GET / HTTP/1.1\r\n\r\n")
        s.settimeout(2)
        assert s.recv(100) == b""  # closed without an answer
    rec = RemoteEngine(service.socket_path).recognizer(grammar=None, call=CALL)
    rec.accept(speech_pcm)
    assert rec.result() == "好的"
    assert service.status()["turns"]["dropped"] == 1


def test_a_second_service_on_a_live_socket_refuses_to_start(serve: Callable) -> None:
    service = serve(ScriptedAsrEngine({}))
    with pytest.raises(RuntimeError, match="already serving"):
        RecognitionService(ScriptedAsrEngine({}), service.socket_path)


def test_the_hello_frame_comes_first(serve: Callable) -> None:
    service = serve(ScriptedAsrEngine({}))
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.connect(str(service.socket_path))
        s.sendall(wire.encode(wire.AUDIO, b"\x00\x00"))
        s.settimeout(2)
        assert s.recv(100) == b""
