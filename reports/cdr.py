"""Asterisk's own call records (cdr_csv's Master.csv) → call_records, and the answer rate from them.

Import is idempotent twice over: a cursor remembers how many bytes of whole lines were read, and each
row's SHA-256 is a UNIQUE key, so re-reading a file (rotated, cursor lost, two importers) never counts
a call twice. A line still being written (no newline yet) is left for the next run.

What counts (definitions used by the 接通率 indicator):
- A *call* is the set of CDR rows sharing a `linkedid` (Asterisk's id of the whole call: the caller's
  leg, dial attempts, the operator's leg).
- It is *offered* to the hotline when one of its rows is the inbound leg: `dcontext` is an intake
  context (`ivr` in asterisk-conf/extensions.conf). Outbound callback calls are not offered calls.
- It is *answered* (接通) when the inbound leg was answered and either a person took it (a row of the
  inbound leg bridged to another channel: `dstchannel` set, disposition ANSWERED: an operator or an
  emergency line) or the bot served it to the end without handing it over (the dialplan's
  `CDR(userfield)` is still `intake`). A call handed to the operator queue (userfield `operator`) or to an
  emergency line that no person answered is *abandoned*: the caller hung up in the queue or it timed out.
"""

from __future__ import annotations

import csv
import hashlib
import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from foundation.asterisk_layout import AsteriskLayout
from foundation.settings import Settings
from reports.models import CallRecord, CdrCursor

log = logging.getLogger(__name__)

# cdr_csv's column order with loguniqueid, loguserfield and newcdrcolumns (asterisk-conf/cdr.conf).
COLUMNS = (
    "accountcode", "src", "dst", "dcontext", "clid", "channel", "dstchannel", "lastapp", "lastdata", "start",
    "answer", "end", "duration", "billsec", "disposition", "amaflags", "uniqueid", "userfield", "peeraccount",
    "linkedid", "sequence",
)
INTAKE_CONTEXTS = frozenset({"ivr"})
BOT_ONLY_MARK = "intake"  # CDR(userfield) while the bot has the call (extensions.conf [ivr])


class CdrFormatError(ValueError):
    pass


@dataclass
class ImportResult:
    path: str
    lines: int = 0
    inserted: int = 0
    duplicates: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)  # (byte offset of the line, why)

    def summary(self) -> str:
        return (f"cdr import {self.path}: lines={self.lines} inserted={self.inserted} "
                f"duplicates={self.duplicates} rejected={len(self.rejected)}")


def cdr_file(settings: Settings) -> Path:
    return AsteriskLayout(settings.asterisk_dir).log / "cdr-csv" / "Master.csv"


def _time(text: str) -> datetime | None:
    text = text.strip()
    if not text:
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)  # usegmtime = yes
    except ValueError:
        raise CdrFormatError(f"bad time {text!r}") from None


def _int(text: str, name: str) -> int:
    try:
        return int(text or 0)
    except ValueError:
        raise CdrFormatError(f"bad {name} {text!r}") from None


def parse_row(fields: Sequence[str], raw: str) -> CallRecord:
    if len(fields) != len(COLUMNS):
        raise CdrFormatError(f"expected {len(COLUMNS)} columns (cdr.conf: loguniqueid, loguserfield, "
                             f"newcdrcolumns), got {len(fields)}")
    row = dict(zip(COLUMNS, fields, strict=True))
    start = _time(row["start"])
    if start is None:
        raise CdrFormatError("no start time")
    return CallRecord(
        record_key=hashlib.sha256(raw.encode()).hexdigest(),
        uniqueid=row["uniqueid"][:64], linkedid=(row["linkedid"] or row["uniqueid"])[:64],
        sequence=_int(row["sequence"], "sequence"), src=row["src"][:64], dst=row["dst"][:64],
        dcontext=row["dcontext"][:64], channel=row["channel"][:128], dstchannel=row["dstchannel"][:128],
        lastapp=row["lastapp"][:64], start=start, answer=_time(row["answer"]), end=_time(row["end"]),
        duration=_int(row["duration"], "duration"), billsec=_int(row["billsec"], "billsec"),
        disposition=row["disposition"][:16], userfield=row["userfield"][:128],
    )


def import_file(session: Session, *, path: Path, batch: int = 500) -> ImportResult:
    """Import the lines of `path` added since the last run. The caller owns the transaction."""
    result = ImportResult(str(path))
    if not path.exists():
        return result
    key = str(path.resolve())
    cursor = session.scalars(select(CdrCursor).where(CdrCursor.path == key).with_for_update()).one_or_none()
    if cursor is None:
        cursor = CdrCursor(path=key, offset=0)
        session.add(cursor)
        session.flush()
    size = path.stat().st_size
    if size < cursor.offset:
        log.warning("CDR file %s shrank (%d < %d bytes): rotated, reading it again", path, size, cursor.offset)
        cursor.offset = 0
    pending: list[CallRecord] = []
    with path.open("rb") as f:
        f.seek(cursor.offset)
        offset = cursor.offset
        for line in f:
            if not line.endswith(b"\n"):
                break  # Asterisk is still writing it
            start_of_line, offset = offset, offset + len(line)
            raw = line.decode("utf-8", errors="replace").rstrip("\r\n")
            if not raw.strip():
                continue
            result.lines += 1
            try:
                pending.append(parse_row(next(csv.reader([raw])), raw))
            except (CdrFormatError, csv.Error) as e:
                log.error("CDR %s at byte %d rejected: %s", path, start_of_line, e)
                result.rejected.append((start_of_line, str(e)))
            if len(pending) >= batch:
                _insert(session, pending, result)
                pending = []
    _insert(session, pending, result)
    cursor.offset = offset
    return result


def _insert(session: Session, records: list[CallRecord], result: ImportResult) -> None:
    if not records:
        return
    keys = {r.record_key for r in records}
    known = set(session.scalars(select(CallRecord.record_key).where(CallRecord.record_key.in_(keys))))
    for r in records:
        if r.record_key in known:
            result.duplicates += 1
            continue
        known.add(r.record_key)
        session.add(r)
        result.inserted += 1
    session.flush()


@dataclass(frozen=True)
class CallOutcomeCount:
    offered: int
    answered: int
    by_bot: int  # answered and served by the bot alone
    by_person: int  # answered by an operator or an emergency line
    abandoned: int  # offered and not answered


def classify_call(rows: Iterable[CallRecord], intake_contexts: frozenset[str] = INTAKE_CONTEXTS) -> str | None:
    """'person', 'bot', 'abandoned', or None when the call was not offered to the hotline (see module doc)."""
    legs = [r for r in rows if r.dcontext in intake_contexts]
    if not legs:
        return None
    if any(r.disposition == "ANSWERED" and r.dstchannel for r in legs):
        return "person"
    answered = any(r.disposition == "ANSWERED" for r in legs)
    handed_over = any(r.userfield and r.userfield != BOT_ONLY_MARK for r in legs)
    return "bot" if answered and not handed_over else "abandoned"


def count_calls(session: Session, *, start: datetime, end: datetime,
                intake_contexts: frozenset[str] = INTAKE_CONTEXTS) -> CallOutcomeCount:
    """Calls whose first row started in [start, end), classified by `classify_call`."""
    # A call belongs to the period its intake leg started in (the legs of one call start within seconds).
    ids = select(CallRecord.linkedid).where(CallRecord.dcontext.in_(intake_contexts),
                                            CallRecord.start >= start, CallRecord.start < end)
    rows: dict[str, list[CallRecord]] = defaultdict(list)
    for r in session.scalars(select(CallRecord).where(CallRecord.linkedid.in_(ids))):
        rows[r.linkedid].append(r)
    counts = {"person": 0, "bot": 0, "abandoned": 0}
    for call_rows in rows.values():
        kind = classify_call(call_rows, intake_contexts)
        if kind is not None:
            counts[kind] += 1
    offered = sum(counts.values())
    return CallOutcomeCount(offered=offered, answered=counts["person"] + counts["bot"], by_bot=counts["bot"],
                            by_person=counts["person"], abandoned=counts["abandoned"])


def calls_by_bucket(session: Session, *, buckets: Sequence[tuple[str, datetime, datetime]],
                    intake_contexts: frozenset[str] = INTAKE_CONTEXTS) -> list[CallOutcomeCount]:
    return [count_calls(session, start=s, end=e, intake_contexts=intake_contexts) for _, s, e in buckets]
