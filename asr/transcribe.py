"""`hotline transcribe`: files of any common rate → text, as a call's turn would be heard (8 kHz)."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from asr.audio import AudioError, read_wav_pcm8k
from asr.engine import AsrEngine, CallInfo, load_engine
from asr.errors import RecognitionError, RecognitionUnavailable

if TYPE_CHECKING:
    from foundation.settings import Settings

log = logging.getLogger(__name__)


def transcribe_files(settings: Settings, paths: Sequence[Path],
                     remote: AsrEngine | None = None) -> Iterator[tuple[Path, str, str]]:
    """(path, text, error) per file. Through `remote` (the host's service) while it answers; where it does
    not run, the configured engine is loaded here, once."""
    local: AsrEngine | None = None
    try:
        for n, path in enumerate(paths, 1):
            try:
                pcm = read_wav_pcm8k(path)
            except (AudioError, OSError) as exc:
                yield path, "", str(exc)
                continue
            call = CallInfo(call_id="transcribe", caller="", turn=n, purpose="request")
            text, error = "", ""
            if remote is not None:
                try:
                    yield path, _recognise(remote, pcm, call), ""
                    continue
                except RecognitionUnavailable as exc:
                    log.info("recognition service not answering (%s); loading the engine here", exc)
                    remote = None
                except RecognitionError as exc:
                    yield path, "", f"{exc.kind}: {exc}"
                    continue
            if local is None:
                local = load_engine(settings)
            if not local.available:
                yield path, "", local.status
                continue
            try:
                text = _recognise(local, pcm, call)
            except RecognitionError as exc:
                error = f"{exc.kind}: {exc}"
            yield path, text, error
    finally:
        close = getattr(local, "close", None)
        if close is not None:
            close()


def _recognise(engine: AsrEngine, pcm: bytes, call: CallInfo) -> str:
    recognizer = engine.recognizer(grammar=None, call=call)
    recognizer.accept(pcm)
    return recognizer.result()
