"""Hashed TF-IDF features: character 1-4-grams, jieba word 1-2-grams, fuzzy pinyin 1-3-grams.

Hashing keeps the saved model free of a multi-million-entry vocabulary; the pinyin block makes
the classifier robust to homophone recognition errors (同音字), which keep the pinyin intact.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import HashingVectorizer

from routing.text import PinyinMapper, WordTokenizer, ngrams

BLOCKS: tuple[str, ...] = ("char", "word", "pinyin")


@dataclass(frozen=True)
class FeatureConfig:
    bits: tuple[int, int, int] = (20, 19, 19)  # log2 buckets per block (char, word, pinyin)
    weights: tuple[float, float, float] = (1.0, 1.0, 1.5)  # block weights after l2 norm

    @property
    def n_features(self) -> int:
        return sum(1 << b for b in self.bits)


@dataclass
class Featurizer:
    config: FeatureConfig
    idf: list[np.ndarray] = field(default_factory=list)  # one float32 vector per block, once fitted
    _pinyin: PinyinMapper = field(default_factory=PinyinMapper, repr=False)
    _words: WordTokenizer = field(default_factory=WordTokenizer, repr=False)
    _vectorizers: list[HashingVectorizer] | None = field(default=None, repr=False)

    def _analyzers(self) -> list[HashingVectorizer]:
        if self._vectorizers is None:
            word: Callable[[str], list[str]] = lambda s: ngrams(self._words.words(s), 2)  # noqa: E731
            pinyin: Callable[[str], list[str]] = lambda s: ngrams(self._pinyin.syllables(s), 3)  # noqa: E731
            common = {"alternate_sign": False, "norm": None, "dtype": np.float32}
            self._vectorizers = [
                HashingVectorizer(analyzer="char", ngram_range=(1, 4), n_features=1 << self.config.bits[0], **common),
                HashingVectorizer(analyzer=word, n_features=1 << self.config.bits[1], **common),
                HashingVectorizer(analyzer=pinyin, n_features=1 << self.config.bits[2], **common),
            ]
        return self._vectorizers

    def _counts(self, texts: Sequence[str]) -> list[sp.csr_matrix]:
        out = []
        for hv in self._analyzers():
            m = sp.csr_matrix(hv.transform(texts))
            m.data = 1.0 + np.log(m.data)  # sublinear tf
            out.append(m)
        return out

    def fit_transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        counts = self._counts(texts)
        n = len(texts)
        self.idf = []
        for m in counts:
            df = np.bincount(m.indices, minlength=m.shape[1])
            self.idf.append((np.log((1.0 + n) / (1.0 + df)) + 1.0).astype(np.float32))
        return self._weight(counts)

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        if not self.idf:
            raise RuntimeError("featurizer is not fitted")
        return self._weight(self._counts(texts))

    def _weight(self, counts: list[sp.csr_matrix]) -> sp.csr_matrix:
        # Column scaling and row normalisation on the raw arrays: sp.diags over a million columns
        # costs milliseconds per call, which a single short request cannot afford.
        blocks = []
        for m, idf, w in zip(counts, self.idf, self.config.weights, strict=True):
            rows = np.repeat(np.arange(m.shape[0]), np.diff(m.indptr))
            data = (m.data * idf[m.indices]).astype(np.float32)
            norms = np.sqrt(np.bincount(rows, weights=data.astype(np.float64) ** 2, minlength=m.shape[0]))
            norms[norms == 0] = 1.0
            data *= (w / norms[rows]).astype(np.float32)
            blocks.append(sp.csr_matrix((data, m.indices, m.indptr), shape=m.shape))
        return sp.csr_matrix(sp.hstack(blocks, format="csr", dtype=np.float32))
