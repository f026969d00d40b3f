"""What `hotline router train|eval` and `hotline classify` run. These functions print their output
(the CLI's stdout) and report errors on stderr with exit code 2, never a traceback."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from routing.catalog import CatalogError, load_catalog
from routing.classify import Router
from routing.data import DataError, read_labelled_csv
from routing.model import ModelError
from routing.train import load_model, save_model, train

EXIT_ERROR = 2


def cmd_train(csv: str | Path, text_col: str, label_col: str, model_file: Path) -> int:
    try:
        texts, labels = read_labelled_csv(Path(csv), text_col, label_col)
        if len(set(labels)) < 2:
            raise DataError(f"{csv}: column {label_col!r} has fewer than two distinct labels")
        t0 = time.perf_counter()
        model = train(texts, labels)
        save_model(model, model_file)
    except (DataError, ModelError, OSError) as e:
        return _fail(e)
    cv = model.info.get("cv_accuracy")
    print(f"trained on {len(texts)} texts, {len(model.classes)} labels in {time.perf_counter() - t0:.1f}s")
    if cv is not None:
        print(f"out-of-fold accuracy on the training data: {cv:.3f}")
    print(f"model saved to {model_file}")
    return 0


def cmd_eval(csv: str | Path, text_col: str, label_col: str, model_file: Path) -> int:
    try:
        texts, labels = read_labelled_csv(Path(csv), text_col, label_col)
        router = Router(load_catalog(), load_model(model_file) if model_file.exists() else None)
    except (DataError, ModelError, CatalogError, OSError) as e:
        return _fail(e)
    if router.model is None:
        print(f"no model at {model_file}: evaluating the keyword router", file=sys.stderr)
    predicted = router.predict_categories(texts)
    acc, f1, per_label = accuracy_macro_f1(labels, predicted)
    print(f"evaluated {len(texts)} texts with the {router.source} router")
    for label, (f, n) in sorted(per_label.items(), key=lambda kv: -kv[1][1]):
        print(f"  {label}\tf1={f:.3f}\tn={n}")
    print(f"accuracy={acc:.3f} macro_f1={f1:.3f}")
    return 0


def cmd_classify(text: str, model_file: Path | None, dialed_number: str | None = None) -> int:
    try:
        router = Router.load(model_file)
    except (ModelError, CatalogError, OSError) as e:
        return _fail(e)
    result = router.classify(text, dialed_number=dialed_number)
    print(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    return 0


def accuracy_macro_f1(
    gold: Sequence[str], predicted: Sequence[str]
) -> tuple[float, float, dict[str, tuple[float, int]]]:
    """Accuracy, macro-F1 over the gold labels, and per gold label (F1, support)."""
    labels = sorted(set(gold))
    per: dict[str, tuple[float, int]] = {}
    for label in labels:
        tp = sum(1 for g, p in zip(gold, predicted, strict=True) if g == p == label)
        n_gold = sum(1 for g in gold if g == label)
        n_pred = sum(1 for p in predicted if p == label)
        f1 = 2 * tp / (n_gold + n_pred) if n_gold + n_pred else 0.0
        per[label] = (f1, n_gold)
    acc = sum(1 for g, p in zip(gold, predicted, strict=True) if g == p) / len(gold)
    return acc, sum(f for f, _ in per.values()) / len(per), per


def _fail(error: Exception) -> int:
    print(f"error: {error}", file=sys.stderr)
    return EXIT_ERROR
