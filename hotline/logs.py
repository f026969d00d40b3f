"""Logging for every hotline process: to stderr and a file, phone numbers masked in every line.

An AGI process's stdout is the protocol channel, so nothing here ever writes to stdout."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from agi.masking import mask_number


class MaskNumbers(logging.Filter):
    """Safety net: whatever a message contains, runs of 7+ digits leave masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = mask_number(record.getMessage())
        record.args = None
        return True


def setup(level: str, log_file: Path | None = None) -> None:
    root = logging.getLogger()
    root.setLevel(level.upper())
    for h in list(root.handlers):
        root.removeHandler(h)
    fmt = logging.Formatter("%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s")
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_file, encoding="utf-8"))
    for h in handlers:
        h.setFormatter(fmt)
        h.addFilter(MaskNumbers())
        root.addHandler(h)
