"""What `hotline router train|eval` and `hotline classify` run. These functions print their output
(the CLI's stdout) and report errors on stderr with exit code 2, never a traceback."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from routing.catalog import CatalogError, load_catalog
from routing.classify import Router
from routing.corrections import Correction
from routing.data import DataError, read_labelled_csv
from routing.learn import catalog_examples, train_with_corrections
from routing.model import ModelError
from routing.train import TrainConfig, load_model, save_model, train

EXIT_ERROR = 2


def cmd_train(
    csv: str | Path | None,
    text_col: str,
    label_col: str,
    model_file: Path,
    *,
    decisions: Callable[[], list[Correction]] | None = None,
    now: datetime | None = None,
    config: TrainConfig | None = None,
) -> int:
    """Train on a CSV; with `decisions` (--from-tickets: the composition root reads them from the tickets)
    also on people's decisions, and without a CSV on the catalog's keywords plus those (routing.learn)."""
    if csv is None and decisions is None:
        return _fail(DataError("give a labelled --csv, or --from-tickets, or both"))
    try:
        if csv is not None:
            texts, labels = read_labelled_csv(Path(csv), text_col, label_col)
            if len(set(labels)) < 2 and decisions is None:
                raise DataError(f"{csv}: column {label_col!r} has fewer than two distinct labels")
        else:
            texts, labels = catalog_examples(load_catalog())
        t0 = time.perf_counter()
        if decisions is None:
            model = train(texts, labels, config)
        else:
            people = decisions()
            model = train_with_corrections(texts, labels, people, catalog=load_catalog(),
                                           now=now or datetime.now(UTC), train_config=config)
            print(f"from tickets: {len(people)} decisions, {model.info['n_corrections']} of them corrections, "
                  f"{model.info['n_type_examples']} type examples"
                  + (f"; not used: {model.info['skipped']}" if model.info["skipped"] else ""))
        save_model(model, model_file)
    except (DataError, ModelError, CatalogError, OSError) as e:
        return _fail(e)
    except ValueError as e:  # too few distinct labels even with the decisions
        return _fail(DataError(str(e)))
    cv = model.info.get("cv_accuracy")
    base = "catalog keywords" if csv is None else str(csv)
    print(f"trained on {model.info['n_train']} texts ({base} + decisions), "
          if decisions is not None else f"trained on {model.info['n_train']} texts ({base}), ", end="")
    print(f"{len(model.classes)} labels in {time.perf_counter() - t0:.1f}s")
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
