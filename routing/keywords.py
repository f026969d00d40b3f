"""Keyword evidence from the catalog: which (department, category) pairs a text talks about."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from routing.catalog import Catalog

_END = ""  # trie key marking the end of a keyword


def keyword_weight(keyword: str) -> float:
    """Longer keywords are more specific: 路灯 1.0, 路灯不亮 2.0, 税 0.5."""
    return min(len(keyword), 4) / 2


@dataclass(frozen=True)
class Evidence:
    by_pair: dict[tuple[str, str], float]  # (department id, category) -> weight
    matched: tuple[str, ...]  # the keywords found, in text order

    def department(self, dept_id: str) -> float:
        return sum(w for (d, _), w in self.by_pair.items() if d == dept_id)

    def by_department(self) -> dict[str, float]:
        out: dict[str, float] = defaultdict(float)
        for (d, _), w in self.by_pair.items():
            out[d] += w
        return dict(out)

    def by_category(self) -> dict[str, float]:
        out: dict[str, float] = defaultdict(float)
        for (_, c), w in self.by_pair.items():
            out[c] += w
        return dict(out)

    @property
    def total(self) -> float:
        return sum(self.by_pair.values())


class KeywordIndex:
    """A character trie over all catalog keywords. Matches do not overlap and longer ones win,
    so '施工噪音' (housing) is not also counted as '噪音' (environment)."""

    def __init__(self, catalog: Catalog) -> None:
        self._trie: dict[str, Any] = {}  # char -> node; _END -> [(department, category)]
        for dept in catalog.departments:
            for category, words in dept.keywords.items():
                for word in words:
                    node = self._trie
                    for ch in word:
                        node = node.setdefault(ch, {})
                    node.setdefault(_END, []).append((dept.id, category))

    def evidence(self, text: str) -> Evidence:
        # Longest keyword at each position, then keep the longest non-overlapping ones:
        # in '用地沟油' the keyword is '地沟油', not '用地'.
        candidates: list[tuple[int, int, list[tuple[str, str]]]] = []
        for i in range(len(text)):
            node: dict[str, Any] = self._trie
            end, owners = 0, None
            for j in range(i, len(text)):
                nxt = node.get(text[j])
                if nxt is None:
                    break
                node = nxt
                if _END in node:
                    end, owners = j + 1, node[_END]
            if owners is not None:
                candidates.append((i, end, owners))
        taken = [False] * len(text)
        chosen = []
        for start, end, owners in sorted(candidates, key=lambda c: (c[0] - c[1], c[0])):
            if not any(taken[start:end]):
                taken[start:end] = [True] * (end - start)
                chosen.append((start, end, owners))
        by_pair: dict[tuple[str, str], float] = defaultdict(float)
        matched: list[str] = []
        for start, end, owners in sorted(chosen, key=lambda c: c[0]):
            word = text[start:end]
            if word in matched:  # repeating a word adds no evidence
                continue
            matched.append(word)
            for pair in owners:
                by_pair[pair] += keyword_weight(word)
        return Evidence(dict(by_pair), tuple(matched))
