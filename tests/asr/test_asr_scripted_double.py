from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from asr.audio import read_wav_pcm8k
from asr.engine import CallInfo
from hotline.settings import Settings
from tests.doubles.scripted_asr import ScriptedAsrEngine, scripted_engine


@pytest.fixture(scope="module")
def speech(synth: Callable[[str], Path]) -> bytes:
    return read_wav_pcm8k(synth("wo3 jia1 men2 kou3 de5 lu4 deng1 huai4 le5"))


def _engine(tmp_path: Path) -> ScriptedAsrEngine:
    script = tmp_path / "script.json"
    script.write_text(
        json.dumps({"13800138000": ["路灯坏了", "金盘路", "对"], "*": ["我要咨询"]}, ensure_ascii=False),
        encoding="utf-8",
    )
    return scripted_engine(Settings(home=tmp_path, asr_engine_options=str(script)))


def _hear(
    engine: ScriptedAsrEngine,
    pcm: bytes,
    turn: int,
    caller: str = "13800138000",
    grammar: list[str] | None = None,
) -> str:
    rec = engine.recognizer(call=CallInfo("c", caller, turn, "request"), grammar=grammar)
    for i in range(0, len(pcm), 1000):
        rec.accept(pcm[i : i + 1000])
    return rec.result()


def test_speech_gets_the_script_by_caller_and_turn(tmp_path: Path, speech: bytes) -> None:
    engine = _engine(tmp_path)
    assert [_hear(engine, speech, t) for t in (1, 2, 3, 4)] == ["路灯坏了", "金盘路", "对", ""]
    assert _hear(engine, speech, 1, caller="02000000000") == "我要咨询"


def test_silence_or_too_little_speech_gets_nothing(tmp_path: Path, speech: bytes) -> None:
    engine = _engine(tmp_path)
    assert _hear(engine, bytes(8000 * 2 * 3), 1) == ""
    assert _hear(engine, speech[: 2 * 8000 * 6 // 100], 1) == ""  # 0.06 s of audio is not 0.1 s of voice


def test_grammar_turn_only_answers_grammar_phrases(tmp_path: Path, speech: bytes) -> None:
    engine = _engine(tmp_path)
    assert _hear(engine, speech, 3, grammar=["对", "不 对"]) == "对"
    assert _hear(engine, speech, 1, grammar=["对", "不对"]) == ""  # 路灯坏了
    said = ScriptedAsrEngine({"*": ["我要转人工", "不对吧"]})
    assert _hear(said, speech, 1, grammar=["人工", "转人工", "对"]) == "转人工"
    assert _hear(said, speech, 2, grammar=["对", "不对"]) == "不对"


def test_no_default_caller(speech: bytes) -> None:
    engine = ScriptedAsrEngine({"1": ["x"]})
    assert _hear(engine, speech, 1, caller="2") == ""
