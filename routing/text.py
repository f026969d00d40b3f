"""Text helpers shared by the router parts: normalisation, tokenisation, fuzzy pinyin."""

from __future__ import annotations

import logging
import re

import jieba
from pypinyin import lazy_pinyin

HAN_RE = re.compile(r"[\u4e00-\u9fff]")
# Anonymised place codes of the evaluation data ('A7县', 'L市', 'B2区', '西地省') carry no topic:
# drop them so the model cannot learn that a district "means" a category.
_PLACE_CODE_RE = re.compile(r"[A-Za-z]\d{0,2}(?:市|区|县|省|镇|乡)|西地省")
_DIGITS_RE = re.compile(r"\d+")
_SPACE_RE = re.compile(r"\s+")

# Confusions typical of southern accents and of recognisers: retroflex/flat initials and
# front/back nasal finals. Mapping both to one form makes pinyin features robust to them.
_FUZZY = (("zh", "z"), ("ch", "c"), ("sh", "s"), ("ng", "n"))


def normalize(text: str) -> str:
    """Model-side normalisation: drop place codes and whitespace, fold digits, lowercase."""
    text = _PLACE_CODE_RE.sub("", text)
    text = _DIGITS_RE.sub("0", text)
    return _SPACE_RE.sub("", text).lower()


class PinyinMapper:
    """Character -> fuzzy toneless pinyin, cached per instance (pypinyin is slow per call)."""

    def __init__(self) -> None:
        self._cache: dict[str, str] = {}

    def syllable(self, char: str) -> str:
        p = self._cache.get(char)
        if p is None:
            p = lazy_pinyin(char)[0]
            for a, b in _FUZZY:
                p = p.replace(a, b)
            self._cache[char] = p
        return p

    def syllables(self, text: str) -> list[str]:
        return [self.syllable(c) for c in text if HAN_RE.match(c)]


class WordTokenizer:
    """jieba word segmentation with a private tokenizer built on first use."""

    def __init__(self) -> None:
        self._tok: jieba.Tokenizer | None = None

    def words(self, text: str) -> list[str]:
        if self._tok is None:
            # jieba logs its dictionary loading at DEBUG to stderr; keep it quiet.
            logging.getLogger("jieba").setLevel(logging.WARNING)
            jieba.setLogLevel(logging.WARNING)
            self._tok = jieba.Tokenizer()
        return [w for w in self._tok.lcut(text) if w.strip()]


def ngrams(tokens: list[str], n_max: int) -> list[str]:
    out = list(tokens)
    for n in range(2, n_max + 1):
        out.extend("_".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1))
    return out
