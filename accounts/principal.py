"""The identity a request acts as, independent of how it was authenticated."""

from __future__ import annotations

from dataclasses import dataclass, field

from accounts.roles import Role

CENTER_ROLES = frozenset({Role.OPERATOR, Role.DISPATCHER, Role.ADMIN, Role.SYSTEM})


@dataclass(frozen=True)
class Principal:
    user_id: int | None
    username: str
    role: Role | None  # None: anonymous read-only viewer (see Settings.anonymous_reads)
    department: str | None = None  # the unit a department user belongs to
    # Units whose tickets this principal may see and act on (its own unit and those below it).
    units: frozenset[str] = field(default_factory=frozenset)

    @property
    def is_center(self) -> bool:
        return self.role in CENTER_ROLES

    @property
    def sees_full_numbers(self) -> bool:
        return self.is_center

    @property
    def anonymous(self) -> bool:
        return self.role is None

    @property
    def actor(self) -> str:
        """How the ticket event log names this principal."""
        if self.role is None:
            return "anonymous"
        return f"{self.role}:{self.username}"


ANONYMOUS = Principal(user_id=None, username="anonymous", role=None)
