"""A real stack for end-to-end tests: Asterisk on the project's asterisk-conf/ rendered into a
temporary directory, the FastAGI server and the API as separate processes, on free ports.

Recognition is the scripted TEST DOUBLE unless the Vosk model is present; the double answers only
for audio in which voice activity shows that real speech came through Asterisk."""

from __future__ import annotations

import json
import os
import shutil
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from foundation.settings import Settings
from hotline.stack import Stack
from prompts.render import PromptStore
from tests.conftest import REPO

pytestmark = pytest.mark.asterisk


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# caller number → what the scripted recogniser "hears" on each listening turn of that caller's call
SCRIPTS: dict[str, list[str]] = {
    "13800000001": ["龙华区金盘路的路灯坏了好几天了晚上很黑", "对"],
    "13800000002": ["小区门口垃圾堆了好几天没人清理", "我要转人工"],
    "13800000003": ["我们小区已经停水两天了"],
    "13800000004": ["公司拖欠我三个月工资不发", "美兰区白龙街道", "对"],
    "13800000005": ["我家厨房着火了快来人"],
}
for i in range(20):
    SCRIPTS[f"1390000{i:04d}"] = [f"龙华区金盘路{i + 1}号门口的路灯坏了", "对"]


@pytest.fixture(scope="session")
def voice(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """The citizen's voice: offline TTS of a sentence, as a WAV file."""
    store = PromptStore(tmp_path_factory.mktemp("citizen-voice"))
    return lambda text: Path(store.text_path(text) + ".wav")


def _run_stack(home: Path, **overrides: object) -> Iterator[Stack]:
    """A stack on free ports with simulated parties; `overrides` replace any setting (ASR engine,
    queue timeout, operator count ...)."""
    if shutil.which("asterisk") is None:
        pytest.fail("asterisk is not installed: run `make setup` (scripts/install-system.sh)")
    old_pythonpath = os.environ.get("PYTHONPATH")
    # The AGI process imports the double from tests/.
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (old_pythonpath, str(REPO)) if p)
    values: dict[str, object] = {"home": home, "api_port": free_port(), "agi_port": free_port(),
                                 "ami_port": free_port(), "sip_port": free_port(), "simulated_parties": True,
                                 "queue_timeout_s": 20, **overrides}
    settings = Settings(**values)  # type: ignore[arg-type]
    st = Stack(settings)
    st.start()
    try:
        yield st
    finally:
        st.stop()
        if old_pythonpath is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = old_pythonpath


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    home = tmp_path_factory.mktemp("stack-home")
    script = home / "asr-script.json"
    script.write_text(json.dumps(SCRIPTS, ensure_ascii=False), encoding="utf-8")
    yield from _run_stack(home, asr_engine="tests.doubles.scripted_asr:scripted_engine",
                          asr_engine_options=str(script))


@pytest.fixture(scope="session")
def vosk_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A stack recognising with the real Vosk model, where the model is installed."""
    model = Settings().vosk_model_dir
    if not model.exists():
        pytest.skip(f"Vosk model not present at {model} (this workplace cannot download it; "
                    "`hotline setup` installs it where the network allows)")
    yield from _run_stack(tmp_path_factory.mktemp("vosk-home"), asr_engine="vosk", vosk_model_path=model)
