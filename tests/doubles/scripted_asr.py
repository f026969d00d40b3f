"""TEST DOUBLE: an ASR engine that returns scripted text, but only for audio that holds real speech.

Use it where the Vosk model is absent: HOTLINE_ASR_ENGINE=tests.doubles.scripted_asr:scripted_engine
and HOTLINE_ASR_ENGINE_OPTIONS=/path/script.json with
    {"13800138000": ["小区路灯坏了", "龙华区金盘路", "对"], "*": ["..."]}
Texts are keyed by caller number ("*" for any other caller) and taken in order, one for each turn of
the call (CallInfo.call_id) in which the caller spoke: a turn whose audio has less than 0.1 s of voice
returns '', as would a real recogniser hearing silence, and uses up no text. So a silent window the bot
listens through again (a slow start) does not shift what the caller says next. With a grammar, Vosk can
only answer one of its phrases:
the double answers the longest grammar phrase found in the scripted text ("我要转人工" → "转人工"),
or '' if there is none.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from asr.audio import VoiceActivity
from asr.engine import CallInfo, Recognizer
from asr.normalize import normalize_text

if TYPE_CHECKING:
    from foundation.settings import Settings

log = logging.getLogger(__name__)

MIN_SPEECH_S = 0.1  # a one-syllable 对 through µ-law shows ~0.15 s of voice; silence shows 0


class ScriptedAsrEngine:
    available = True

    def __init__(self, script: Mapping[str, Sequence[str]], source: str = "inline script") -> None:
        self.script = {caller: list(texts) for caller, texts in script.items()}
        self.status = f"ASR: scripted TEST DOUBLE ({source}), not a recogniser"
        self._spoken: Counter[str] = Counter()  # call id → voiced turns answered so far
        self._lock = threading.Lock()  # the recognition service serves turns from several threads

    def recognizer(self, *, grammar: Sequence[str] | None, call: CallInfo) -> Recognizer:
        texts = self.script.get(call.caller, self.script.get("*", []))

        def next_text() -> str:
            with self._lock:
                n = self._spoken[call.call_id]
                self._spoken[call.call_id] += 1
            text = texts[n] if n < len(texts) else ""
            return _grammar_answer(text, grammar) if grammar is not None else text

        return ScriptedRecognizer(next_text)


class ScriptedRecognizer:
    def __init__(self, next_text: Callable[[], str]) -> None:
        self._next_text = next_text
        self._text: str | None = None
        self.vad = VoiceActivity()

    def accept(self, pcm: bytes) -> None:
        self.vad.feed(pcm)

    def result(self) -> str:
        if self._text is None:
            voiced = self.vad.speech_seconds >= MIN_SPEECH_S
            self._text = normalize_text(self._next_text()) if voiced else ""
        return self._text


def _plain(text: str) -> str:
    return "".join(text.split())


def _grammar_answer(text: str, grammar: Sequence[str]) -> str:
    found = [_plain(p) for p in grammar if _plain(p) and _plain(p) in _plain(text)]
    if not found:
        log.debug("scripted text %r matches no grammar phrase of %s", text, grammar)
    return max(found, key=len, default="")


def scripted_engine(settings: Settings) -> ScriptedAsrEngine:
    path = Path(settings.asr_engine_options)
    return ScriptedAsrEngine(json.loads(path.read_text(encoding="utf-8")), source=str(path))
