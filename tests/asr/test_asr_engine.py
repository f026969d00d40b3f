from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

import pytest

from asr.engine import (
    CallInfo,
    UnavailableEngine,
    VoskEngine,
    VoskRecognizer,
    grammar_phrases,
    load_engine,
    segment,
)
from foundation.settings import Settings
from tests.doubles.scripted_asr import ScriptedAsrEngine

CALL = CallInfo(call_id="c1", caller="13800138000", turn=1, purpose="request")
VOCAB = {"基本", "满意", "不", "不满意", "对", "不对", "人工", "转", "转人工", "路灯", "坏", "了"}


def test_missing_model_gives_unavailable_engine_and_one_clear_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(home=tmp_path, asr_engine="vosk")
    with caplog.at_level(logging.INFO):
        engine = load_engine(settings)
    assert isinstance(engine, UnavailableEngine)
    assert not engine.available
    assert "Vosk model not found" in engine.status
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(lines) == 1
    assert lines[0].startswith(f"ASR unavailable: Vosk model not found at {settings.vosk_model_dir}")
    assert "hotline setup" in lines[0] and "operator transcription" in lines[0]
    rec = engine.recognizer(grammar=None, call=CALL)
    rec.accept(bytes(3200))
    assert rec.result() == ""


def test_corrupt_model_is_unavailable_not_fatal(tmp_path: Path) -> None:
    model = tmp_path / "model"
    for rel in ("am/final.mdl", "conf/model.conf", "graph/HCLr.fst"):
        (model / rel).parent.mkdir(parents=True, exist_ok=True)
        (model / rel).write_bytes(b"not a model")
    engine = load_engine(Settings(home=tmp_path, vosk_model_path=model))
    assert not engine.available
    assert "failed to load" in engine.status


def test_module_callable_engine(tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    script.write_text(json.dumps({"*": ["你好"]}), encoding="utf-8")
    settings = Settings(
        home=tmp_path, asr_engine="tests.doubles.scripted_asr:scripted_engine", asr_engine_options=str(script)
    )
    engine = load_engine(settings)
    assert isinstance(engine, ScriptedAsrEngine)
    assert engine.available and "TEST DOUBLE" in engine.status


@pytest.mark.parametrize("spec", ["kaldi", "module:", ":factory"])
def test_bad_engine_spec(tmp_path: Path, spec: str) -> None:
    with pytest.raises(ValueError):
        load_engine(Settings(home=tmp_path, asr_engine=spec))


class FakeKaldi:
    """Stands in for vosk.KaldiRecognizer: an endpoint after every second chunk."""

    def __init__(self, segments: list[str]) -> None:
        self.segments, self.fed = segments, 0

    def AcceptWaveform(self, pcm: bytes) -> bool:
        self.fed += 1
        return self.fed % 2 == 0 and len(self.segments) > 1

    def Result(self) -> str:
        return json.dumps({"text": self.segments.pop(0)})

    def FinalResult(self) -> str:
        return json.dumps({"text": self.segments.pop(0) if self.segments else ""})


def test_vosk_recognizer_keeps_every_endpointed_segment() -> None:
    kaldi = FakeKaldi(["我 家 门口 的 路灯", "坏 了 [unk]", "电话 幺 三 八 零 零 一 三 八 零 零 零"])
    rec = VoskRecognizer(kaldi)
    for _ in range(4):
        rec.accept(b"\0\0" * 800)
    assert rec.result() == "我家门口的路灯坏了电话13800138000"
    assert rec.result() == "我家门口的路灯坏了电话13800138000"  # idempotent
    with pytest.raises(RuntimeError):
        rec.accept(b"\0\0")


def test_segment_into_vocabulary_words() -> None:
    known = VOCAB.__contains__
    assert segment("基本满意", known) == ["基本", "满意"]
    assert segment("不满意", known) == ["不满意"]
    assert segment("转人工", known) == ["转人工"]
    assert segment("路灯坏了", known) == ["路灯", "坏", "了"]
    assert segment("火星", known) is None


def test_grammar_phrases_drop_unknown_words(caplog: pytest.LogCaptureFixture) -> None:
    phrases = grammar_phrases(["基本满意", "不 满意", "对", "火星人"], VOCAB.__contains__)
    assert phrases == ["基本 满意", "不 满意", "对"]
    assert "火星人" in caplog.text


class FakeVosk:
    """Stands in for the vosk module, to check what VoskEngine asks of it without a model."""

    def __init__(self) -> None:
        self.recognizers: list[Any] = []
        fake = self

        class Model:
            def __init__(self, path: str) -> None:
                self.path = path

            def vosk_model_find_word(self, word: str) -> int:
                return 1 if word in VOCAB else -1

        class KaldiRecognizer:
            def __init__(self, model: Model, rate: int, grammar: str | None = None) -> None:
                self.rate, self.grammar, self.fed = rate, grammar, b""
                fake.recognizers.append(self)

            def AcceptWaveform(self, pcm: bytes) -> bool:
                self.fed += pcm
                return False

            def FinalResult(self) -> str:
                return json.dumps({"text": "基本 满意"})

        self.Model, self.KaldiRecognizer = Model, KaldiRecognizer

    def SetLogLevel(self, level: int) -> None:
        self.log_level = level


def _model_dir(tmp_path: Path, mfcc_conf: str) -> Path:
    for rel in ("am/final.mdl", "conf/model.conf", "graph/HCLr.fst"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("")
    (tmp_path / "conf" / "mfcc.conf").write_text(mfcc_conf)
    return tmp_path


@pytest.mark.parametrize(
    ("conf", "rate"),
    [
        ("--use-energy=false\n--sample-frequency=16000\n", 16000),
        ("--sample-frequency=16000\n--allow-upsample=true\n", 8000),
        ("--sample-frequency=8000\n", 8000),
        ("--use-energy=false\n", 16000),
    ],
)
def test_decode_rate_follows_the_model_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, conf: str, rate: int
) -> None:
    fake = FakeVosk()
    monkeypatch.setitem(sys.modules, "vosk", fake)
    engine = load_engine(Settings(home=tmp_path, vosk_model_path=_model_dir(tmp_path / "m", conf)))
    assert isinstance(engine, VoskEngine) and engine.available and fake.log_level == -1
    rec = engine.recognizer(grammar=None, call=CALL)
    rec.accept(bytes(3200))
    assert fake.recognizers[-1].rate == rate
    assert len(fake.recognizers[-1].fed) == 3200 * rate // 8000


def test_vosk_grammar_is_json_of_segmented_phrases(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeVosk()
    monkeypatch.setitem(sys.modules, "vosk", fake)
    engine = VoskEngine(_model_dir(tmp_path, "--sample-frequency=16000\n"))
    rec = engine.recognizer(grammar=["基本满意", "不满意", "对"], call=CALL)
    assert json.loads(fake.recognizers[-1].grammar or "") == ["基本 满意", "不满意", "对", "[unk]"]
    assert rec.result() == "基本满意"
