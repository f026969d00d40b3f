"""Tables of the reports domain: Asterisk's call records, the CDR import cursor and surge alerts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from foundation.db import Base, UtcDateTime, utcnow


class CallRecord(Base):
    """One Asterisk CDR row, as cdr_csv wrote it (times in UTC). A call may have several rows (one per
    leg or dial attempt); `linkedid` ties them together. `record_key` (SHA-256 of the raw row) makes
    the import idempotent: the same line imported twice is one record."""

    __tablename__ = "call_records"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    record_key: Mapped[str] = mapped_column(String(64), unique=True)
    uniqueid: Mapped[str] = mapped_column(String(64), default="", index=True)
    linkedid: Mapped[str] = mapped_column(String(64), default="", index=True)
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    src: Mapped[str] = mapped_column(String(64), default="")
    dst: Mapped[str] = mapped_column(String(64), default="")
    dcontext: Mapped[str] = mapped_column(String(64), default="")
    channel: Mapped[str] = mapped_column(String(128), default="")
    dstchannel: Mapped[str] = mapped_column(String(128), default="")
    lastapp: Mapped[str] = mapped_column(String(64), default="")
    start: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    answer: Mapped[datetime | None] = mapped_column(UtcDateTime())
    end: Mapped[datetime | None] = mapped_column(UtcDateTime())
    duration: Mapped[int] = mapped_column(Integer, default=0)
    billsec: Mapped[int] = mapped_column(Integer, default=0)
    disposition: Mapped[str] = mapped_column(String(16), default="")
    userfield: Mapped[str] = mapped_column(String(128), default="")
    imported_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class CdrCursor(Base):
    """How far a CDR file has been imported (bytes of whole lines), so each sweep reads only new lines.
    A file that shrank (rotated) is read again from the start; record_key keeps that harmless."""

    __tablename__ = "cdr_cursors"

    path: Mapped[str] = mapped_column(String(512), primary_key=True)
    offset: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)


class Alert(Base):
    """A raised early-warning alert. `key` is UNIQUE: two sweepers racing on the same surge insert one
    row and only the winner notifies. A surge that continues updates `last_seen_at` and `count`."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(32), default="surge")
    topic: Mapped[str] = mapped_column(String(64), default="")
    district: Mapped[str] = mapped_column(String(64), default="")
    count: Mapped[int] = mapped_column(Integer, default=0)
    baseline: Mapped[float] = mapped_column(default=0.0)
    first_seen_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, index=True)
    notified_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    message: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
