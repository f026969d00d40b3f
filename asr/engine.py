"""Recognition engines behind one small protocol: Vosk, "unavailable", or any `module:factory`."""

from __future__ import annotations

import importlib
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from asr.model import model_files_present
from asr.normalize import normalize_text
from asr.resample import Upsampler

if TYPE_CHECKING:
    from foundation.settings import Settings

log = logging.getLogger(__name__)

RATE = 8000
UNK = "[unk]"


@dataclass(frozen=True)
class CallInfo:
    call_id: str
    caller: str
    turn: int  # 1-based; counts every listening turn of the call
    purpose: str  # 'request' | 'place' | 'confirm' | 'survey' | …


class Recognizer(Protocol):
    def accept(self, pcm: bytes) -> None: ...

    def result(self) -> str:
        """Final normalised text; call once, after the last accept()."""
        ...


class AsrEngine(Protocol):
    @property
    def available(self) -> bool: ...

    @property
    def status(self) -> str:
        """One human-readable line for logs and `hotline status`."""
        ...

    def recognizer(self, *, grammar: Sequence[str] | None, call: CallInfo) -> Recognizer: ...


class UnavailableEngine:
    """No recogniser: turns still record and VAD still runs; text is always ''."""

    available = False

    def __init__(self, reason: str) -> None:
        self.status = f"ASR unavailable: {reason}"

    def recognizer(self, *, grammar: Sequence[str] | None, call: CallInfo) -> Recognizer:
        return _EmptyRecognizer()


class _EmptyRecognizer:
    def accept(self, pcm: bytes) -> None:
        pass

    def result(self) -> str:
        return ""


class VoskRecognizer:
    """Wraps one KaldiRecognizer (not thread-safe: feed it from one thread only)."""

    def __init__(self, kaldi: Any, upsampler: Upsampler | None = None) -> None:
        self._kaldi = kaldi
        self._upsampler = upsampler
        self._segments: list[str] = []
        self._final: str | None = None

    def accept(self, pcm: bytes) -> None:
        if self._final is not None:
            raise RuntimeError("recognizer already finished")
        if self._upsampler is not None:
            pcm = self._upsampler.process(pcm)
        # True means Vosk hit an endpoint: collect the segment now or FinalResult() drops it.
        if pcm and self._kaldi.AcceptWaveform(pcm):
            self._segments.append(_text(self._kaldi.Result()))

    def result(self) -> str:
        if self._final is None:
            self._segments.append(_text(self._kaldi.FinalResult()))
            self._final = normalize_text("".join(self._segments))
        return self._final


def _text(result_json: str) -> str:
    words = json.loads(result_json).get("text", "").split()
    return "".join(w for w in words if w != UNK)


class VoskEngine:
    available = True

    def __init__(self, model_dir: str | Path) -> None:
        import vosk  # deferred: loads the native library, not needed without a model

        vosk.SetLogLevel(-1)
        self.model_dir = Path(model_dir)
        self._vosk = vosk
        # Always a path: Model(lang=…) would try to download.
        self.model = vosk.Model(str(self.model_dir))
        self.decode_rate = decode_rate(self.model_dir)
        via = "" if self.decode_rate == RATE else f", 8 kHz calls upsampled to {self.decode_rate} Hz"
        self.status = f"ASR ready: Vosk model {self.model_dir}{via}"
        self._grammars: dict[tuple[str, ...], str] = {}  # per process: flows reuse a few grammars

    def recognizer(self, *, grammar: Sequence[str] | None, call: CallInfo) -> Recognizer:
        upsampler = None if self.decode_rate == RATE else Upsampler(self.decode_rate // RATE)
        if grammar is None:
            return VoskRecognizer(self._vosk.KaldiRecognizer(self.model, self.decode_rate), upsampler)
        key = tuple(grammar)
        if key not in self._grammars:
            phrases = grammar_phrases(grammar, self.in_vocabulary)
            self._grammars[key] = json.dumps([*phrases, UNK], ensure_ascii=False)
        kaldi = self._vosk.KaldiRecognizer(self.model, self.decode_rate, self._grammars[key])
        return VoskRecognizer(kaldi, upsampler)

    def in_vocabulary(self, word: str) -> bool:
        return bool(self.model.vosk_model_find_word(word) >= 0)


def decode_rate(model_dir: Path) -> int:
    """The rate to hand Vosk: 8000 if the model takes it, else the model's own rate (we upsample).

    Kaldi refuses audio below the model's rate unless conf/mfcc.conf has --allow-upsample=true,
    which the small models lack.
    """
    model_rate, may_upsample = 16000, False  # Kaldi's MFCC defaults
    conf = model_dir / "conf" / "mfcc.conf"
    for line in conf.read_text(encoding="utf-8").splitlines() if conf.is_file() else []:
        key, _, value = line.split("#", 1)[0].strip().partition("=")
        if key == "--sample-frequency":
            model_rate = int(float(value))
        elif key == "--allow-upsample":
            may_upsample = value.strip().lower() in ("true", "1")
    if model_rate <= RATE or may_upsample:
        return RATE
    if model_rate % RATE:
        log.warning("Vosk model rate %s Hz is not a multiple of 8 kHz; letting Vosk resample", model_rate)
        return RATE
    return model_rate


def grammar_phrases(grammar: Sequence[str], known: Callable[[str], bool]) -> list[str]:
    """Space-separate unsegmented phrases into model words ('基本满意' → '基本 满意').

    Vosk grammars accept only in-vocabulary words; a phrase that cannot be covered is dropped with
    a warning instead of silently never matching.
    """
    out = []
    for phrase in grammar:
        words = phrase.split() if " " in phrase.strip() else segment(phrase.strip(), known)
        if words and all(known(w) for w in words):
            out.append(" ".join(words))
        else:
            log.warning("grammar phrase %r has words outside the Vosk vocabulary; ignored", phrase)
    return out


def segment(text: str, known: Callable[[str], bool], max_word: int = 6) -> list[str] | None:
    """Fewest in-vocabulary words covering `text`, or None."""
    best: list[list[str] | None] = [[]] + [None] * len(text)
    for end in range(1, len(text) + 1):
        for start in range(max(0, end - max_word), end):
            head = best[start]
            if head is not None and known(text[start:end]):
                candidate = [*head, text[start:end]]
                current = best[end]
                if current is None or len(candidate) < len(current):
                    best[end] = candidate
    return best[len(text)]


def load_engine(settings: Settings) -> AsrEngine:
    """The engine `asr_engine` names; "auto" is Vosk where its model is installed, else Whisper. An engine
    whose model is missing or broken gives way to UnavailableEngine: calls are still taken and recorded."""
    choice = settings.asr_engine
    if choice in ("auto", "vosk", "whisper"):
        reasons = []
        for name in ("vosk", "whisper") if choice == "auto" else (choice,):
            loaded, reason = _load_builtin(name, settings)
            if loaded is not None:
                log.info("%s", loaded.status)
                return loaded
            reasons.append(reason)
        return _unavailable(" ".join(reasons))
    module_name, sep, attr = choice.partition(":")
    if not sep or not module_name or not attr:
        raise ValueError(f"asr_engine must be 'auto', 'vosk', 'whisper' or 'module:callable', not {choice!r}")
    factory = getattr(importlib.import_module(module_name), attr)
    engine: AsrEngine = factory(settings)
    log.info("%s", engine.status)
    return engine


def _load_builtin(name: str, settings: Settings) -> tuple[AsrEngine | None, str]:
    if name == "vosk":
        model_dir = settings.vosk_model_dir
        if not model_files_present(model_dir):
            return None, f"Vosk model not found at {model_dir}; run 'hotline setup' where the network allows."
        try:
            return VoskEngine(model_dir), ""
        except Exception as exc:  # a corrupt model must not stop calls being taken
            return None, f"Vosk model at {model_dir} failed to load ({exc})."
    from asr.whisper import model_files_present as whisper_files_present

    model_dir = settings.whisper_model_dir
    if not whisper_files_present(model_dir):
        return None, f"Whisper model not found at {model_dir}; run 'hotline setup'."
    try:
        from asr.whisper import WhisperOptions
        from asr.whisper_engine import WhisperEngine

        options = WhisperOptions(model_dir=model_dir, device=settings.whisper_device,
                                 compute_type=settings.whisper_compute_type, cpu_threads=settings.whisper_cpu_threads,
                                 workers=settings.whisper_workers, beam_size=settings.whisper_beam_size,
                                 initial_prompt=settings.whisper_initial_prompt)
        return WhisperEngine(options, max_batch=settings.asr_max_batch, max_wait_s=settings.asr_max_wait_s,
                             result_timeout_s=settings.asr_result_timeout_s), ""
    except Exception as exc:  # same: a model that does not load leaves calls to people, not to errors
        return None, f"Whisper model at {model_dir} failed to load ({exc})."


def _unavailable(reason: str) -> UnavailableEngine:
    engine = UnavailableEngine(reason)
    log.warning("%s Calls are recorded and marked for operator transcription.", engine.status)
    return engine
