"""Tables of the accounts domain."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from foundation.db import Base, UtcDateTime, utcnow


class Unit(Base):
    """A dispatch target: department, district, street, community or grid worker (网格员).

    `path` is the chain of codes from the root ("/longhua/longhua.jinmao/"), so a subtree is one
    prefix match."""

    __tablename__ = "units"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("units.code"), index=True)
    path: Mapped[str] = mapped_column(String(512), index=True)
    phone: Mapped[str] = mapped_column(String(32), default="")


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64), default="")
    role: Mapped[str] = mapped_column(String(16))
    department: Mapped[str | None] = mapped_column(ForeignKey("units.code"), index=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class ApiToken(Base):
    """Bearer tokens, stored as SHA-256 digests: a copied database does not hand out logins."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class ReadAudit(Base):
    """One row per request that showed a caller's personal data (number, transcript, recording)."""

    __tablename__ = "read_audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(Integer, index=True)
    actor: Mapped[str] = mapped_column(String(96))
    what: Mapped[str] = mapped_column(String(64))
    ticket_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)
    via: Mapped[str] = mapped_column(Text, default="")


class ReadAuditTicket(Base):
    """Which tickets one read_audit row covers, indexed, so "who saw this caller's data" is a query
    over every row ever written, however old (read_audit.ticket_ids keeps the list as shown)."""

    __tablename__ = "read_audit_tickets"

    audit_id: Mapped[int] = mapped_column(ForeignKey("read_audit.id"), primary_key=True)
    ticket_id: Mapped[int] = mapped_column(Integer, primary_key=True, index=True)
