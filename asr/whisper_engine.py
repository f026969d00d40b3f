"""Whisper behind the AsrEngine protocol: one model, decodes through a bounded batch queue."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import TimeoutError as FutureTimeout

from asr.audio import speech_seconds
from asr.batcher import Batcher
from asr.engine import CallInfo, Recognizer
from asr.errors import RecognitionBusy
from asr.whisper import Decoded, WhisperModel, WhisperOptions, pcm8k_to_float16k

log = logging.getLogger(__name__)


class WhisperEngine:
    available = True

    def __init__(self, options: WhisperOptions, *, max_batch: int = 4, max_wait_s: float = 6.0,
                 result_timeout_s: float = 20.0) -> None:
        self.model = WhisperModel(options)
        self.options = options
        self.result_timeout_s = result_timeout_s
        self.batcher: Batcher[tuple[bytes, float], Decoded] = Batcher(self._decode_pcm, workers=options.workers,
                                                         max_batch=max_batch, max_wait_s=max_wait_s,
                                                         name="whisper")
        self.status = (f"ASR ready: Whisper {self.model.name} at {options.model_dir} ({options.compute_type}, "
                       f"{options.device}, {options.workers} worker(s), batches of {max_batch})")

    @property
    def model_name(self) -> str:
        return f"whisper:{self.model.name}"

    def _decode_pcm(self, items: Sequence[tuple[bytes, float]]) -> list[Decoded]:
        return self.model.decode([pcm8k_to_float16k(pcm) for pcm, _ in items], [voiced for _, voiced in items])

    def recognizer(self, *, grammar: Sequence[str] | None, call: CallInfo) -> Recognizer:
        return WhisperRecognizer(self)

    def transcribe(self, pcm: bytes) -> Decoded:
        """One 8 kHz utterance, through the queue (the voice gate first: silence is never decoded)."""
        voiced = speech_seconds(pcm)
        if voiced < self.options.guards.min_speech_s:
            return Decoded(text="", rejected="silence", audio_s=len(pcm) / 16000)
        future = self.batcher.submit((pcm, voiced))
        try:
            return future.result(self.result_timeout_s)
        except FutureTimeout:
            raise RecognitionBusy(f"no text within {self.result_timeout_s:.0f} s") from None

    def close(self) -> None:
        self.batcher.close()


class WhisperRecognizer:
    """Collects the turn's audio; decodes it once the recording is closed (Whisper is not streaming)."""

    def __init__(self, engine: WhisperEngine) -> None:
        self._engine = engine
        self._pcm: list[bytes] = []
        self.decoded: Decoded | None = None

    def accept(self, pcm: bytes) -> None:
        if self.decoded is not None:
            raise RuntimeError("recognizer already finished")
        self._pcm.append(pcm)

    def result(self) -> str:
        if self.decoded is None:
            self.decoded = self._engine.transcribe(b"".join(self._pcm))
        return self.decoded.text
