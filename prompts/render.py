"""Prompt audio for Asterisk: recorded files when present, else espeak-ng Mandarin rendered and cached.

Pipeline: text → numbers spelled in Chinese → pinyin with tone numbers (pypinyin TONE3) → espeak-ng
voice cmn-latn-pinyin → sox: 8 kHz mono 16-bit WAV, level-normalised. Files are written under a
temporary name and renamed, so forked call processes rendering the same text never see half a file.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import tempfile
import time
from pathlib import Path
from types import MappingProxyType

import yaml
from pypinyin import Style, lazy_pinyin

from prompts.numbers import digits_text, read_numbers

__all__ = ("DEFAULT_CATALOG", "PromptStore", "digits_text", "load_catalog", "to_pinyin")

DEFAULT_CATALOG = Path(__file__).with_name("catalog.yaml")
VOICE = "cmn-latn-pinyin"
# espeak counts each pinyin syllable as a word: 210 is ~3.5 syllables/s, a calm Mandarin pace
# (natural speech runs 4-5/s; 150 made the greeting last 10 s).
SPEED_WPM = 210
SYLLABLE_RE = re.compile(r"^[a-zü]+[1-5]$")
# Punctuation becomes an espeak pause; anything else that is not pinyin is dropped.
PAUSES = MappingProxyType(str.maketrans(dict.fromkeys("，、；：;:", ",") | {"。": ".", "！": "!", "？": "?"}))
KEPT = re.compile(r"[a-zA-Z]+|[,.!?]")


def to_pinyin(text: str, yao: bool = False) -> str:
    """'您好，12345' → 'nin2 hao3 , yi1 er4 san1 si4 wu3' (what espeak's pinyin voice reads)."""
    words: list[str] = []
    for piece, is_digits in read_numbers(text, yao):
        syllables = lazy_pinyin(
            piece, style=Style.TONE3, neutral_tone_with_five=True, tone_sandhi=not is_digits
        )
        for s in syllables:
            if SYLLABLE_RE.match(s):
                words.append(s)
            else:  # a run of non-Hanzi characters: keep pauses and Latin letters only
                words.extend(KEPT.findall(s.translate(PAUSES)))
    return " ".join(words)


def load_catalog(path: Path) -> dict[str, str]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise ValueError(f"{path}: expected a mapping of prompt key to text")
    return {str(k): v.strip() for k, v in data.items()}


class PromptStore:
    def __init__(self, prompts_dir: Path, catalog_path: Path | None = None, *, yao: bool = False) -> None:
        self.prompts_dir = Path(prompts_dir)
        self.custom_dir = self.prompts_dir / "custom"
        self.cache_dir = self.prompts_dir / "cache"
        self.catalog = load_catalog(catalog_path or DEFAULT_CATALOG)
        self.yao = yao  # read 1 as 幺 in long digit strings (ticket numbers)

    def path(self, key: str) -> str:
        """Path without extension for STREAM FILE: a recorded custom/<key>.wav wins over the rendering."""
        custom = self.custom_dir / f"{key}.wav"
        if custom.is_file():
            return str(custom.with_suffix(""))
        try:
            text = self.catalog[key]
        except KeyError:
            raise KeyError(f"no prompt {key!r} in the catalog") from None
        return self.text_path(text)

    def text(self, key: str) -> str:
        try:
            return self.catalog[key]
        except KeyError:
            raise KeyError(f"no prompt {key!r} in the catalog") from None

    def render_all(self) -> dict[str, str]:
        """Render every catalog prompt (cached ones are skipped); returns key → path as path() does."""
        for text in self.catalog.values():
            self.text_path(text)
        return {key: self.path(key) for key in self.catalog}

    def text_path(self, text: str) -> str:
        """Render arbitrary text once (cached by its SHA-1) and return its path without extension."""
        text = text.strip()
        if not text:
            raise ValueError("cannot render empty text")
        key = f"{VOICE}|{SPEED_WPM}|{self.yao}|{text}"  # a change of voice re-renders the cache
        final = self.cache_dir / f"{hashlib.sha1(key.encode('utf-8')).hexdigest()}.wav"
        try:
            os.utime(final)  # mark as used, so prune() keeps it
        except FileNotFoundError:
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            self._render(text, final)
        return str(final.with_suffix(""))

    def prune(self, unused_for_s: float = 30 * 86400) -> int:
        """Delete per-call renderings (read-backs) unused for a while; catalog prompts stay."""
        keep = {Path(self.text_path(t)).name + ".wav" for t in self.catalog.values()}
        cutoff, removed = time.time() - unused_for_s, 0
        for wav in self.cache_dir.glob("*.wav"):
            if wav.name not in keep and wav.stat().st_mtime < cutoff:
                wav.unlink(missing_ok=True)
                removed += 1
        return removed

    def _render(self, text: str, final: Path) -> None:
        pinyin = to_pinyin(text, self.yao).lstrip(",.!? ")
        if not pinyin:
            raise ValueError(f"nothing speakable in {text!r}")
        fd_raw, raw = tempfile.mkstemp(dir=self.cache_dir, prefix=".espeak-", suffix=".wav")
        fd_out, out = tempfile.mkstemp(dir=self.cache_dir, prefix=".render-", suffix=".wav")
        os.close(fd_raw)
        os.close(fd_out)
        try:
            subprocess.run(
                ["espeak-ng", "-v", VOICE, "-s", str(SPEED_WPM), "-w", raw, pinyin],
                check=True,
                capture_output=True,
            )
            to_8k = ["-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer"]
            subprocess.run(
                ["sox", "-V1", raw, *to_8k, out, "gain", "-n", "-3", "pad", "0.05", "0.1"],
                check=True,
                capture_output=True,
            )
            os.chmod(out, 0o644)  # mkstemp makes 0600; Asterisk may run as another user
            os.replace(out, final)  # atomic: concurrent renderers each install a complete file
        finally:
            for tmp in (raw, out):
                Path(tmp).unlink(missing_ok=True)
