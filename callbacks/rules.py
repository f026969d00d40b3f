"""The callback rules in force, read once from Settings: calling hours, delay, attempts, backoff, lease."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from callbacks.hours import CallingHours
from deadlines.policy import Policy
from foundation.errors import InvalidInput
from foundation.settings import Settings
from routing.catalog import Catalog, load_catalog


class InvalidCallbackSetting(InvalidInput):
    error_id = "callbacks.invalid_setting"


def _backoff(spec: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in spec.split(",") if v.strip())
    except ValueError:
        raise InvalidCallbackSetting(f"callback_backoff_s {spec!r}: expected seconds like '1800,7200'") from None
    if not values or any(v < 0 for v in values):
        raise InvalidCallbackSetting(f"callback_backoff_s {spec!r}: at least one non-negative number of seconds")
    return values


@dataclass(frozen=True)
class CallbackRules:
    hours: CallingHours
    delay: timedelta
    max_attempts: int
    backoff_s: tuple[int, ...]
    lease: timedelta
    # Attempts our side spoiled (the dialer died, or the citizen picked up while the AGI server or the
    # database was down) do not use up the citizen's attempts; this many of them are allowed on top.
    max_system_faults: int = 3

    @classmethod
    def from_settings(cls, settings: Settings) -> CallbackRules:
        if not 1 <= settings.callback_max_attempts <= 10:
            raise InvalidCallbackSetting("callback_max_attempts must be from 1 to 10")
        if not 0 <= settings.callback_max_system_faults <= 10:
            raise InvalidCallbackSetting("callback_max_system_faults must be from 0 to 10")
        if settings.callback_lease_s < 5:
            raise InvalidCallbackSetting("callback_lease_s must be at least 5 seconds")
        return cls(hours=CallingHours.from_settings(settings), delay=timedelta(seconds=settings.callback_delay_s),
                   max_attempts=settings.callback_max_attempts, backoff_s=_backoff(settings.callback_backoff_s),
                   lease=timedelta(seconds=settings.callback_lease_s),
                   max_system_faults=settings.callback_max_system_faults)

    def backoff_after(self, attempts: int) -> timedelta:
        """Wait after the `attempts`-th failed attempt (1-based); the last configured value repeats."""
        return timedelta(seconds=self.backoff_s[min(attempts, len(self.backoff_s)) - 1])

    @property
    def fault_backoff(self) -> timedelta:
        """Wait after an attempt our side spoiled: the longest one, so an outage is over before we ring again."""
        return timedelta(seconds=max(self.backoff_s))


@dataclass(frozen=True)
class WorkflowDeps:
    """What tickets.workflow.apply_action needs besides the session."""

    policy: Policy
    catalog: Catalog

    @classmethod
    def load(cls, policy_path: Path | None = None) -> WorkflowDeps:
        return cls(Policy.load(policy_path), load_catalog())
