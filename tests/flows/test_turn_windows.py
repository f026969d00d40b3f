"""Free speech heard in 1 s silence windows: a slow start is waited out, a short first fragment is joined
with what follows, the caller hears an acknowledgement while a slow recogniser decodes, and a recogniser
that cannot answer sends the caller to a person with the recording."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from sqlalchemy.orm import Session, sessionmaker

from asr.engine import CallInfo, Recognizer
from asr.errors import RecognitionBusy
from foundation.settings import Settings
from ivr_flows.ports import CallServices
from tests.doubles.scripted_asr import ScriptedAsrEngine, ScriptedRecognizer
from tests.flows.conftest import CALLER
from tests.flows.fakes import FakeChannel, Step
from tests.flows.test_intake import SILENCE, _only_ticket, _run

REQUEST = "龙华区金盘路的路灯坏了好几天了晚上很黑"


def _windows(settings: Settings) -> None:
    settings.request_silence_s = 1
    settings.request_start_wait_s = 5.0
    settings.request_hold_below_s = 2.0


def test_a_slow_start_is_waited_out_without_a_word(settings: Settings, make_services: Callable[..., CallServices],
                                                   speech: Callable[[str], bytes],
                                                   session_factory: sessionmaker[Session]) -> None:
    _windows(settings)
    chan = FakeChannel([Step(SILENCE), Step(SILENCE), Step(speech(REQUEST)), Step(speech("对"))])
    _run(chan, make_services([REQUEST, "对"]))
    assert "prompt:repeat" not in chan.played  # nobody was told "没有听清" for taking a breath
    assert chan.played.index("prompt:readback_intro") > 0
    t = _only_ticket(session_factory)
    assert t is not None and t.confirmed_by_caller and t.transcript == REQUEST


def test_silence_past_the_start_wait_is_a_failed_turn(settings: Settings, make_services: Callable[..., CallServices],
                                                     speech: Callable[[str], bytes]) -> None:
    _windows(settings)
    chan = FakeChannel([Step(SILENCE)] * 5 + [Step(speech(REQUEST)), Step(speech("对"))])
    _run(chan, make_services([REQUEST, "对"]))
    assert chan.played.count("prompt:repeat") == 1
    assert len(chan.recorded) == 7


def test_a_short_first_fragment_is_joined_with_what_follows(settings: Settings,
                                                            make_services: Callable[..., CallServices],
                                                            speech: Callable[[str], bytes],
                                                            session_factory: sessionmaker[Session]) -> None:
    _windows(settings)
    chan = FakeChannel([Step(speech("我想反映")), Step(speech(REQUEST)), Step(speech("对"))])
    _run(chan, make_services(["我想反映", REQUEST, "对"]))
    assert chan.played[:2] == ["prompt:greeting", "prompt:readback_intro"]  # nothing between the two parts
    readback = chan.played[chan.played.index("prompt:readback_intro") + 1]
    assert "金盘路" in readback
    t = _only_ticket(session_factory)
    assert t is not None and t.transcript.splitlines() == ["我想反映", REQUEST]
    assert [r.purpose for r in t.recordings] == ["request", "request", "confirm"]
    assert [r.transcript for r in t.recordings][:2] == ["我想反映", REQUEST]


def test_a_hang_up_after_a_held_fragment_keeps_its_words(settings: Settings,
                                                         make_services: Callable[..., CallServices],
                                                         speech: Callable[[str], bytes],
                                                         session_factory: sessionmaker[Session]) -> None:
    _windows(settings)
    chan = FakeChannel([Step(speech("金盘路路灯")), Step(b"", hangup=True)])
    _run(chan, make_services(["金盘路路灯坏了"]))
    t = _only_ticket(session_factory)
    assert t is not None and t.incomplete and "金盘路路灯坏了" in t.transcript


class SlowScriptedDouble(ScriptedAsrEngine):
    """TEST DOUBLE: the scripted engine, but each text takes 0.3 s to decode (as Whisper's ~1 s does)."""

    def recognizer(self, *, grammar: Sequence[str] | None, call: CallInfo) -> Recognizer:
        inner = super().recognizer(grammar=grammar, call=call)
        assert isinstance(inner, ScriptedRecognizer)

        class _Slow:
            def accept(self, pcm: bytes) -> None:
                inner.accept(pcm)

            def result(self) -> str:
                time.sleep(0.3)
                return inner.result()

        return _Slow()


def test_the_caller_hears_an_acknowledgement_while_a_slow_recogniser_decodes(
        make_services: Callable[..., CallServices], speech: Callable[[str], bytes]) -> None:
    chan = FakeChannel([Step(speech(REQUEST)), Step(speech("对"))])
    _run(chan, make_services(asr=SlowScriptedDouble({CALLER: [REQUEST, "对"]})))
    # The read-back follows the acknowledgement as one sentence, intro included.
    assert chan.played[:2] == ["prompt:greeting", "prompt:ack"]
    assert chan.played[2].startswith("text:<readback_intro>") and "路灯" in chan.played[2]
    assert "prompt:readback_intro" not in chan.played


def test_a_fast_recogniser_needs_no_acknowledgement(make_services: Callable[..., CallServices],
                                                    speech: Callable[[str], bytes]) -> None:
    chan = FakeChannel([Step(speech(REQUEST)), Step(speech("对"))])
    _run(chan, make_services([REQUEST, "对"]))
    assert "prompt:ack" not in chan.played


class BusyDouble:
    """TEST DOUBLE: a recogniser whose queue is full."""

    available = True
    status = "busy TEST DOUBLE"

    def recognizer(self, *, grammar: Sequence[str] | None, call: CallInfo) -> Recognizer:
        class _Busy:
            def accept(self, pcm: bytes) -> None:
                pass

            def result(self) -> str:
                raise RecognitionBusy("about 9.0 s of decoding queued (bound 6.0 s)")

        return _Busy()


def test_a_busy_recogniser_sends_the_caller_to_a_person_with_the_recording(
        make_services: Callable[..., CallServices], speech: Callable[[str], bytes],
        session_factory: sessionmaker[Session]) -> None:
    chan = FakeChannel([Step(speech(REQUEST))])
    _run(chan, make_services(asr=BusyDouble()))
    assert chan.vars["HOTLINE_REASON"] == "asr_busy" and chan.vars["HOTLINE_NEXT"] == "operator"
    assert "prompt:repeat" not in chan.played and chan.played[-1] == "prompt:to_operator_unrecognised"
    t = _only_ticket(session_factory)
    assert t is not None and t.needs_transcription and t.recordings[0].speech_seconds > 1
