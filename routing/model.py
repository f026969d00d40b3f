"""The trained category model: hashed features -> blend of LinearSVC and Complement NB -> softmax.

Both members are linear, so the saved model is two weight matrices and a few numbers (no pickled
estimator objects: a model file survives scikit-learn upgrades and refactors of this package).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import scipy.sparse as sp

from routing.features import FeatureConfig, Featurizer
from routing.text import normalize

MODEL_FORMAT = "hotline12345-router"
MODEL_VERSION = 1
SHORT_TEXT_CHARS = 80  # titles and spoken requests; longer texts are written details
# Only the start of a long text is scored. At 500 characters the p95 latency of written details was
# 5.6-6.5 ms, over the 5 ms target; at 300 it is 4.0 ms (bench/router.py), and details accuracy moved
# within noise (own split 0.901 -> 0.898, held-out 0.897 -> 0.900). A caller's request is far shorter.
MAX_SCORED_CHARS = 300


class ModelError(ValueError):
    """A model file is missing, unreadable or not a router model."""


@dataclass
class BlendParams:
    nb_weight_short: float = 1.0  # NB helps on short texts, hurts on long ones (CV on train)
    nb_weight_long: float = 0.0
    temperature: float = 1.0  # softmax(temperature * blended z-scores), fitted on out-of-fold scores


def zscore(s: np.ndarray) -> np.ndarray:
    """Per-row standardisation, so that SVC margins and NB log-likelihoods can be added."""
    s = s - s.mean(axis=1, keepdims=True)
    return s / (s.std(axis=1, keepdims=True) + 1e-9)


def softmax(s: np.ndarray) -> np.ndarray:
    e = np.exp(s - s.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def blend(svc: np.ndarray, nb: np.ndarray, lengths: np.ndarray, params: BlendParams) -> np.ndarray:
    w = np.where(lengths <= SHORT_TEXT_CHARS, params.nb_weight_short, params.nb_weight_long)
    return zscore(svc) + w[:, None] * zscore(nb)


@dataclass
class CategoryModel:
    classes: list[str]
    featurizer: Featurizer
    weights: np.ndarray  # (n_features, 2K) float16: [SVC coef | NB log-probs centred per feature]
    intercept: np.ndarray  # (2K,) float32
    params: BlendParams
    info: dict[str, Any]
    # Operators' type decisions (text, type, weight): the type classifier trains on them beside its
    # shipped examples (routing.types), so type learning travels in the same file as the category model.
    type_examples: list[tuple[str, str, float]] = field(default_factory=list)

    def raw_scores(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        norm = [normalize(t)[:MAX_SCORED_CHARS] for t in texts]
        x = self.featurizer.transform(norm)
        s = _sparse_dot_f16(x, self.weights) + self.intercept
        k = len(self.classes)
        return s[:, :k], s[:, k:], np.array([len(t) for t in norm])

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        svc, nb, lengths = self.raw_scores(texts)
        return softmax(self.params.temperature * blend(svc, nb, lengths, self.params))

    def predict(self, texts: Sequence[str]) -> list[str]:
        return [self.classes[i] for i in self.predict_proba(texts).argmax(axis=1)]

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "format": MODEL_FORMAT,
            "version": MODEL_VERSION,
            "classes": list(self.classes),
            "feature_bits": list(self.featurizer.config.bits),
            "feature_weights": list(self.featurizer.config.weights),
            "idf": self.featurizer.idf,
            "weights": self.weights,
            "intercept": self.intercept,
            "blend": vars(self.params),
            "info": self.info,
            "type_examples": [list(e) for e in self.type_examples],
        }
        tmp = path.with_name(path.name + ".tmp")
        joblib.dump(payload, tmp)
        tmp.replace(path)  # atomic: a running router never sees half a file

    @classmethod
    def load(cls, path: Path) -> CategoryModel:
        try:
            payload = joblib.load(path)
        except FileNotFoundError as e:
            raise ModelError(f"{path}: model file not found") from e
        except Exception as e:  # joblib raises many kinds on a corrupt file
            raise ModelError(f"{path}: cannot read model file: {e}") from e
        if not isinstance(payload, dict) or payload.get("format") != MODEL_FORMAT:
            raise ModelError(f"{path}: not a router model")
        if payload.get("version") != MODEL_VERSION:
            raise ModelError(f"{path}: model version {payload.get('version')} unsupported; retrain")
        config = FeatureConfig(bits=tuple(payload["feature_bits"]), weights=tuple(payload["feature_weights"]))
        return cls(
            classes=list(payload["classes"]),
            featurizer=Featurizer(config, idf=list(payload["idf"])),
            weights=payload["weights"],
            intercept=payload["intercept"],
            params=BlendParams(**payload["blend"]),
            info=dict(payload.get("info", {})),
            type_examples=[(str(t), str(k), float(w)) for t, k, w in payload.get("type_examples", [])],
        )


def _sparse_dot_f16(x: sp.csr_matrix, w: np.ndarray, chunk: int = 256) -> np.ndarray:
    """x @ w for a float16 w without materialising a float32 copy of w (~120 MB)."""
    out = np.zeros((x.shape[0], w.shape[1]), dtype=np.float32)
    for start in range(0, x.shape[0], chunk):
        part = x[start : start + chunk]
        if part.nnz == 0:
            continue
        rows = w[part.indices].astype(np.float32) * part.data[:, None]
        starts = part.indptr[:-1]
        nonempty = np.diff(part.indptr) > 0
        sums = np.add.reduceat(rows, starts[nonempty], axis=0)
        out[start + np.flatnonzero(nonempty)] = sums
    return out
