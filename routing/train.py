"""Training of the category model; blend weights and temperature are chosen on out-of-fold scores."""

from __future__ import annotations

import logging
import os
import time
import warnings
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.model_selection import StratifiedKFold
from sklearn.naive_bayes import ComplementNB
from sklearn.svm import LinearSVC

from routing.features import FeatureConfig, Featurizer
from routing.model import SHORT_TEXT_CHARS, BlendParams, CategoryModel, blend, softmax
from routing.text import normalize

log = logging.getLogger(__name__)

_NB_GRID = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0)
_TEMPERATURES = tuple(float(t) for t in np.geomspace(0.2, 20.0, 41))


@dataclass(frozen=True)
class TrainConfig:
    features: FeatureConfig = field(default_factory=FeatureConfig)
    svc_c: float = 1.0
    nb_alpha: float = 0.03
    folds: int = 3  # out-of-fold scores for the blend weights and the temperature
    seed: int = 0
    workers: int = 0  # threads for fitting; 0: up to 4, one per core


def train(
    texts: Sequence[str],
    labels: Sequence[str],
    config: TrainConfig | None = None,
    *,
    weights: Sequence[float] | None = None,
) -> CategoryModel:
    """Fit the category model on labelled texts (any label set with at least two labels).

    `weights` (one per text, default 1) let operators' corrections count more than base data."""
    config = config or TrainConfig()
    if len(texts) != len(labels):
        raise ValueError(f"{len(texts)} texts but {len(labels)} labels")
    w = np.ones(len(texts)) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != (len(texts),) or not np.all(np.isfinite(w)) or np.any(w <= 0):
        raise ValueError("weights must be one positive number per text")
    counts = Counter(labels)
    if len(counts) < 2:
        raise ValueError("need at least two distinct labels to train")
    t0 = time.perf_counter()
    norm = [normalize(t) for t in texts]
    featurizer = Featurizer(config.features)
    x = featurizer.fit_transform(norm)
    classes = sorted(counts)
    y = np.array([classes.index(lab) for lab in labels])
    lengths = np.array([len(t) for t in norm])
    log.info("features: %d texts x %d buckets in %.1fs", x.shape[0], x.shape[1], time.perf_counter() - t0)

    # Labels learnt from a handful of corrections are rarer than the folds: they are left out of some
    # folds' training data (scored as absent there) rather than disabling calibration for all labels.
    folds = min(config.folds, sorted(counts.values())[-2])
    splits = []
    if folds >= 2:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="The least populated class", category=UserWarning)
            splits = list(StratifiedKFold(folds, shuffle=True, random_state=config.seed).split(x, y))
    # liblinear releases the GIL: fitting the folds and the final model in threads uses all cores.
    with ThreadPoolExecutor(max_workers=config.workers or min(4, os.cpu_count() or 1)) as pool:
        final = pool.submit(_fit_members, x, y, w, config)
        fold_fits = [pool.submit(_fit_members, x[tr], y[tr], w[tr], config) for tr, _ in splits]
        members = [(f.result(), te) for f, (_, te) in zip(fold_fits, splits, strict=True)]
        svc, nb = final.result()
    params, cv_acc = _fit_blend(x, y, lengths, members)
    coef, bias = svc.coef_, svc.intercept_
    if len(classes) == 2:  # binary LinearSVC keeps one hyperplane; store one column per class
        coef, bias = np.vstack([-coef, coef]), np.concatenate([-bias, bias])
    matrix = np.hstack([coef.T, _centred(nb.feature_log_prob_).T]).astype(np.float16)
    intercept = np.concatenate([bias, np.zeros(len(classes))]).astype(np.float32)
    info = {
        "n_train": len(texts),
        "label_counts": dict(counts),
        "cv_accuracy": cv_acc,
        "train_seconds": round(time.perf_counter() - t0, 1),
    }
    log.info("trained on %d texts in %.1fs (out-of-fold accuracy %s)", len(texts), info["train_seconds"], cv_acc)
    return CategoryModel(classes, featurizer, matrix, intercept, params, info)


def save_model(model: CategoryModel, path: Path) -> None:
    model.save(path)


def load_model(path: Path) -> CategoryModel:
    return CategoryModel.load(path)


def _fit_members(
    x: sp.csr_matrix, y: np.ndarray, w: np.ndarray, config: TrainConfig
) -> tuple[LinearSVC, ComplementNB]:
    svc = LinearSVC(C=config.svc_c, random_state=config.seed).fit(x, y, sample_weight=w)
    nb = ComplementNB(alpha=config.nb_alpha).fit(x, y, sample_weight=w)
    return svc, nb


def _centred(log_prob: np.ndarray) -> np.ndarray:
    # Subtracting a per-feature constant shifts every class score of a text equally: the blend
    # (per-row z-scores) is unchanged, and the small centred values survive float16 storage.
    return log_prob - log_prob.mean(axis=0, keepdims=True)


def _fit_blend(
    x: sp.csr_matrix,
    y: np.ndarray,
    lengths: np.ndarray,
    members: list[tuple[tuple[LinearSVC, ComplementNB], np.ndarray]],
) -> tuple[BlendParams, float | None]:
    if not members:
        log.warning("too few examples per label for out-of-fold calibration; using default blend")
        return BlendParams(), None
    k = int(y.max()) + 1
    svc_oof = np.zeros((len(y), k), dtype=np.float32)
    nb_oof = np.zeros((len(y), k), dtype=np.float32)
    for (svc, nb), te in members:
        svc_oof[te] = _expand(svc.decision_function(x[te]), svc.classes_, k)
        nb_oof[te] = _expand(nb.predict_log_proba(x[te]), nb.classes_, k)

    short = lengths <= SHORT_TEXT_CHARS
    params = BlendParams()
    for group, attr in ((short, "nb_weight_short"), (~short, "nb_weight_long")):
        if group.sum() >= 30:  # too few texts of this length: keep the default
            best = max(_NB_GRID, key=lambda w: _accuracy(svc_oof[group], nb_oof[group], y[group], w))
            setattr(params, attr, best)
    scores = blend(svc_oof, nb_oof, lengths, params)
    params.temperature = min(_TEMPERATURES, key=lambda t: _nll(t * scores, y))
    acc = float((scores.argmax(axis=1) == y).mean())
    log.info("blend chosen on %d-fold out-of-fold scores: %s, accuracy %.3f", len(members), params, acc)
    return params, round(acc, 4)


def _expand(scores: np.ndarray, present: np.ndarray, k: int) -> np.ndarray:
    """Scores for all k classes when a fold lacks some (binary SVC returns one column)."""
    if scores.ndim == 1:
        scores = np.stack([-scores, scores], axis=1)
    out = np.full((scores.shape[0], k), scores.min() - 1.0, dtype=np.float32)
    out[:, present] = scores
    return out


def _accuracy(svc: np.ndarray, nb: np.ndarray, y: np.ndarray, w: float) -> float:
    params = BlendParams(nb_weight_short=w, nb_weight_long=w)
    s = blend(svc, nb, np.zeros(len(y)), params)
    return float((s.argmax(axis=1) == y).mean())


def _nll(scores: np.ndarray, y: np.ndarray) -> float:
    p = softmax(scores)[np.arange(len(y)), y]
    return float(-np.log(np.clip(p, 1e-12, None)).mean())
