"""Turn taking on one call: say a prompt, listen to the caller, keep every recording on disk and in
the database as it happens (a hangup at any moment loses nothing that was said)."""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from agi.errors import AgiHangup
from asr.engine import CallInfo
from asr.listen import Heard as Listened
from asr.listen import TurnListener
from foundation.turn_spool import record_turn
from ivr_flows.callstore import CallStore
from ivr_flows.ports import CallServices, Channel

log = logging.getLogger(__name__)

ALL_DIGITS = "0123456789*#"
# After the caller stops, a text not ready within this long gets an acknowledgement first ("好的，请稍等"):
# the caller never hears dead air while a slower recogniser (Whisper) decodes.
ACK_AFTER_S = 0.05
ACK_MIN_SPEECH_S = 0.3
NOT_BEGUN_BELOW_S = 0.1  # a one-syllable 对 through µ-law shows ~0.15 s of voice
MIN_FREE_BYTES = 1_000_000  # a whole 60 s turn of 8 kHz 16-bit audio, with room to spare
WAV_HEADER_BYTES = 44


def _free_bytes(directory: Path) -> int | None:
    try:
        st = os.statvfs(directory)
    except OSError:
        return None  # not there (yet): RECORD FILE and the check after it will tell
    return st.f_bavail * st.f_frsize


def joined(first: Heard, more: Heard) -> Heard:
    """Two recordings of one utterance (the caller paused between them) as one turn."""
    return Heard(purpose=first.purpose, text=first.text + more.text, digit=more.digit,
                 speech_seconds=first.speech_seconds + more.speech_seconds,
                 audio_seconds=first.audio_seconds + more.audio_seconds, ended_by=more.ended_by,
                 asr_failure=first.asr_failure or more.asr_failure, acknowledged=more.acknowledged)


def _held(listener: TurnListener, below_s: float) -> bool:
    """Whether a turn is a short fragment of voice (the caller paused mid-sentence, most likely)."""
    listener.consumed.wait(1.0)  # the last buffer of the recording is read within milliseconds
    return ACK_MIN_SPEECH_S <= listener.speech_seconds < below_s


def _written(wav: Path) -> bool:
    try:
        return wav.stat().st_size >= WAV_HEADER_BYTES
    except OSError:
        return False


@dataclass
class Heard:
    """One listening turn."""

    purpose: str
    text: str = ""
    digit: str = ""
    speech_seconds: float = 0.0
    audio_seconds: float = 0.0
    ended_by: str = ""
    asr_failure: str = ""  # '' or why the recogniser gave no text (busy, unavailable, failed)
    pending: bool = False  # held by listen(hold_below_s): text still decoding, see complete_pending()
    acknowledged: bool = False  # the ack prompt played while the text was being decoded


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
    def __init__(self, channel: Channel, services: CallServices, state: CallState,
                 store: CallStore | None = None) -> None:
        self.channel = channel
        self.services = services
        self.state = state
        # Without a store (survey): database only, no journal fallback.
        self.store = store or CallStore(services.session_factory, None, call_id=state.call_id)
        day = datetime.now(UTC).strftime("%Y%m%d")
        self.recording_dir = services.settings.recordings_dir / day / state.call_id
        self._pending: list[tuple[Heard, TurnListener, int]] = []  # held turns, oldest first
        try:
            self.recording_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:  # spool full or unwritable: Asterisk's RECORD FILE will fail and say so
            log.error("call %s: cannot create %s (%s)", state.call_id, self.recording_dir, exc)

    def _play(self, path: str, escape_digits: str) -> str:
        if self.state.recording_ended_at is not None:
            self.state.latencies_ms.append((time.monotonic() - self.state.recording_ended_at) * 1000)
            self.state.recording_ended_at = None
            # For /metrics: the API reads this spool (this process ends with the call).
            record_turn(self.services.settings.home, self.state.latencies_ms[-1],
                        self.state.turns[-1].purpose if self.state.turns else "")
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
               escape_digits: str = "0", ack: str = "", hold_below_s: float = 0.0) -> Heard:
        """Record one turn. With `ack` (a prompt key), that prompt plays while the turn's text is still being
        decoded after the caller has spoken; a digit pressed during it counts as the turn's digit.

        With `hold_below_s`, a turn that ended in silence after less voice than that is returned at once
        with `pending` set and its text still decoding: the flow listens on at once (the caller paused
        mid-sentence) and the text arrives with `complete_pending()`."""
        st = self.state
        st.turn += 1
        path = self.recording_dir / f"{st.turn:02d}-{purpose}"
        free = _free_bytes(self.recording_dir)
        if free is not None and free < MIN_FREE_BYTES:
            # Asterisk would "record" into a full disk without a word and the caller would be asked
            # to repeat into nothing: report a failed turn at once (the flow hands over to a person).
            log.error("call %s turn %d: spool full (No space left on device, %d bytes free in %s): "
                      "recording failed", st.call_id, st.turn, free, self.recording_dir)
            heard = Heard(purpose=purpose, ended_by="error")
            st.turns.append(heard)
            return heard
        self.store.add_recording(turn=st.turn, purpose=purpose, path=str(path.with_suffix(".wav")))
        listener = TurnListener(self.services.asr,
                                CallInfo(call_id=st.call_id, caller=st.caller, turn=st.turn, purpose=purpose),
                                grammar=grammar)
        listener.start(path.with_suffix(".wav"))
        heard = Heard(purpose=purpose)
        st.turns.append(heard)
        turn = st.turn
        try:
            result = self.channel.record(str(path), "wav", escape_digits, timeout_ms=max_s * 1000,
                                         silence_s=silence_s)
            st.recording_ended_at = time.monotonic()
            heard.digit, heard.ended_by = result.digit, result.reason
            if result.reason != "hangup" and not _written(path.with_suffix(".wav")):
                log.error("call %s turn %d: Asterisk wrote no audio to %s (spool full or unwritable?): "
                          "recording failed", st.call_id, st.turn, path.with_suffix(".wav"))
                heard.ended_by = "error"
            # Asterisk has closed the file, hangup included: decode it to the end (in the listener's thread).
            listener.close()
            if hold_below_s and result.reason == "silence" and _held(listener, hold_below_s):
                heard.speech_seconds = listener.speech_seconds
                heard.pending = True
                self._pending.append((heard, listener, turn))
                st.recording_ended_at = None  # the caller is still talking: no bot turn to time
                return heard
            if ack and result.reason != "hangup" and not heard.digit:
                heard.acknowledged, digit = self._acknowledge(listener, ack, escape_digits)
                heard.digit = digit or heard.digit
            self._take(heard, listener.finish())
            if result.reason == "hangup":
                raise AgiHangup("caller hung up while recording")
        except AgiHangup:
            heard.ended_by = "hangup"
            if not heard.audio_seconds:  # the command itself failed: keep what was decoded so far
                listener.abort()
                self._take(heard, listener.heard_so_far())
            raise
        finally:
            if not heard.pending:
                self._store_turn(heard, turn)
                self.complete_pending()  # a fragment held before this turn: its text has had time to arrive
        return heard

    def hear(self, purpose: str, *, silence_s: int, max_s: int, start_wait_s: float = 0.0,
             hold_below_s: float = 0.0, grammar: list[str] | None = None, escape_digits: str = "0",
             ack: str = "") -> Heard:
        """One turn of the caller's in short silence windows. A window in which the caller has not begun
        is listened through again, without a word, until `start_wait_s` have passed; a first fragment with
        less voice than `hold_below_s` (a pause mid-sentence) is joined with what follows."""
        waited = 0.0
        while True:
            heard = self.listen(purpose, silence_s=silence_s, max_s=max_s, grammar=grammar,
                                escape_digits=escape_digits, ack=ack, hold_below_s=hold_below_s)
            if heard.pending:
                more = self.listen(purpose, silence_s=silence_s, max_s=max_s, grammar=grammar,
                                   escape_digits=escape_digits, ack=ack)
                return joined(heard, more)  # listen() completed the held fragment before returning
            waited += silence_s  # a silent window lasts at least this long
            not_begun = heard.ended_by == "silence" and not heard.digit and not heard.text \
                and heard.speech_seconds < NOT_BEGUN_BELOW_S
            if not (not_begun and waited < start_wait_s):
                return heard

    def complete_pending(self) -> None:
        """Wait for the text of held turns (listen's `hold_below_s`) and store it; safe after a hang-up."""
        while self._pending:
            heard, listener, turn = self._pending.pop(0)
            self._take(heard, listener.finish())
            heard.pending = False
            self._store_turn(heard, turn)

    @staticmethod
    def _take(heard: Heard, got: Listened) -> None:
        heard.text, heard.speech_seconds, heard.audio_seconds = got.text, got.speech_seconds, got.audio_seconds
        heard.asr_failure = got.failure

    def _store_turn(self, heard: Heard, turn: int) -> None:
        self.store.finish_recording(turn=turn, audio_seconds=heard.audio_seconds,
                                    speech_seconds=heard.speech_seconds, transcript=heard.text,
                                    ended_by=heard.ended_by)
        log.info("call %s turn %d %s: %.1f s speech, %d chars, ended by %s%s", self.state.call_id, turn,
                 heard.purpose, heard.speech_seconds, len(heard.text), heard.ended_by,
                 f", no text ({heard.asr_failure})" if heard.asr_failure else "")

    def _acknowledge(self, listener: TurnListener, key: str, escape_digits: str) -> tuple[bool, str]:
        """Play `key` if the caller spoke and the text is not ready at once: (played, the digit that cut it)."""
        listener.consumed.wait(1.0)  # the last buffer of the recording is read within milliseconds
        if listener.speech_seconds < ACK_MIN_SPEECH_S or listener.wait(ACK_AFTER_S):
            return False, ""
        return True, self.say(key, escape_digits)
