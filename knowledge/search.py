"""Ranking FAQ entries for a caller's words: character n-grams and BM25, no dictionary.

Callers' words arrive through speech recognition, so a misheard character must not lose the
whole word: Chinese runs are indexed as character unigrams and bigrams (bigrams carry the
meaning, unigrams only break ties), Latin letters and digits as whole tokens (12345, ETC).
Fields weigh differently: a hit in the title or tags says more than one in the long answer."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

_RUN = re.compile(r"[\u3400-\u9fff]+|[a-z0-9]+")
# Characters too common to be evidence alone (still inside bigrams).
_STOP = frozenset("的了吗呢啊吧呀我你他她它们是在有和就也都要想请问一个这那怎么什么哪里时候可以能会还")
UNIGRAM_WEIGHT = 0.3
FIELD_WEIGHTS = {"title": 3.0, "tags": 3.0, "question": 2.0, "answer": 0.5}
K1, B = 1.2, 0.75
RELATIVE_FLOOR = 0.2


def tokens(text: str) -> list[str]:
    """'社保卡丢了 12333' → ['社', '保', '卡', '丢', '社保', '保卡', '卡丢', '丢了', '12333']."""
    out: list[str] = []
    for run in _RUN.findall(text.lower()):
        if run.isascii():
            out.append(run)
            continue
        out.extend(ch for ch in run if ch not in _STOP)
        out.extend(run[i:i + 2] for i in range(len(run) - 1)
                   if not (run[i] in _STOP and run[i + 1] in _STOP))
    return out


@dataclass(frozen=True)
class Document:
    id: int
    fields: dict[str, str]  # field name (see FIELD_WEIGHTS) → text


@dataclass(frozen=True)
class Hit:
    id: int
    score: float
    matched: tuple[str, ...]  # the query's bigrams / words found, best evidence first


def _weighted_terms(doc: Document) -> Counter[str]:
    tf: Counter[str] = Counter()
    for name, text in doc.fields.items():
        weight = FIELD_WEIGHTS.get(name, 1.0)
        for tok in tokens(text):
            tf[tok] += weight  # type: ignore[assignment]
    return tf


def rank(query: str, docs: Sequence[Document], *, limit: int = 5, min_score: float = 0.0) -> list[Hit]:
    """Best entries first. An entry must share at least one bigram or word with the query: a
    shared single character is not a match."""
    q_terms = set(tokens(query))
    if not q_terms or not docs:
        return []
    tfs = [_weighted_terms(d) for d in docs]
    lengths = [sum(tf.values()) for tf in tfs]
    avg_len = sum(lengths) / len(lengths) or 1.0
    df: Counter[str] = Counter()
    for tf in tfs:
        df.update(t for t in q_terms if t in tf)
    n = len(docs)
    hits: list[Hit] = []
    for doc, tf, length in zip(docs, tfs, lengths, strict=True):
        strong = [t for t in q_terms if t in tf and _strong(t)]
        if not strong:
            continue
        score = 0.0
        for t in q_terms:
            f = tf.get(t, 0.0)
            if not f:
                continue
            idf = math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5))
            weight = 1.0 if _strong(t) else UNIGRAM_WEIGHT
            score += weight * idf * f * (K1 + 1) / (f + K1 * (1 - B + B * length / avg_len))
        if score >= min_score:
            strong.sort(key=lambda t: (-df_rarity(df[t], n), t))
            hits.append(Hit(doc.id, round(score, 3), tuple(strong)))
    hits.sort(key=lambda h: (-h.score, h.id))
    if hits:  # far weaker hits are noise next to a clear answer
        hits = [h for h in hits if h.score >= hits[0].score * RELATIVE_FLOOR]
    return hits[:limit]


def df_rarity(df: int, n: int) -> float:
    return math.log(1 + n / max(df, 1))


def _strong(term: str) -> bool:
    return len(term) >= 2 or term.isascii()


def documents(rows: Iterable[tuple[int, dict[str, str]]]) -> list[Document]:
    return [Document(i, f) for i, f in rows]
