"""Hot issues (热点问题): recent requests grouped by topic and place, ranked by a 热度 index.

Grouping. Each text becomes a TF-IDF vector of jieba words (sublinear tf, words of one character and
digits dropped). Texts are taken oldest first; a text joins the existing group whose members it is on
average most similar to (cosine, average link), if that similarity plus a place bonus reaches
`threshold`; otherwise it starts a group. A second pass merges groups whose centroids are close
(cosine ≥ `merge_threshold`, same district or none): one issue told in different words.
Place: the address span routing.place.extract_place finds; two texts in different districts (区/县)
never share a group, and texts naming the same place
(character-bigram Jaccard of the spans ≥ 0.5) get `place_bonus`. At most `max_docs` (newest) texts are
grouped: the similarity matrix is dense (max_docs² float32, 100 MB at 5,000).

热度 index of a group over the window [now − window, now]:

    heat = [ln(1 + V) · (0.5 + R) + 0.5 · ln(G) + 0.5 · ln(1 + S)] · (0.5 + 0.5 · P)

- V volume: number of texts in the group;
- R recency in [0, 1]: mean of 2^(−age / (window/4)) over the texts (a text of now counts 1, one a
  quarter-window old 0.5);
- G growth: (texts in the second half of the window + 1) / (texts in the first half + 1);
- S support, where the source has it: Σ(点赞 − 反对) over the texts, floored at 0 (votes on a message
  board; 0 for phone tickets);
- P place consistency in [0, 1]: share of the texts naming the group's most common place (bigram
  Jaccard ≥ 0.5). A hot issue is a problem *at a place*; a group of look-alike texts about nowhere in
  particular ("加快城市建设") weighs half.
Volume dominates (log-scaled so one very large group does not flatten the rest), a fresh or growing
issue rises, and public support breaks ties. Groups smaller than `min_size` are not hot issues.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from scipy.sparse import csr_matrix
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize

from routing.place import extract_place
from routing.text import WordTokenizer

_DISTRICT_RE = re.compile(r"[A-Za-z]\d{0,2}(?:区|县)|[\u4e00-\u9fff]{2,3}?(?:新区|区|县)")
# Words ending in 区/县 that are not a district.
_NOT_DISTRICT = frozenset(
    "小区 社区 景区 园区 城区 市区 郊区 辖区 片区 校区 山区 灾区 误区 专区 街区 老区 矿区 本区 全区 各区 该区 我区 "
    "住宅区 生活区 商业区 开发区 工业区 居民区 风景区 保护区 示范区 试验区 服务区 停车区 安置区 拆迁区 "
    "老城区 新城区 主城区 本县 全县 各县 该县 我县".split()
)
_STOP = frozenset(
    "我们 你们 他们 这个 那个 一个 没有 什么 怎么 如何 为什么 可以 是否 已经 还是 但是 因为 所以 希望 请问 "
    "问题 情况 反映 相关 部门 领导 有关 进行 现在 目前 我们 自己 这些 那些 不是 就是 一直 非常 严重 要求 "
    "处理 解决 市民 群众 居民 业主 您好 你好 谢谢 尊敬 咨询 投诉 举报 建议 关于 能否 到底 为何 一下 如果 "
    "这样 这种 这里 还有 以及 或者 而且 并且 然后 由于 对于 其中 以后 之后 之前 以来 今年 去年 每天 每年".split()
)
_TOKEN_OK = re.compile(r"^[\u4e00-\u9fffA-Za-z]{2,}$")


def district_of(text: str) -> str:
    """The first district (区/县) named in `text` ('龙华区', 'A3区'), or ''."""
    for m in _DISTRICT_RE.finditer(text):
        name = m.group(0)
        if name in _NOT_DISTRICT or any(name.endswith(w) for w in _NOT_DISTRICT):
            continue
        return name
    return ""


def _bigrams(text: str) -> set[str]:
    return {text[i:i + 2] for i in range(len(text) - 1)}


def _same_place(a: str, b: str) -> bool:
    ga, gb = _bigrams(a), _bigrams(b)
    return bool(ga and gb) and len(ga & gb) / len(ga | gb) >= 0.5


def _place_consistency(places: list[str], modal: str) -> float:
    """Share of texts naming the group's most common place (or one much like it)."""
    return sum(1 for p in places if p and _same_place(p, modal)) / len(places) if modal else 0.0


@dataclass(frozen=True)
class Doc:
    id: str
    text: str
    at: datetime
    title: str = ""  # what a report shows; the text's start if empty
    place: str = ""  # known place; extracted from the text if empty
    support: int = 0  # 点赞
    against: int = 0  # 反对

    @property
    def display(self) -> str:
        return self.title or self.text[:40]


@dataclass
class HotIssue:
    rank: int
    heat: float
    terms: list[str]
    place: str
    district: str
    volume: int
    growth: float
    recency: float
    support: int
    first_at: datetime
    last_at: datetime
    members: list[str]
    examples: list[Doc] = field(default_factory=list)

    @property
    def label(self) -> str:
        where = self.place or self.district
        return f"{where} · {'、'.join(self.terms)}" if where else "、".join(self.terms)

    def as_json(self) -> dict[str, Any]:
        return {"rank": self.rank, "heat": round(self.heat, 3), "label": self.label, "terms": self.terms,
                "place": self.place, "district": self.district, "volume": self.volume,
                "growth": round(self.growth, 3), "recency": round(self.recency, 3), "support": self.support,
                "first_at": self.first_at.isoformat(), "last_at": self.last_at.isoformat(),
                "examples": [{"id": d.id, "title": d.display, "at": d.at.isoformat(), "place": d.place,
                              "support": d.support} for d in self.examples]}


@dataclass(frozen=True)
class Grouping:
    """The result of grouping: one label per doc (index into `docs`), and the TF-IDF matrix."""

    docs: list[Doc]
    labels: np.ndarray
    similarity: np.ndarray  # cosine, float32, docs × docs
    places: list[str]
    districts: list[str]
    vectorizer: TfidfVectorizer
    matrix: Any  # sparse TF-IDF rows


class HotIssueFinder:
    def __init__(self, *, threshold: float = 0.3, place_bonus: float = 0.1, merge_threshold: float = 0.5,
                 min_size: int = 2,
                 max_docs: int = 5000, tokenizer: WordTokenizer | None = None) -> None:
        self.threshold = threshold
        self.place_bonus = place_bonus
        self.merge_threshold = merge_threshold
        self.min_size = min_size
        self.max_docs = max_docs
        self._tok = tokenizer or WordTokenizer()

    def tokens(self, text: str) -> list[str]:
        return [w for w in self._tok.words(text) if _TOKEN_OK.match(w) and w not in _STOP]

    def group(self, docs: Sequence[Doc]) -> Grouping:
        ordered = sorted(docs, key=lambda d: (d.at, d.id))[-self.max_docs:]
        places = [d.place or extract_place(d.text) or "" for d in ordered]
        districts = [district_of(p) or district_of(d.text) for p, d in zip(places, ordered, strict=True)]
        vec = TfidfVectorizer(tokenizer=self.tokens, lowercase=False, token_pattern=None, sublinear_tf=True,
                              min_df=1, max_df=0.5 if len(ordered) >= 20 else 1.0)
        if not ordered:
            return Grouping([], np.zeros(0, dtype=np.int64), np.zeros((0, 0), np.float32), [], [], vec, None)
        try:
            x = vec.fit_transform([d.text for d in ordered])
        except ValueError:  # no usable words at all
            x = None
        n = len(ordered)
        sim = (x @ x.T).toarray().astype(np.float32) if x is not None else np.zeros((n, n), np.float32)
        labels = np.full(n, -1, dtype=np.int64)
        sizes: list[int] = []
        for i in range(n):
            if i and sizes:
                sums = np.bincount(labels[:i], weights=sim[i, :i], minlength=len(sizes))
                scores = sums / np.asarray(sizes, dtype=np.float64)
                # Different districts never share a group; the same named place earns a bonus.
                if districts[i]:
                    for g in np.flatnonzero(scores >= self.threshold - self.place_bonus):
                        first = int(np.flatnonzero(labels[:i] == g)[0])
                        if districts[first] and districts[first] != districts[i]:
                            scores[g] = -1.0
                        elif _same_place(places[i], places[first]):
                            scores[g] += self.place_bonus
                best = int(np.argmax(scores))
                if scores[best] >= self.threshold:
                    labels[i] = best
                    sizes[best] += 1
                    continue
            labels[i] = len(sizes)
            sizes.append(1)
        if x is not None:
            labels = self._merge(labels, x, districts)
        return Grouping(list(ordered), labels, sim, places, districts, vec, x)

    def _merge(self, labels: np.ndarray, x: Any, districts: list[str]) -> np.ndarray:
        """Second pass: groups whose centroids are close (cosine ≥ merge_threshold) and whose districts
        agree are one issue told in different words (one pass texts arrive in cannot see that)."""
        count = int(labels.max()) + 1
        onehot = csr_matrix((np.ones(len(labels)), (labels, np.arange(len(labels)))), shape=(count, len(labels)))
        centroids = normalize(onehot @ x)
        close = (centroids @ centroids.T).tocoo()
        parent = list(range(count))

        def root(g: int) -> int:
            while parent[g] != g:
                parent[g] = parent[parent[g]]
                g = parent[g]
            return g

        district: dict[int, str] = {}
        for i, g in enumerate(labels):
            if districts[i]:
                district.setdefault(int(g), districts[i])
        keep = (close.data >= self.merge_threshold) & (close.row < close.col)
        pairs = zip(close.row[keep], close.col[keep], close.data[keep], strict=True)
        for a, b, _v in sorted(pairs, key=lambda t: -t[2]):
            ra, rb = root(int(a)), root(int(b))
            da, db = district.get(ra), district.get(rb)
            if ra == rb or (da and db and da != db):
                continue
            parent[rb] = ra
            if db and not da:
                district[ra] = db
        roots = np.array([root(int(g)) for g in labels])
        return np.unique(roots, return_inverse=True)[1].astype(np.int64)

    def rank(self, grouping: Grouping, *, now: datetime, window: timedelta, top: int = 10,
             examples: int = 3) -> list[HotIssue]:
        docs, labels = grouping.docs, grouping.labels
        if not docs:
            return []
        terms_of = grouping.vectorizer.get_feature_names_out() if grouping.matrix is not None else []
        half_life = window.total_seconds() / 4 or 1.0
        middle = now - window / 2
        issues = []
        for g in range(int(labels.max()) + 1):
            idx = np.flatnonzero(labels == g)
            if len(idx) < self.min_size:
                continue
            members = [docs[i] for i in idx]
            ages = [max(0.0, (now - d.at).total_seconds()) for d in members]
            recency = sum(2 ** (-a / half_life) for a in ages) / len(ages)
            late = sum(1 for d in members if d.at >= middle)
            growth = (late + 1) / (len(members) - late + 1)
            support = max(0, sum(d.support - d.against for d in members))
            places = Counter(p for i in idx if (p := grouping.places[i]))
            districts = Counter(d for i in idx if (d := grouping.districts[i]))
            where = _place_consistency([grouping.places[i] for i in idx], places.most_common(1)[0][0] if places else "")
            heat = ((math.log1p(len(members)) * (0.5 + recency) + 0.5 * math.log(growth) + 0.5 * math.log1p(support))
                    * (0.5 + 0.5 * where))
            place_words = {w for p in places for w in self.tokens(p)}
            terms: list[str] = []
            if grouping.matrix is not None:
                centroid = np.asarray(grouping.matrix[idx].mean(axis=0)).ravel()
                for t in np.argsort(-centroid):
                    if centroid[t] <= 0 or len(terms) == 3:
                        break
                    if str(terms_of[t]) not in place_words:
                        terms.append(str(terms_of[t]))
            # Examples: the most typical members (closest to the rest of the group), most supported first on ties.
            typical = grouping.similarity[np.ix_(idx, idx)].sum(axis=1)
            order = sorted(range(len(idx)), key=lambda k: (-typical[k], -members[k].support))
            issues.append(HotIssue(
                rank=0, heat=heat, terms=terms, place=places.most_common(1)[0][0] if places else "",
                district=districts.most_common(1)[0][0] if districts else "", volume=len(members),
                growth=growth, recency=recency, support=support, first_at=min(d.at for d in members),
                last_at=max(d.at for d in members), members=[d.id for d in members],
                examples=[members[k] for k in order[:examples]]))
        issues.sort(key=lambda h: (-h.heat, -h.volume, h.first_at))
        for r, h in enumerate(issues[:top], start=1):
            h.rank = r
        return issues[:top]

    def find(self, docs: Sequence[Doc], *, now: datetime, window: timedelta, top: int = 10,
             examples: int = 3) -> list[HotIssue]:
        recent = [d for d in docs if now - window <= d.at <= now]
        return self.rank(self.group(recent), now=now, window=window, top=top, examples=examples)
