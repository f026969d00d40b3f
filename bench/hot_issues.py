"""Hot issues on real citizen messages: the 2020 Teddy Cup C 附件3 (4,326 messages with 点赞/反对).

    .venv/bin/python bench/hot_issues.py [--csv FILE] [--threshold 0.3] [--top 10]

There are no cluster labels in 附件3, so quality is judged four ways, each printed:
1. cohesion: silhouette (cosine distance on the TF-IDF vectors) of the texts in groups of ≥ 2, against
   the same group sizes with shuffled members (what chance gives);
2. place coherence: within groups, the share of texts naming the group's most common district;
3. category purity: titles of 附件3 that also occur in the labelled 附件2 titles carry one of 7 first-level
   categories; within groups with ≥ 2 labelled texts, the share of the majority category (a group that
   mixes categories is a bad group; purity 1.0 does not prove a good one, categories are coarse);
4. support agreement: of the 20 most-supported messages (点赞 − 反对), how many sit in a hot issue
   (group ≥ 2) and in the top 10 by 热度; and Spearman's rho between group size and group support over
   the hot issues (volume and public support are measured independently).
Then the top issues with two examples each, to read. Last line: key=value figures.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "tipdm2020c_smart_gov"


def _use_project_packages() -> None:
    here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]
    sys.path.insert(0, str(ROOT))


def _when(text: str) -> datetime:
    from reports.periods import SHANGHAI

    text = text.strip()
    for fmt in ("%Y/%m/%d %H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y/%m/%d"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=SHANGHAI)
        except ValueError:
            continue
    raise ValueError(f"bad time {text!r}")


def main(argv: list[str] | None = None) -> int:
    _use_project_packages()
    import numpy as np
    from scipy.stats import spearmanr
    from sklearn.metrics import silhouette_score

    from reports.hotissues import Doc, HotIssueFinder

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--csv", type=Path, default=DATA / "attachment3_messages_with_votes.csv")
    ap.add_argument("--labels", type=Path, default=DATA / "attachment2_titles_all9210.csv")
    ap.add_argument("--threshold", type=float, default=0.3)
    ap.add_argument("--top", type=int, default=10)
    args = ap.parse_args(argv)
    if not args.csv.exists():
        print(f"data not found: {args.csv}")
        print("messages=0")
        return 0
    docs = []
    with args.csv.open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            title = "".join(row["留言主题"].split())
            body = "".join(row["留言详情"].split())
            docs.append(Doc(id=row["留言编号"], text=f"{title}。{body}", title=title, at=_when(row["留言时间"]),
                            support=int(row["点赞数"] or 0), against=int(row["反对数"] or 0)))
    labels_by_title: dict[str, str] = {}
    if args.labels.exists():
        with args.labels.open(encoding="utf-8") as f:
            for row in csv.DictReader(f):
                labels_by_title["".join(row["留言主题"].split())] = row["一级标签"]

    finder = HotIssueFinder(threshold=args.threshold)
    now = max(d.at for d in docs)
    window = now - min(d.at for d in docs)
    t0 = time.perf_counter()
    grouping = finder.group(docs)
    issues = finder.rank(grouping, now=now, window=window, top=len(docs))
    seconds = time.perf_counter() - t0
    lab = grouping.labels
    sizes = np.bincount(lab)
    in_groups = np.flatnonzero(sizes[lab] >= 2)
    print(f"messages={len(docs)} groups={len(sizes)} hot_groups={int((sizes >= 2).sum())} "
          f"messages_in_hot_groups={len(in_groups)} largest={int(sizes.max())} seconds={seconds:.1f}")

    # 1. cohesion
    dist = np.clip(1.0 - grouping.similarity[np.ix_(in_groups, in_groups)], 0.0, 2.0)
    np.fill_diagonal(dist, 0.0)
    sil = float(silhouette_score(dist, lab[in_groups], metric="precomputed"))
    rng = np.random.default_rng(0)
    shuffled = rng.permutation(lab[in_groups])
    sil_chance = float(silhouette_score(dist, shuffled, metric="precomputed"))
    print(f"1. silhouette (cosine, texts in groups ≥2): {sil:.3f}; same sizes, shuffled members: {sil_chance:.3f}")

    # 2. place coherence
    coherent = total = 0
    for g in np.flatnonzero(sizes >= 2):
        ds = [grouping.districts[i] for i in np.flatnonzero(lab == g) if grouping.districts[i]]
        if ds:
            coherent += max(ds.count(d) for d in set(ds))
            total += len(ds)
    place_coherence = coherent / total if total else 0.0
    print(f"2. district coherence within groups: {place_coherence:.3f} over {total} texts naming a district")

    # 3. category purity
    majority = labelled = groups_checked = 0
    for g in np.flatnonzero(sizes >= 2):
        cats = [labels_by_title[grouping.docs[i].title] for i in np.flatnonzero(lab == g)
                if grouping.docs[i].title in labels_by_title]
        if len(cats) >= 2:
            groups_checked += 1
            majority += max(cats.count(c) for c in set(cats))
            labelled += len(cats)
    purity = majority / labelled if labelled else 0.0
    matched = sum(1 for d in docs if d.title in labels_by_title)
    print(f"3. category purity: {purity:.3f} over {groups_checked} groups, {labelled} labelled texts "
          f"({matched} of {len(docs)} titles found in 附件2)")

    # 4. support agreement
    top_ids = {h.rank: set(h.members) for h in issues[:args.top]}
    hot_members = {m for h in issues for m in h.members}
    best = sorted(docs, key=lambda d: -(d.support - d.against))[:20]
    in_hot = sum(1 for d in best if d.id in hot_members)
    in_top = sum(1 for d in best if any(d.id in ms for ms in top_ids.values()))
    rho = float(spearmanr([h.volume for h in issues], [h.support for h in issues]).statistic) if issues else 0.0
    print(f"4. of the 20 most-supported messages: {in_hot} in hot issues, {in_top} in the top {args.top}; "
          f"Spearman(volume, support) over {len(issues)} hot issues: {rho:.3f}")

    print(f"\ntop {args.top} by 热度:")
    for h in issues[:args.top]:
        print(f"#{h.rank} heat={h.heat:.2f} n={h.volume} support={h.support} growth={h.growth:.2f} "
              f"{h.first_at:%Y-%m-%d}..{h.last_at:%Y-%m-%d} [{h.label}]")
        for d in h.examples[:2]:
            print(f"    {d.at:%Y-%m-%d} +{d.support} {d.display[:50]}")
    print(f"messages={len(docs)} hot_issues={len(issues)} silhouette={sil:.3f} silhouette_chance={sil_chance:.3f} "
          f"district_coherence={place_coherence:.3f} category_purity={purity:.3f} top20_support_in_hot={in_hot} "
          f"top20_support_in_top{args.top}={in_top} spearman_volume_support={rho:.3f} seconds={seconds:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
