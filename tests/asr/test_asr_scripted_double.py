from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from asr.audio import read_wav_pcm8k
from asr.engine import CallInfo
from foundation.settings import Settings
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
    call: str = "c",
    caller: str = "13800138000",
    grammar: list[str] | None = None,
) -> str:
    rec = engine.recognizer(call=CallInfo(call, caller, 1, "request"), grammar=grammar)
    for i in range(0, len(pcm), 1000):
        rec.accept(pcm[i : i + 1000])
    return rec.result()


def test_speech_gets_the_script_by_caller_in_order(tmp_path: Path, speech: bytes) -> None:
    engine = _engine(tmp_path)
    assert [_hear(engine, speech) for _ in range(4)] == ["路灯坏了", "金盘路", "对", ""]
    assert _hear(engine, speech, call="other", caller="02000000000") == "我要咨询"
    assert _hear(engine, speech, call="again") == "路灯坏了"  # another call starts the script again


def test_silence_or_too_little_speech_gets_nothing_and_uses_up_no_text(tmp_path: Path, speech: bytes) -> None:
    engine = _engine(tmp_path)
    assert _hear(engine, bytes(8000 * 2 * 3)) == ""
    assert _hear(engine, speech[: 2 * 8000 * 6 // 100]) == ""  # 0.06 s of audio is not 0.1 s of voice
    assert _hear(engine, speech) == "路灯坏了"  # the slow start shifted nothing


def test_grammar_turn_only_answers_grammar_phrases(tmp_path: Path, speech: bytes) -> None:
    engine = _engine(tmp_path)
    assert _hear(engine, speech, grammar=["对", "不对"]) == ""  # 路灯坏了
    assert _hear(engine, speech) == "金盘路"
    assert _hear(engine, speech, grammar=["对", "不 对"]) == "对"
    said = ScriptedAsrEngine({"*": ["我要转人工", "不对吧"]})
    assert _hear(said, speech, grammar=["人工", "转人工", "对"]) == "转人工"
    assert _hear(said, speech, grammar=["对", "不对"]) == "不对"


def test_no_default_caller(speech: bytes) -> None:
    engine = ScriptedAsrEngine({"1": ["x"]})
    assert _hear(engine, speech, caller="2") == ""
