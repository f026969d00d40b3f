"""Router benchmark on the 2020 Teddy Cup C data (read in place from ../shared, never copied).

Trains on the titles and details TRAIN splits together, evaluates once on the TEST splits, on titles
test with 20 % of characters replaced by homophones (simulated recognition errors), and the shipped
keyword router; measures per-message latency of Router.classify (type, category, departments, place,
summary, emergency).

Caveat printed with the figures: titles and details are two views of the same messages and the two
splits were drawn independently, so the details train split holds the details of most titles-test
messages (and vice versa). Training on both therefore overstates test accuracy; the `*_own` figures
(each split's own train data only) are the leak-free ones.

Usage: .venv/bin/python bench/router.py [--quick] [--no-own]
"""

from __future__ import annotations

import argparse
import logging
import random
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

from pypinyin import lazy_pinyin

from routing.catalog import load_catalog
from routing.classify import Router
from routing.cli import accuracy_macro_f1
from routing.data import read_labelled_csv
from routing.model import CategoryModel
from routing.train import load_model, train

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "tipdm2020c_smart_gov" / "split"
HAN = re.compile(r"[\u4e00-\u9fff]")


def split(name: str) -> tuple[list[str], list[str]]:
    return read_labelled_csv(DATA / f"{name}_text.csv", "text", "label")


def homophone_table(texts: list[str]) -> dict[str, list[str]]:
    """Character -> other characters of the training vocabulary with the same toneless pinyin."""
    groups: dict[str, list[str]] = {}
    chars = sorted({c for t in texts for c in t if HAN.match(c)})
    reading = {c: lazy_pinyin(c)[0] for c in chars}
    for c in chars:
        groups.setdefault(reading[c], []).append(c)
    return {c: [o for o in groups[reading[c]] if o != c] for c in chars}


def with_homophones(texts: list[str], table: dict[str, list[str]], rate: float, seed: int) -> list[str]:
    """Replace round(rate * Han characters) characters of each text by a random homophone."""
    rng = random.Random(seed)
    out = []
    for text in texts:
        chars = list(text)
        han = [i for i, c in enumerate(chars) if HAN.match(c)]
        replaceable = [i for i in han if table.get(chars[i])]
        for i in rng.sample(replaceable, min(round(rate * len(han)), len(replaceable))):
            chars[i] = rng.choice(table[chars[i]])
        out.append("".join(chars))
    return out


def evaluate(name: str, router: Router, texts: list[str], labels: list[str]) -> tuple[float, float]:
    acc, f1, per = accuracy_macro_f1(labels, router.predict_categories(texts))
    worst = min(per.items(), key=lambda kv: kv[1][0])
    print(f"{name:<28} n={len(texts):<5} acc={acc:.3f} macro_f1={f1:.3f} (lowest F1: {worst[0]} {worst[1][0]:.3f})")
    return acc, f1


def latency_ms(router: Router, texts: list[str]) -> list[float]:
    router.classify(texts[0])  # warm up (jieba dictionary, type model), as Router.load does
    out = []
    for text in texts:
        t0 = time.perf_counter()
        router.classify(text)
        out.append((time.perf_counter() - t0) * 1000)
    return out


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def fit(texts: list[str], labels: list[str], label: str, tmp: Path) -> tuple[Router, float]:
    t0 = time.perf_counter()
    model = train(texts, labels)
    seconds = time.perf_counter() - t0
    path = tmp / f"{label}.joblib"
    model.save(path)  # evaluate what a deployment loads (float16 weights), not the in-memory object
    loaded: CategoryModel = load_model(path)
    print(f"trained {label}: {len(texts)} texts in {seconds:.1f}s, model file {path.stat().st_size / 1e6:.0f} MB")
    return Router(load_catalog(), loaded), seconds


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="train on a 2,000-text sample (smoke run)")
    ap.add_argument("--no-own", action="store_true", help="skip the leak-free per-split models")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if not DATA.is_dir():
        print(f"skipped: evaluation data not found at {DATA}", file=sys.stderr)
        print("skipped=1")
        return 0

    titles_train, details_train = split("titles9210_train"), split("details7905_train")
    titles_test, details_test = split("titles9210_test"), split("details7905_test")
    both = (titles_train[0] + details_train[0], titles_train[1] + details_train[1])
    if args.quick:
        rng = random.Random(0)
        idx = rng.sample(range(len(both[0])), 2000)
        both = ([both[0][i] for i in idx], [both[1][i] for i in idx])

    figures: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        router, train_s = fit(*both, "titles+details", Path(tmp))
        figures["titles_acc"], figures["titles_f1"] = map(_f, evaluate("titles test", router, *titles_test))
        figures["details_acc"], figures["details_f1"] = map(_f, evaluate("details test", router, *details_test))

        table = homophone_table(both[0])
        noisy = with_homophones(titles_test[0], table, rate=0.2, seed=0)
        figures["homophone_titles_acc"] = _f(evaluate("titles test, 20% homophones", router, noisy, titles_test[1])[0])

        keywords = Router(load_catalog())
        figures["default_titles_acc"] = _f(evaluate("keyword router, titles test", keywords, *titles_test)[0])
        figures["default_details_acc"] = _f(evaluate("keyword router, details test", keywords, *details_test)[0])

        short = latency_ms(router, titles_test[0])  # titles: as long as a spoken request
        long = latency_ms(router, details_test[0][:500])  # written details, mean ~450 characters
        times = short + long
        p50, p95 = percentile(times, 50), percentile(times, 95)
        for name, values in (("titles", short), ("details", long), ("all", times)):
            print(f"latency of Router.classify, {name:<8} n={len(values):<5} p50={percentile(values, 50):.2f} ms "
                  f"p95={percentile(values, 95):.2f} ms max={max(values):.1f} ms")
        latency = {
            "p50_ms": f"{p50:.2f}",
            "p95_ms": f"{p95:.2f}",
            "p95_titles_ms": f"{percentile(short, 95):.2f}",
            "p95_details_ms": f"{percentile(long, 95):.2f}",
        }

        if not args.no_own and not args.quick:
            print("leak-free protocol: each split's own train data only")
            own, _ = fit(*titles_train, "titles only", Path(tmp))
            figures["titles_own_acc"] = _f(evaluate("titles test (titles-only model)", own, *titles_test)[0])
            figures["homophone_titles_own_acc"] = _f(
                evaluate("titles test, 20% homophones (own)", own, noisy, titles_test[1])[0]
            )
            own, _ = fit(*details_train, "details only", Path(tmp))
            figures["details_own_acc"] = _f(evaluate("details test (details-only model)", own, *details_test)[0])

    figures = {**figures, **latency, "train_s": f"{train_s:.0f}"}
    print(" ".join(f"{k}={v}" for k, v in figures.items()))
    return 0


def _f(x: float) -> str:
    return f"{x:.3f}"


if __name__ == "__main__":
    sys.exit(main())
