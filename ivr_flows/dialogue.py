"""Turn taking on one call: say a prompt, listen to the caller, keep every recording on disk and in
the database as it happens (a hangup at any moment loses nothing that was said)."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from agi.errors import AgiHangup
from asr.engine import CallInfo
from asr.listen import TurnListener
from hotline.db import transaction
from ivr_flows.ports import CallServices, Channel
from tickets import service

log = logging.getLogger(__name__)

ALL_DIGITS = "0123456789*#"


@dataclass
class Heard:
    """One listening turn."""

    purpose: str
    text: str = ""
    digit: str = ""
    speech_seconds: float = 0.0
    audio_seconds: float = 0.0
    ended_by: str = ""


@dataclass
class CallState:
    call_id: str
    caller: str
    dialed: str
    channel_name: str
    turn: int = 0
    turns: list[Heard] = field(default_factory=list)
    # Times (monotonic) for the turn-latency figures logged per call.
    recording_ended_at: float | None = None
    latencies_ms: list[float] = field(default_factory=list)

    @property
    def said_something(self) -> bool:
        return any(t.text or t.speech_seconds >= 0.3 for t in self.turns)


class Dialogue:
    def __init__(self, channel: Channel, services: CallServices, state: CallState) -> None:
        self.channel = channel
        self.services = services
        self.state = state
        day = datetime.now(UTC).strftime("%Y%m%d")
        self.recording_dir = services.settings.recordings_dir / day / state.call_id
        self.recording_dir.mkdir(parents=True, exist_ok=True)

    def _play(self, path: str, escape_digits: str) -> str:
        if self.state.recording_ended_at is not None:
            self.state.latencies_ms.append((time.monotonic() - self.state.recording_ended_at) * 1000)
            self.state.recording_ended_at = None
        return self.channel.play(path, escape_digits)

    def say(self, key: str, escape_digits: str = "0") -> str:
        """Play a catalog prompt; returns the digit that interrupted it, or ''."""
        return self._play(self.services.prompts.path(key), escape_digits)

    def say_text(self, text: str, escape_digits: str = "0") -> str:
        """Play text rendered for this call."""
        return self._play(self.services.prompts.text_path(text), escape_digits)

    def say_then_text(self, key: str, text: str, escape_digits: str = "0") -> str:
        """Play a cached prompt while `text` renders in the background, then play `text`: the caller
        hears the bot answer at once instead of waiting for the synthesiser."""
        rendered: list[str] = []
        worker = threading.Thread(target=lambda: rendered.append(self.services.prompts.text_path(text)),
                                  name="render", daemon=True)
        worker.start()
        digit = self.say(key, escape_digits)
        worker.join()
        if digit:
            return digit
        if not rendered:  # rendering failed (logged by the store): fall back to rendering here
            rendered.append(self.services.prompts.text_path(text))
        return self._play(rendered[0], escape_digits)

    def say_digits(self, intro_key: str, digits: str, escape_digits: str = "0") -> str:
        """An intro then a number digit by digit, all from cached prompts (digit_0 … digit_9)."""
        digit = self.say(intro_key, escape_digits)
        for d in digits:
            if digit:
                break
            if d.isdigit():
                digit = self.say(f"digit_{d}", escape_digits)
        return digit

    def listen(self, purpose: str, *, silence_s: int, max_s: int, grammar: list[str] | None = None,
               escape_digits: str = "0") -> Heard:
        st = self.state
        st.turn += 1
        path = self.recording_dir / f"{st.turn:02d}-{purpose}"
        with transaction(self.services.session_factory) as s:
            rec_id = service.add_recording(s, call_id=st.call_id, turn=st.turn, purpose=purpose,
                                           path=str(path.with_suffix(".wav"))).id
        listener = TurnListener(self.services.asr,
                                CallInfo(call_id=st.call_id, caller=st.caller, turn=st.turn, purpose=purpose),
                                grammar=grammar)
        listener.start(path.with_suffix(".wav"))
        heard = Heard(purpose=purpose)
        st.turns.append(heard)
        try:
            result = self.channel.record(str(path), "wav", escape_digits, timeout_ms=max_s * 1000,
                                         silence_s=silence_s)
            st.recording_ended_at = time.monotonic()
            heard.digit, heard.ended_by = result.digit, result.reason
            # Asterisk has closed the file, hangup included: decode it to the end.
            got = listener.finish()
            heard.text, heard.speech_seconds, heard.audio_seconds = (
                got.text, got.speech_seconds, got.audio_seconds)
            if result.reason == "hangup":
                raise AgiHangup("caller hung up while recording")
        except AgiHangup:
            heard.ended_by = "hangup"
            if not heard.audio_seconds:  # the command itself failed: keep what was decoded so far
                listener.abort()
                got = listener.heard_so_far()
                heard.text, heard.speech_seconds, heard.audio_seconds = (
                    got.text, got.speech_seconds, got.audio_seconds)
            raise
        finally:
            with transaction(self.services.session_factory) as s:
                service.finish_recording(s, recording_id=rec_id, audio_seconds=heard.audio_seconds,
                                         speech_seconds=heard.speech_seconds, transcript=heard.text,
                                         ended_by=heard.ended_by)
            log.info("call %s turn %d %s: %.1f s speech, %d chars, ended by %s", st.call_id, st.turn,
                     purpose, heard.speech_seconds, len(heard.text), heard.ended_by)
        return heard
