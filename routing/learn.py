"""Training on base data plus people's routing decisions (`hotline router train --from-tickets`).

Base data: a labelled CSV (a center's own history), or without one the catalog's keywords (one short
text per keyword, labelled with its category: what the shipped keyword router knows, as examples).
Decisions (routing.corrections.load) are added with weights: a correction counts `correction_weight`
base examples, an agreement with the router `agreement_weight`, both halved every `half_life_days`
so that the router follows changes in who handles what.

Labels: a department decision trains a department-id label (the router maps it to the department and
its category, routing.classify); a category changed without a department change trains the category;
type decisions train the type classifier (CategoryModel.type_examples).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from routing.catalog import CATEGORIES, Catalog
from routing.corrections import Correction
from routing.model import CategoryModel
from routing.train import TrainConfig, train
from routing.types import TYPES

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LearnConfig:
    correction_weight: float = 5.0  # a person overruling the router is strong, scarce evidence
    agreement_weight: float = 1.0  # a confirmed proposal: a labelled example like any other
    half_life_days: float = 180.0
    min_recency: float = 0.05  # very old decisions still count a little, never zero


@dataclass
class TrainingSet:
    texts: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    weights: list[float] = field(default_factory=list)
    type_examples: list[tuple[str, str, float]] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)  # why decisions were not used

    def add(self, text: str, label: str, weight: float) -> None:
        self.texts.append(text)
        self.labels.append(label)
        self.weights.append(weight)


def catalog_examples(catalog: Catalog) -> tuple[list[str], list[str]]:
    """Each catalog keyword as a short example of the category it is listed under."""
    texts: list[str] = []
    labels: list[str] = []
    for dept in catalog.departments:
        for category, words in dept.keywords.items():
            texts.extend(words)
            labels.extend([category] * len(words))
    return texts, labels


def recency(at: datetime, *, now: datetime, config: LearnConfig) -> float:
    age_days = max((now - at).total_seconds() / 86400.0, 0.0)
    return max(0.5 ** (age_days / config.half_life_days), config.min_recency)


def training_set(
    base_texts: Sequence[str],
    base_labels: Sequence[str],
    corrections: Sequence[Correction],
    *,
    catalog: Catalog,
    now: datetime,
    config: LearnConfig | None = None,
) -> TrainingSet:
    config = config or LearnConfig()
    out = TrainingSet()
    for text, label in zip(base_texts, base_labels, strict=True):
        out.add(text, label, 1.0)
    dept_ids = {d.id for d in catalog.departments}
    by_ticket: dict[int, dict[str, Correction]] = {}
    for c in corrections:
        by_ticket.setdefault(c.ticket_id, {})[c.field] = c

    def weight(c: Correction) -> float:
        base = config.correction_weight if c.changed else config.agreement_weight
        return base * recency(c.at, now=now, config=config)

    for fields in by_ticket.values():
        dept, cat, kind = fields.get("department"), fields.get("category"), fields.get("type")
        if cat is not None and cat.changed and not (dept is not None and dept.changed):
            if cat.value in CATEGORIES:
                out.add(cat.text, cat.value, weight(cat))
            else:
                out.skipped["unknown category"] += 1
        elif dept is not None:
            if dept.value in dept_ids:
                out.add(dept.text, dept.value, weight(dept))
            else:  # a unit of the dispatch tree below the catalog (a district office): no router label
                out.skipped["department not in the catalog"] += 1
        if kind is not None:
            if kind.value in TYPES:
                out.type_examples.append((kind.text, kind.value, weight(kind)))
            else:
                out.skipped["unknown type"] += 1
    return out


def train_with_corrections(
    base_texts: Sequence[str],
    base_labels: Sequence[str],
    corrections: Sequence[Correction],
    *,
    catalog: Catalog,
    now: datetime,
    config: LearnConfig | None = None,
    train_config: TrainConfig | None = None,
) -> CategoryModel:
    data = training_set(base_texts, base_labels, corrections, catalog=catalog, now=now, config=config)
    model = train(data.texts, data.labels, train_config, weights=data.weights)
    model.type_examples = data.type_examples
    changed = sum(1 for c in corrections if c.changed)
    model.info.update(
        n_base=len(base_texts),
        n_decisions=len(corrections),
        n_corrections=changed,
        n_type_examples=len(data.type_examples),
        skipped=dict(data.skipped),
    )
    log.info("trained with %d decisions (%d corrections); skipped %s", len(corrections), changed, dict(data.skipped))
    return model
