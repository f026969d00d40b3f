"""Labelled CSV files for training and evaluation, with errors a person can act on."""

from __future__ import annotations

import csv
from pathlib import Path


class DataError(ValueError):
    """The CSV is missing, unreadable, lacks a column, or has no usable rows."""


def read_labelled_csv(path: Path, text_col: str, label_col: str) -> tuple[list[str], list[str]]:
    """Texts and labels of a UTF-8 CSV with a header row; rows with an empty text or label are skipped."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            reader = csv.DictReader(f)
            columns = reader.fieldnames or []
            missing = [c for c in (text_col, label_col) if c not in columns]
            if missing:
                raise DataError(
                    f"{path}: no column {', '.join(repr(c) for c in missing)} "
                    f"(columns: {', '.join(columns) or 'none'})"
                )
            texts: list[str] = []
            labels: list[str] = []
            for row in reader:
                text, label = (row.get(text_col) or "").strip(), (row.get(label_col) or "").strip()
                if text and label:
                    texts.append(text)
                    labels.append(label)
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise DataError(f"{path}: is a directory, not a CSV file") from None
    except UnicodeDecodeError:
        raise DataError(f"{path}: not UTF-8 text") from None
    except csv.Error as e:
        raise DataError(f"{path}: malformed CSV: {e}") from None
    if not texts:
        raise DataError(f"{path}: no rows with both {text_col!r} and {label_col!r}")
    return texts, labels
