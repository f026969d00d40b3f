"""Logging for every hotline process: to stderr and a file, phone numbers masked in every line.

An AGI process's stdout is the protocol channel, so nothing here ever writes to stdout.

``log_format=json`` writes one JSON object per line, with the ``call_id`` and ``ticket_id`` bound to
the current call (see :func:`bind`): a forked AGI process serves one call, a thread-mode server one
call per thread, and context variables follow both."""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from foundation.masking import mask_number

LogFormat = Literal["text", "json"]

# Context variables (not plain globals): each thread and each forked call sees its own values.
_CALL_ID: ContextVar[str] = ContextVar("hotline_call_id", default="")
_TICKET_ID: ContextVar[int | None] = ContextVar("hotline_ticket_id", default=None)


def bind(*, call_id: str | None = None, ticket_id: int | None = None) -> None:
    """Attach ids to every later log line of this call (thread / process)."""
    if call_id is not None:
        _CALL_ID.set(call_id)
    if ticket_id is not None:
        _TICKET_ID.set(ticket_id)


def bound() -> tuple[str, int | None]:
    return _CALL_ID.get(), _TICKET_ID.get()


class MaskNumbers(logging.Filter):
    """Safety net: whatever a message contains, runs of 7+ digits leave masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = mask_number(record.getMessage())
        record.args = None
        return True


class CallContext(logging.Filter):
    """Copies the bound call and ticket ids onto each record (``%(call_id)s`` works in text too)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.call_id, record.ticket_id = bound()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line; tracebacks masked like messages (they can quote numbers too)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "pid": record.process,
            "msg": mask_number(record.getMessage()),
        }
        call_id, ticket_id = getattr(record, "call_id", ""), getattr(record, "ticket_id", None)
        if call_id:
            entry["call_id"] = call_id
        if ticket_id is not None:
            entry["ticket_id"] = ticket_id
        if record.exc_info:
            entry["exc"] = mask_number(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


def setup(level: str, log_file: Path | None = None, *, fmt: str = "text") -> None:
    if fmt not in ("text", "json"):
        raise ValueError(f"log format must be 'text' or 'json', not {fmt!r}")
    root = logging.getLogger()
    root.setLevel(level.upper())
    for h in list(root.handlers):
        root.removeHandler(h)
    formatter: logging.Formatter = JsonFormatter() if fmt == "json" else logging.Formatter(
        "%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s")
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_file, encoding="utf-8"))
    for h in handlers:
        h.setFormatter(formatter)
        h.addFilter(MaskNumbers())
        h.addFilter(CallContext())
        root.addHandler(h)
