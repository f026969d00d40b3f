"""Character error rate, for benchmarks and for comparing ASR text with operators' corrections."""

from __future__ import annotations

import unicodedata


def plain_chars(text: str) -> str:
    """Drop spaces and punctuation (Unicode categories P*, Z*, C*): CER counts words, not commas."""
    return "".join(ch for ch in text if unicodedata.category(ch)[0] not in "PZC")


def edit_distance(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def cer_counts(reference: str, hypothesis: str) -> tuple[int, int]:
    """(character edits, reference length) after dropping punctuation: sum both over a test set."""
    ref, hyp = plain_chars(reference), plain_chars(hypothesis)
    return edit_distance(ref, hyp), len(ref)


def cer(reference: str, hypothesis: str) -> float:
    edits, n = cer_counts(reference, hypothesis)
    return edits / n if n else float(bool(edits))
