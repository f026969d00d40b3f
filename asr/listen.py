"""One listening turn: decode a recording while Asterisk is still writing it.

    listener = TurnListener(engine, CallInfo(...), grammar=None)
    listener.start("/abs/path/turn3.wav")      # before sending RECORD FILE
    ...RECORD FILE /abs/path/turn3 wav ...    # blocks until the caller stops talking
    heard = listener.finish()                 # only the last ~2 s buffer is left to decode
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from asr.audio import RATE, SAMPLE_WIDTH, VoiceActivity
from asr.engine import AsrEngine, CallInfo
from asr.errors import RecognitionError
from asr.follower import follow_wav

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Heard:
    text: str  # '' when nothing was recognised or no engine is available
    speech_seconds: float  # voice activity, independent of the recogniser
    audio_seconds: float
    finish_ms: float  # time spent in finish(): decode left after the recording closed
    failure: str = ""  # '' or why the recogniser gave no text (asr.errors kinds: busy, unavailable, failed)


class TurnListener:
    def __init__(
        self,
        engine: AsrEngine,
        call: CallInfo,
        grammar: Sequence[str] | None = None,
        *,
        poll_s: float = 0.01,
        appear_timeout_s: float = 5.0,
    ) -> None:
        self.call = call
        self._recognizer = engine.recognizer(grammar=grammar, call=call)
        self._vad = VoiceActivity()
        self._poll_s = poll_s
        self._appear_timeout_s = appear_timeout_s
        self._done = threading.Event()  # the recording is closed: read to EOF and stop
        self._stop = threading.Event()  # hang-up or overrun: stop now
        self.consumed = threading.Event()  # the whole recording has been read (voice activity is final)
        self._thread: threading.Thread | None = None
        self._bytes = 0
        self._heard: Heard | None = None
        self._text: str | None = None
        self._failure = ""
        self.error: Exception | None = None
        self._label = f"call {call.call_id} turn {call.turn}"

    def start(self, wav_path: str | Path) -> None:
        if self._thread is not None:
            raise RuntimeError("TurnListener.start() called twice")
        self._thread = threading.Thread(
            target=self._run,
            args=(Path(wav_path),),
            name=self._label,
            daemon=True,
        )
        self._thread.start()

    def _run(self, path: Path) -> None:
        chunks = follow_wav(path, self._done, poll_s=self._poll_s, appear_timeout_s=self._appear_timeout_s)
        try:
            with contextlib.closing(chunks):
                for chunk in chunks:
                    if self._stop.is_set():
                        break
                    self._recognizer.accept(chunk)
                    self._vad.feed(chunk)
                    self._bytes += len(chunk)
        except Exception as exc:  # keep the call going: the turn just yields what was decoded
            self.error = exc
            log.warning("%s: listening to %s failed: %s", self._label, path, exc)
        self.consumed.set()
        if not self._stop.is_set():
            self._decode()  # here, not in finish(): the flow can play something meanwhile

    def _decode(self) -> None:
        try:
            self._text = self._recognizer.result()
        except RecognitionError as exc:
            self._text, self._failure = "", exc.kind
            log.warning("%s: no text from the recogniser (%s): %s", self._label, exc.kind, exc)
        except Exception as exc:
            self._text, self._failure = "", "failed"
            log.exception("%s: recogniser failed: %s", self._label, exc)

    def close(self) -> None:
        """The recording is closed: decoding of what is left starts now, in the listener's thread."""
        self._done.set()

    @property
    def speech_seconds(self) -> float:
        return self._vad.speech_seconds

    def wait(self, timeout_s: float) -> bool:
        """True once the text is ready (or there will be none); False while decoding goes on."""
        if self._thread is not None:
            self._thread.join(timeout_s)
            return not self._thread.is_alive()
        return True

    def finish(self, timeout_s: float = 25.0) -> Heard:
        """Call after RECORD FILE returned (the file is closed): wait for the text, return the turn."""
        t0 = time.perf_counter()
        self._done.set()
        return self._conclude(timeout_s, t0)

    def abort(self) -> None:
        """Hang-up: stop following the file; heard_so_far() keeps what was decoded."""
        self._stop.set()
        self._done.set()
        if self._thread is not None:
            self._thread.join(1.0)

    def heard_so_far(self) -> Heard:
        """What was decoded up to now (stops listening if abort() was not called yet)."""
        if self._heard is None:
            self.abort()
        return self._conclude(0.0, time.perf_counter())

    def _conclude(self, timeout_s: float, t0: float) -> Heard:
        if self._heard is not None:
            return self._heard
        thread = self._thread
        if thread is not None:
            thread.join(timeout_s)
            if thread.is_alive():
                # A recogniser busy in another thread must not be touched: give up on the text.
                log.warning("%s: decode overran %.1f s", self._label, timeout_s)
                self._stop.set()
                self._failure = "busy"
                return self._make("", t0)
        if self._text is None:  # stopped early (hang-up): decode what was heard, in this thread
            self._decode()
        return self._make(self._text or "", t0)

    def _make(self, text: str, t0: float) -> Heard:
        self._heard = Heard(
            text=text,
            speech_seconds=self._vad.speech_seconds,
            audio_seconds=self._bytes / (RATE * SAMPLE_WIDTH),
            finish_ms=(time.perf_counter() - t0) * 1000,
            failure=self._failure,
        )
        return self._heard
