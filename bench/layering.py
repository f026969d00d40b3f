"""The shape of the code: package-to-package imports, those pointing up the layers of `.importlinter`,
package cycles (strongly connected groups) and pairs importing each other, the largest modules, and lines of code.

    .venv/bin/python bench/layering.py

Last line: packages=… package_imports=… upward_imports=… cycles=… mutual_pairs=… largest_module=…
largest_lines=… lines=…
"""

from __future__ import annotations

import configparser
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def layers(config: Path) -> list[set[str]]:
    """The layers contract, top first; siblings split by | or : share a layer."""
    parser = configparser.ConfigParser()
    parser.read(config)
    for section in parser.sections():
        if parser.get(section, "type", fallback="") == "layers":
            rows = [r.strip() for r in parser.get(section, "layers").splitlines() if r.strip()]
            return [{p.strip() for p in r.replace(":", "|").split("|")} for r in rows]
    raise SystemExit(f"{config}: no layers contract")


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one package (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                out.append(sorted(group))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def main() -> int:
    import grimp

    sys.path.insert(0, str(ROOT))
    stack = layers(ROOT / ".importlinter")
    level = {p: i for i, row in enumerate(stack) for p in row}
    graph = grimp.build_graph(*sorted(level), include_external_packages=False)
    pairs: dict[tuple[str, str], int] = defaultdict(int)
    for module in graph.modules:
        for imported in graph.find_modules_directly_imported_by(module):
            a, b = module.split(".")[0], imported.split(".")[0]
            if a != b:
                pairs[(a, b)] += 1
    upward = {(a, b): n for (a, b), n in pairs.items() if level[b] <= level[a]}
    for (a, b), n in sorted(upward.items()):
        print(f"up: {a} -> {b} ({n} imports)")
    edges: dict[str, set[str]] = defaultdict(set)
    for a, b in pairs:
        edges[a].add(b)
    found = cycles(edges)
    mutual = sorted({tuple(sorted(p)) for p in pairs if (p[1], p[0]) in pairs})
    for a, b in mutual:
        print(f"mutual: {a} ↔ {b}")
    for group in found:
        print("cycle:", " ↔ ".join(group))
    sizes = {}
    for package in level:
        for path in (ROOT / package).rglob("*.py"):
            sizes[str(path.relative_to(ROOT))] = sum(1 for _ in path.open(encoding="utf-8"))
    largest = sorted(sizes.items(), key=lambda kv: -kv[1])[:5]
    for name, n in largest:
        print(f"large: {name} {n} lines")
    print(f"packages={len(level)} package_imports={len(pairs)} upward_imports={len(upward)} cycles={len(found)} "
          f"mutual_pairs={len(mutual)} "
          f"largest_module={largest[0][0]} largest_lines={largest[0][1]} lines={sum(sizes.values())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
