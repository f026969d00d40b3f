from __future__ import annotations

import multiprocessing
import os
import time
import wave
from pathlib import Path

import pytest

from asr.audio import read_wav_pcm8k, speech_seconds, write_wav
from prompts.render import DEFAULT_CATALOG, PromptStore, load_catalog

READ_BACK = "您反映的是小区路灯坏了，地点是龙华区金盘路，对吗？"


def _format(path: Path) -> tuple[int, int, int]:
    with wave.open(str(path)) as w:
        return w.getframerate(), w.getnchannels(), w.getsampwidth()


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> tuple[PromptStore, dict[str, str]]:
    store = PromptStore(tmp_path_factory.mktemp("prompts"))
    return store, store.render_all()


def test_catalog_renders_to_8k_mono_speech(rendered: tuple[PromptStore, dict[str, str]]) -> None:
    store, paths = rendered
    assert set(paths) == set(load_catalog(DEFAULT_CATALOG)) and "greeting" in paths
    for key, base in paths.items():
        assert not base.endswith(".wav")  # STREAM FILE takes the name without extension
        wav = Path(base + ".wav")
        assert wav.parent == store.cache_dir
        assert _format(wav) == (8000, 1, 2), key
        assert wav.stat().st_mode & 0o777 == 0o644  # readable by an Asterisk running as another user
        # A single digit is one syllable (0.2-0.3 s of voice), the acknowledgement (好的) two; every sentence
        # holds more than 0.5 s.
        short = key.startswith("digit_") or key == "ack"
        assert speech_seconds(read_wav_pcm8k(wav)) > (0.1 if short else 0.5), key
    assert not [p for p in store.cache_dir.iterdir() if p.name.startswith(".")]  # no temp files left


def test_render_all_skips_cached(rendered: tuple[PromptStore, dict[str, str]]) -> None:
    store, paths = rendered
    inodes = {k: Path(p + ".wav").stat().st_ino for k, p in paths.items()}
    t0 = time.perf_counter()
    assert store.render_all() == paths
    assert time.perf_counter() - t0 < 0.1
    assert inodes == {k: Path(p + ".wav").stat().st_ino for k, p in paths.items()}


def test_custom_recording_wins(tmp_path: Path) -> None:
    store = PromptStore(tmp_path)
    rendered = store.path("goodbye")
    store.custom_dir.mkdir(parents=True)
    write_wav(store.custom_dir / "goodbye.wav", bytes(16000))
    assert store.path("goodbye") == str(tmp_path / "custom" / "goodbye")
    assert store.path("greeting") != rendered and store.path("greeting").startswith(str(store.cache_dir))
    with pytest.raises(KeyError):
        store.path("no_such_prompt")


def test_read_back_on_demand_is_fast_and_cached(tmp_path: Path) -> None:
    store = PromptStore(tmp_path)
    t0 = time.perf_counter()
    base = store.text_path(READ_BACK)
    first_ms = (time.perf_counter() - t0) * 1000
    t0 = time.perf_counter()
    assert store.text_path(READ_BACK) == base
    cached_ms = (time.perf_counter() - t0) * 1000
    print(f"read-back render {first_ms:.0f} ms, cached {cached_ms:.2f} ms")
    assert first_ms < 500 and cached_ms < 5
    pcm = read_wav_pcm8k(base + ".wav")
    assert speech_seconds(pcm) > 3.0
    assert store.text_path(READ_BACK + " ") == base  # surrounding space is not a new text
    with pytest.raises(ValueError):
        store.text_path("  ")


def _render_in_child(prompts_dir: Path, text: str, out: multiprocessing.Queue[str]) -> None:
    out.put(PromptStore(prompts_dir).text_path(text))


def test_forked_processes_render_the_same_text_at_once(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    out: multiprocessing.Queue[str] = ctx.Queue()
    text = "您的工单号是20261122001，请记好。"
    children = [ctx.Process(target=_render_in_child, args=(tmp_path, text, out)) for _ in range(8)]
    for child in children:
        child.start()
    paths = {out.get(timeout=30) for _ in children}
    for child in children:
        child.join(10)
        assert child.exitcode == 0
    assert len(paths) == 1
    wav = Path(paths.pop() + ".wav")
    assert _format(wav) == (8000, 1, 2)
    assert speech_seconds(read_wav_pcm8k(wav)) > 2.0
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [wav.name]


def test_prune_removes_old_read_backs_only(tmp_path: Path) -> None:
    store = PromptStore(tmp_path)
    old = Path(store.text_path("您反映的是路灯坏了，对吗？") + ".wav")
    fresh = Path(store.text_path("您反映的是井盖丢了，对吗？") + ".wav")
    greeting = Path(store.path("greeting") + ".wav")
    month_ago = time.time() - 40 * 86400
    for wav in (old, greeting):
        os.utime(wav, (month_ago, month_ago))
    assert store.prune() == 1
    assert not old.exists() and fresh.exists() and greeting.exists()
    os.utime(fresh, (month_ago, month_ago))
    store.text_path("您反映的是井盖丢了，对吗？")  # used again: kept
    assert store.prune() == 0 and fresh.exists()
