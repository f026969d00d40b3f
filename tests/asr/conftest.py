from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

SHARED_AUDIO = Path(__file__).resolve().parents[3] / "shared" / "audio" / "mandarin-real"


@pytest.fixture(scope="session")
def real_clips() -> Path:
    """The real Mandarin clips, read in place (never copied into the repo)."""
    if not (SHARED_AUDIO / "manifest.csv").is_file():
        pytest.skip(f"real clips not present at {SHARED_AUDIO}")
    return SHARED_AUDIO


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """Synthesise Mandarin pinyin with espeak-ng into an 8 kHz mono 16-bit WAV."""
    out_dir = tmp_path_factory.mktemp("synth")

    def make(pinyin: str) -> Path:
        raw, out = out_dir / f"{abs(hash(pinyin))}-raw.wav", out_dir / f"{abs(hash(pinyin))}.wav"
        subprocess.run(["espeak-ng", "-v", "cmn-latn-pinyin", "-w", str(raw), pinyin], check=True)
        subprocess.run(["sox", "-V1", str(raw), "-r", "8000", "-c", "1", "-b", "16", str(out)], check=True)
        return out

    return make


@pytest.fixture(scope="session")
def vosk_model_dir() -> Path:
    from asr.model import model_files_present
    from foundation.settings import Settings

    model_dir = Settings().vosk_model_dir
    if not model_files_present(model_dir):
        pytest.skip(f"Vosk model not present at {model_dir}")
    return model_dir
