"""The router: text of a request -> type, category, top departments, place, summary, emergency."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from routing.catalog import CATEGORIES, OTHER, Catalog, load_catalog
from routing.keywords import Evidence, KeywordIndex
from routing.model import MAX_SCORED_CHARS, CategoryModel
from routing.place import extract_place, summary_of
from routing.types import TypeClassifier, emergency_of

log = logging.getLogger(__name__)

TOP_DEPARTMENTS = 3
_PRIOR_SHARE = 0.3  # within a category, catalog priors count this much against one keyword hit
_CROSS_CATEGORY = 0.5  # a department's keywords filed under another category still count half
_KEYWORD_MIX = 0.25  # keyword-only department distribution mixed in, so 打架 reaches 公安 from any category
# A call on a merged legacy line (12369...) multiplies the odds of the line's owner (and its category) by
# this Bayes factor: a vague request goes to the owner, a clear one keeps its department. The owner always
# stays among the top departments shown, and its probability never starts below the floor.
_DIALED_ODDS = 8.0
_DIALED_FLOOR = 0.03
_KEYWORD_SMOOTHING = 0.5  # pseudo-count spread over categories for the keyword router


@dataclass(frozen=True)
class DepartmentScore:
    id: str
    name: str
    confidence: float


@dataclass(frozen=True)
class Classification:
    type: str  # 咨询 求助 投诉 举报 建议 表扬
    type_confidence: float
    category: str
    category_confidence: float
    departments: list[DepartmentScore]  # top 3, confidence descending
    place: str | None
    summary: str
    emergency: str | None  # None, 'police', 'fire', 'medical'
    source: str  # 'keywords' or 'trained'

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Router:
    """Holds the catalog, the optional trained model and the lazily built helpers; thread-safe to share."""

    def __init__(self, catalog: Catalog, model: CategoryModel | None = None) -> None:
        self.catalog = catalog
        self.model = model
        self._keywords: KeywordIndex | None = None
        self._types = TypeClassifier(learned=model.type_examples if model is not None else ())
        self._order = {d.id: i for i, d in enumerate(catalog.departments)}  # deterministic ties

    @classmethod
    def load(cls, model_file: Path | None, catalog: Catalog | None = None) -> Router:
        """The trained model if model_file exists, else the shipped keyword router. Warms up every
        part, so that processes forked afterwards answer the first call fast."""
        catalog = catalog or load_catalog()
        model = None
        if model_file is not None and model_file.exists():
            model = CategoryModel.load(model_file)  # a corrupt file is an error, not a silent fallback
            log.info("router: trained model %s (%d labels)", model_file, len(model.classes))
        else:
            log.info("router: no trained model at %s; using catalog keywords", model_file)
        router = cls(catalog, model)
        router.classify("小区路灯坏了")
        return router

    @property
    def source(self) -> str:
        return "trained" if self.model is not None else "keywords"

    @property
    def keywords(self) -> KeywordIndex:
        if self._keywords is None:
            self._keywords = KeywordIndex(self.catalog)
        return self._keywords

    def classify(self, text: str, *, dialed_number: str | None = None) -> Classification:
        # Keywords and place come from the start of very long (written) texts, as the model's view does;
        # emergencies are looked for everywhere.
        head = text[:MAX_SCORED_CHARS]
        evidence = self.keywords.evidence(head)
        if self.model is not None:
            label_probs = dict(zip(self.model.classes, self.model.predict_proba([text])[0].tolist(), strict=True))
        else:
            label_probs = self._keyword_category_probs(evidence)
        categories, departments = self._distributions(label_probs, evidence)
        dialed = self.catalog.by_hotline(dialed_number) if dialed_number else None
        if self.model is None and evidence.total == 0 and dialed is None:  # the dialed line is evidence
            departments = _mix(departments, {self.catalog.fallback: 1.0}, 0.5)
        if dialed is not None:
            categories = _boost(categories, dialed.primary_category)
            departments = _boost(departments, dialed.id)
        category = max(categories, key=lambda c: (categories[c], -_category_rank(c)))
        top = sorted(departments.items(), key=lambda kv: (-kv[1], self._order[kv[0]]))[:TOP_DEPARTMENTS]
        if dialed is not None and dialed.id not in dict(top):
            top[-1] = (dialed.id, departments[dialed.id])
        for dept in [*self.catalog.for_category(category), self.catalog.get(self.catalog.fallback)]:
            if len(top) >= TOP_DEPARTMENTS:
                break
            if dept.id not in dict(top):  # a model over few department labels: pad with plausible ones
                top.append((dept.id, 0.0))
        type_, type_conf = self._types.classify(text)
        return Classification(
            type=type_,
            type_confidence=type_conf,
            category=category,
            category_confidence=round(categories[category], 3),
            departments=[
                DepartmentScore(d, self.catalog.get(d).name, round(min(max(p, 0.0), 1.0), 3)) for d, p in top
            ],
            place=extract_place(head),
            summary=summary_of(text),
            emergency=emergency_of(text),
            source=self.source,
        )

    def predict_categories(self, texts: Sequence[str]) -> list[str]:
        """Category (or the model's label) per text; batched when a trained model answers."""
        if self.model is not None:
            # A model trained with operators' decisions also has department-id labels: report their category.
            dept_ids = {d.id for d in self.catalog.departments}
            return [self.catalog.get(x).primary_category if x in dept_ids else x for x in self.model.predict(texts)]
        out = []
        for text in texts:
            probs = self._keyword_category_probs(self.keywords.evidence(text[:MAX_SCORED_CHARS]))
            out.append(max(probs, key=lambda c: (probs[c], -_category_rank(c))))
        return out

    # -- internals -------------------------------------------------------------------------------

    def _keyword_category_probs(self, evidence: Evidence) -> dict[str, float]:
        found = evidence.by_category()
        total = sum(found.values())
        if total == 0:  # nothing recognisable: 其他 routes to the local government (属地)
            rest = (1.0 - 0.3) / (len(CATEGORIES) - 1)
            return {c: (0.3 if c == OTHER else rest) for c in CATEGORIES}
        spread = _KEYWORD_SMOOTHING / len(CATEGORIES)
        return {c: (found.get(c, 0.0) + spread) / (total + _KEYWORD_SMOOTHING) for c in CATEGORIES}

    def _distributions(
        self, label_probs: dict[str, float], evidence: Evidence
    ) -> tuple[dict[str, float], dict[str, float]]:
        """Category and department distributions from label probabilities (labels are categories,
        or department ids when a model was trained on operators' dispatch decisions)."""
        kw_dept = evidence.by_department()
        categories: dict[str, float] = defaultdict(float)
        departments: dict[str, float] = defaultdict(float)
        dept_ids = {d.id for d in self.catalog.departments}
        for label, p in label_probs.items():
            if label in dept_ids:
                departments[label] += p
                categories[self.catalog.get(label).primary_category] += p
                continue
            categories[label] += p
            for d, share in self._shares(label, evidence, kw_dept).items():
                departments[d] += p * share
        if kw_dept:
            total = sum(kw_dept.values())
            kw_dist = {d: w / total for d, w in kw_dept.items()}
            return dict(categories), _mix(departments, kw_dist, _KEYWORD_MIX)
        return dict(categories), dict(departments)

    def _shares(self, category: str, evidence: Evidence, kw_dept: dict[str, float]) -> dict[str, float]:
        """How a category's probability splits over its departments: catalog priors + keyword evidence."""
        serving = self.catalog.for_category(category)
        if not serving:  # a label the catalog does not know: follow the keywords, else the local government
            total = sum(kw_dept.values())
            return {d: w / total for d, w in kw_dept.items()} if total else self._shares(OTHER, evidence, kw_dept)
        weights = {}
        for dept in serving:
            own = evidence.by_pair.get((dept.id, category), 0.0)
            other = kw_dept.get(dept.id, 0.0) - own
            weights[dept.id] = _PRIOR_SHARE * dept.categories[category] + own + _CROSS_CATEGORY * other
        total = sum(weights.values())
        return {d: w / total for d, w in weights.items()}


def _mix(base: dict[str, float], extra: dict[str, float], weight: float) -> dict[str, float]:
    keys = [*base, *(k for k in extra if k not in base)]
    return {k: (1 - weight) * base.get(k, 0.0) + weight * extra.get(k, 0.0) for k in keys}


def _boost(dist: dict[str, float], key: str) -> dict[str, float]:
    out = dict(dist)
    out[key] = max(out.get(key, 0.0), _DIALED_FLOOR) * _DIALED_ODDS
    total = sum(out.values())
    return {k: v / total for k, v in out.items()}


def _category_rank(category: str) -> int:
    return CATEGORIES.index(category) if category in CATEGORIES else len(CATEGORIES)
