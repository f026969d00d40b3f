"""Whisper (CTranslate2) decoding of one utterance at a time, with guards against invented text.

We drive CTranslate2 directly instead of faster-whisper's `transcribe()` for one reason, measured on
this project's 2-core machine: `transcribe()` always pads the audio to Whisper's 30 s window, and the
encoder's cost follows the window, not the speech (≈ 4 s for a 4 s request). CTranslate2 accepts a
shorter mel window, so a caller's 4 s request is encoded over ≈ 5 s of frames (≈ 0.5 s). faster-whisper
still supplies the feature extractor and tokenizer. Utterances longer than the window fall back to
faster-whisper's segment-wise `transcribe()`.

Whisper invents text on silence and noise (subtitle credits, "谢谢观看", loops), so every result passes
guards (`judge`) and a rejected one is returned with text '' and the reason: the caller is asked again
or handed to a person, never given a ticket that nobody said.
"""

from __future__ import annotations

import logging
import math
import threading
import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from asr.normalize import normalize_text

log = logging.getLogger(__name__)

WHISPER_RATE = 16000
FRAMES_PER_SECOND = 100  # Whisper's mel hop is 10 ms
MAX_WINDOW_FRAMES = 3000  # the model's 30 s window
# Loops only: a low-confidence short window rarely reads better over 30 s, and noise would pay ~3 s for it.
RETRY_FULL_WINDOW = frozenset({"repetition", "too_fast"})
MODEL_FILES = ("model.bin", "config.json", "tokenizer.json", "vocabulary.txt")

# Phrases Whisper is known to produce from silence, noise or music (its training subtitles), and the
# ones measured here on noise. A result made only of these (and punctuation) is rejected.
HALLUCINATIONS = (
    "请不吝点赞订阅转发打赏支持明镜与点点栏目",
    "请不吝点赞",
    "点赞订阅转发打赏",
    "谢谢观看",
    "谢谢收看",
    "谢谢大家",
    "感谢观看",
    "字幕由Amara.org社区提供",
    "字幕志愿者",
    "中文字幕",
    "优优独播剧场",
    "YoYoTelevisionSeriesExclusive",
    "明镜与点点栏目",
    "我认为你会不会有这种事",
    "好好的",
    "嗯",
    "啊",
    "Thankyou",
    "Thanksforwatching",
)


@dataclass(frozen=True)
class Guards:
    """Thresholds past which a decode is not believed (Whisper's own defaults, and ours)."""

    min_speech_s: float = 0.1  # voice activity below this: not decoded (a one-syllable 对 shows ~0.15 s)
    no_speech_prob: float = 0.6  # with avg_logprob below `low_logprob`: silence
    low_logprob: float = -1.0
    # Whatever no_speech says: too unsure to use. The real clips score -0.05 to -1.01 at 8 kHz; loud line
    # noise gave a two-character "word" at -1.43.
    reject_logprob: float = -1.2
    compression_ratio: float = 2.4  # higher: a repetition loop
    max_chars_per_second: float = 12.0  # Mandarin is spoken at 3–6 characters a second
    # Seconds of voice (VAD) with almost no text: noise the voice detector took for speech.
    sparse_after_s: float = 3.0
    min_chars_per_voiced_second: float = 0.6


@dataclass(frozen=True)
class Decoded:
    text: str  # '' when nothing was said or the guards rejected it
    raw_text: str = ""  # what the model produced, before the guards (for logs and benchmarks)
    rejected: str = ""  # '' or why: silence, no_speech, low_confidence, repetition, hallucination, too_fast,
    # too_sparse
    no_speech_prob: float = 0.0
    avg_logprob: float = 0.0
    compression_ratio: float = 0.0
    audio_s: float = 0.0
    decode_ms: float = 0.0


@dataclass(frozen=True)
class WhisperOptions:
    model_dir: Path
    device: str = "cpu"
    compute_type: str = "int8"
    cpu_threads: int = 0  # 0: CTranslate2 picks (all cores)
    workers: int = 1  # decodes run at once (CTranslate2 inter_threads)
    beam_size: int = 1
    language: str = "zh"
    initial_prompt: str = ""  # domain words; kept only where bench/asr.py shows it lowers CER
    pad_s: float = 1.0  # silence added after the speech inside the window
    min_window_s: float = 3.0
    guards: Guards = field(default_factory=Guards)


def model_files_present(model_dir: Path) -> bool:
    return all((model_dir / name).is_file() for name in MODEL_FILES)


def compression_ratio(text: str) -> float:
    data = text.encode("utf-8")
    return len(data) / len(zlib.compress(data)) if data else 0.0


def _plain(text: str) -> str:
    return "".join(ch for ch in text if ch.isalnum())


def judge(*, text: str, no_speech_prob: float, avg_logprob: float, audio_s: float, guards: Guards,
          speech_s: float | None = None) -> str:
    """'' when `text` may be believed, else the reason it may not (`speech_s`: seconds of voice, if known)."""
    plain = _plain(text)
    if not plain:
        return "no_speech"
    if no_speech_prob > guards.no_speech_prob and avg_logprob < guards.low_logprob:
        return "no_speech"
    if avg_logprob < guards.reject_logprob:
        return "low_confidence"
    if compression_ratio(text) > guards.compression_ratio:
        return "repetition"
    rest = plain
    for phrase in HALLUCINATIONS:
        rest = rest.replace(phrase, "")
    if not rest:
        return "hallucination"
    if audio_s > 0 and len(plain) > guards.max_chars_per_second * max(audio_s, 1.0):
        return "too_fast"
    if speech_s is not None and speech_s >= guards.sparse_after_s \
            and len(plain) < guards.min_chars_per_voiced_second * speech_s:
        return "too_sparse"
    return ""


class Simplifier:
    """Traditional → simplified characters with OpenCC (Whisper sometimes answers in 繁體)."""

    def __init__(self) -> None:
        import opencc

        self._cc = opencc.OpenCC("t2s")

    def __call__(self, text: str) -> str:
        return str(self._cc.convert(text))


class WhisperModel:
    """One loaded model; `decode` is thread-safe and takes a batch of utterances."""

    def __init__(self, options: WhisperOptions) -> None:
        import ctranslate2
        import tokenizers
        from faster_whisper.feature_extractor import FeatureExtractor
        from faster_whisper.tokenizer import Tokenizer

        self.options = options
        self._ct2 = ctranslate2
        self.model = ctranslate2.models.Whisper(
            str(options.model_dir), device=options.device, compute_type=options.compute_type,
            intra_threads=options.cpu_threads, inter_threads=max(1, options.workers))
        hf = tokenizers.Tokenizer.from_file(str(options.model_dir / "tokenizer.json"))
        self.tokenizer = Tokenizer(hf, self.model.is_multilingual, task="transcribe", language=options.language)
        self.features = FeatureExtractor(feature_size=self.model.n_mels)
        self.simplify = Simplifier()
        self._suppress = _suppressed_tokens(self.tokenizer)
        prompt: list[int] = []
        if options.initial_prompt:
            prompt = [self.tokenizer.sot_prev, *self.tokenizer.encode(" " + options.initial_prompt.strip())]
        self._prompt = [*prompt, *self.tokenizer.sot_sequence, self.tokenizer.no_timestamps]
        self._lock = threading.Lock()  # the feature extractor keeps per-call state
        self._long: Any = None  # faster-whisper's WhisperModel for > 30 s, built on first need

    @property
    def name(self) -> str:
        return self.options.model_dir.name

    def decode(self, audios: Sequence[np.ndarray], speech_s: Sequence[float | None] | None = None) -> list[Decoded]:
        """16 kHz float32 mono arrays → one Decoded each, guards applied (`speech_s`: seconds of voice each)."""
        t0 = time.perf_counter()
        voiced = list(speech_s) if speech_s is not None else [None] * len(audios)
        short = [i for i, a in enumerate(audios) if len(a) < (MAX_WINDOW_FRAMES - 100) * WHISPER_RATE // 100]
        out: dict[int, Decoded] = {}
        if short:
            for i, d in zip(short, self._decode_windowed([audios[i] for i in short]), strict=True):
                out[i] = d
            # A short window sometimes loops or loses its way where the full one does not: those few
            # are decoded again over Whisper's whole 30 s window (≈ 3 s more, for them only).
            again = [i for i in short if out[i].rejected in RETRY_FULL_WINDOW]
            if again:
                for i, d in zip(again, self._decode_windowed([audios[i] for i in again], full=True), strict=True):
                    out[i] = d
        for i in range(len(audios)):
            if i not in out:
                out[i] = self._decode_long(audios[i])
        ms = (time.perf_counter() - t0) * 1000
        return [_with_time(self._rejudge(out[i], voiced[i]), ms) for i in range(len(audios))]

    def _rejudge(self, d: Decoded, speech_s: float | None) -> Decoded:
        """The checks that need the voice detector's view, once the text is known."""
        if d.rejected or speech_s is None:
            return d
        reason = judge(text=d.raw_text, no_speech_prob=d.no_speech_prob, avg_logprob=d.avg_logprob,
                       audio_s=d.audio_s, guards=self.options.guards, speech_s=speech_s)
        if not reason:
            return d
        log.info("whisper result rejected (%s, %.1f s of voice): %d chars", reason, speech_s, len(d.raw_text))
        return Decoded(**{**d.__dict__, "text": "", "rejected": reason})

    def _decode_windowed(self, audios: Sequence[np.ndarray], *, full: bool = False) -> list[Decoded]:
        opt = self.options
        with self._lock:
            mels = [self.features(a, padding=160) for a in audios]
        frames = max(m.shape[1] for m in mels) + int(opt.pad_s * FRAMES_PER_SECOND)
        frames = max(frames, int(opt.min_window_s * FRAMES_PER_SECOND))
        frames = MAX_WINDOW_FRAMES if full else min(MAX_WINDOW_FRAMES, math.ceil(frames / 100) * 100)
        batch = np.zeros((len(mels), mels[0].shape[0], frames), dtype=np.float32)
        for k, m in enumerate(mels):
            n = min(frames, m.shape[1])
            # The rest stays 0.0, as faster-whisper pads its 30 s window (measured: filling it with the
            # level of silence instead raised CER on the real clips from 0.19 to 0.33 at 16 kHz).
            batch[k, :, :n] = m[:, :n]
        encoded = self.model.encode(self._ct2.StorageView.from_array(batch), to_cpu=False)
        max_tokens = min(220, 24 + int(frames / FRAMES_PER_SECOND * opt.guards.max_chars_per_second))
        results = self.model.generate(
            encoded, [self._prompt] * len(mels), beam_size=opt.beam_size, max_length=max_tokens,
            return_scores=True, return_no_speech_prob=True, suppress_blank=True,
            suppress_tokens=list(self._suppress), repetition_penalty=1.0, no_repeat_ngram_size=0)
        decoded = []
        for audio, res in zip(audios, results, strict=True):
            tokens = [t for t in res.sequences_ids[0] if t < self.tokenizer.eot]
            raw = self.simplify(self.tokenizer.decode(tokens).strip())
            # CTranslate2's score is the length-normalised log-probability (length_penalty 1).
            avg_logprob = float(res.scores[0]) * len(tokens) / (len(tokens) + 1) if tokens else -10.0
            decoded.append(self._accept(raw, float(res.no_speech_prob), avg_logprob, len(audio) / WHISPER_RATE))
        return decoded

    def _decode_long(self, audio: np.ndarray) -> Decoded:
        """Past one window: faster-whisper's own segment-wise decoding (with its fallbacks)."""
        with self._lock:
            if self._long is None:
                from faster_whisper import WhisperModel as FasterWhisper

                opt = self.options
                self._long = FasterWhisper(str(opt.model_dir), device=opt.device, compute_type=opt.compute_type,
                                           cpu_threads=opt.cpu_threads)
        segments, _info = self._long.transcribe(audio, language=self.options.language,
                                                beam_size=self.options.beam_size, vad_filter=True,
                                                condition_on_previous_text=False)
        kept = [s for s in segments]
        raw = self.simplify("".join(s.text for s in kept).strip())
        if not kept:
            return self._accept("", 1.0, -10.0, len(audio) / WHISPER_RATE)
        weights = [max(1, len(s.tokens)) for s in kept]
        avg = float(np.average([s.avg_logprob for s in kept], weights=weights))
        nsp = float(min(s.no_speech_prob for s in kept))
        return self._accept(raw, nsp, avg, len(audio) / WHISPER_RATE)

    def _accept(self, raw: str, no_speech_prob: float, avg_logprob: float, audio_s: float) -> Decoded:
        reason = judge(text=raw, no_speech_prob=no_speech_prob, avg_logprob=avg_logprob, audio_s=audio_s,
                       guards=self.options.guards)
        text = "" if reason else normalize_text(raw)
        if reason and raw:
            log.info("whisper result rejected (%s, no_speech %.2f, logprob %.2f): %d chars", reason,
                     no_speech_prob, avg_logprob, len(raw))
        return Decoded(text=text, raw_text=raw, rejected=reason, no_speech_prob=no_speech_prob,
                       avg_logprob=avg_logprob, compression_ratio=compression_ratio(raw), audio_s=audio_s)


def _with_time(d: Decoded, ms: float) -> Decoded:
    return Decoded(**{**d.__dict__, "decode_ms": ms})


def _suppressed_tokens(tokenizer: Any) -> tuple[int, ...]:
    """Whisper's non-speech symbols (♪, brackets …) and the special tokens, as faster-whisper does."""
    ids = set(tokenizer.non_speech_tokens)
    ids.update((tokenizer.transcribe, tokenizer.translate, tokenizer.sot, tokenizer.sot_prev,
                tokenizer.sot_lm, tokenizer.no_speech))
    return tuple(sorted(ids))


def pcm8k_to_float16k(pcm: bytes) -> np.ndarray:
    """8 kHz s16le telephone audio → Whisper's 16 kHz float32 in [-1, 1]."""
    from scipy.signal import resample_poly

    x = np.frombuffer(pcm[: len(pcm) & ~1], dtype="<i2").astype(np.float32) / 32768.0
    if not len(x):
        return x
    return np.asarray(resample_poly(x, 2, 1), dtype=np.float32)
