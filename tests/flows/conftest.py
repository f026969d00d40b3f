from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from asr.audio import read_wav_pcm8k
from foundation.settings import Settings
from ivr_flows.ports import CallServices
from prompts.render import PromptStore
from routing.classify import Router
from tests.doubles.scripted_asr import ScriptedAsrEngine
from tests.flows.fakes import NamedPrompts

CALLER = "13800138000"


@pytest.fixture(scope="session")
def speech(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], bytes]:
    """Real synthesised Mandarin (espeak-ng), 8 kHz PCM: what a caller's line would carry."""
    store = PromptStore(tmp_path_factory.mktemp("voice"))

    def make(text: str) -> bytes:
        return read_wav_pcm8k(Path(store.text_path(text) + ".wav"))

    return make


@pytest.fixture(scope="session")
def router() -> Router:
    return Router.load(None)


@pytest.fixture
def make_services(settings: Settings, session_factory: sessionmaker[Session],
                  router: Router) -> Iterator[Callable[..., CallServices]]:
    # One fake step is one recording here: no silent windows listened through again, no fragments held
    # (tests/flows/test_turn_windows.py covers both).
    settings.request_start_wait_s = 0.0
    settings.request_hold_below_s = 0.0
    settings.answer_start_wait_s = 0.0

    def make(script: list[str] | None = None, asr: object | None = None) -> CallServices:
        engine = asr if asr is not None else ScriptedAsrEngine({CALLER: script or []})
        return CallServices(settings=settings, session_factory=session_factory, prompts=NamedPrompts(),
                            asr=engine, router=router)  # type: ignore[arg-type]

    yield make
