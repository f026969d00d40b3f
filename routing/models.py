"""Tables of the routing domain: people's routing decisions, written by the operator console."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from foundation.db import Base, UtcDateTime, utcnow


class RoutingCorrection(Base):
    """Router training data: what the router proposed and what the operator confirmed.

    Written on every confirmation from the console (``changed`` tells corrections from agreements), so
    `hotline router train --from-tickets` can learn from both. ``text`` is the transcript as corrected."""

    __tablename__ = "routing_corrections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text, default="")
    original_text: Mapped[str] = mapped_column(Text, default="")
    original_type: Mapped[str] = mapped_column(String(8), default="")
    type: Mapped[str] = mapped_column(String(8), default="")
    original_category: Mapped[str] = mapped_column(String(32), default="")
    category: Mapped[str] = mapped_column(String(32), default="")
    original_department_id: Mapped[str] = mapped_column(String(64), default="")
    department_id: Mapped[str] = mapped_column(String(64), default="")
    router_source: Mapped[str] = mapped_column(String(16), default="")
    changed: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
