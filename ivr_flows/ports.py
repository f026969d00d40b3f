"""What the flows need from the outside world, as protocols (the AGI channel, ASR, prompts, router)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from asr.engine import AsrEngine
from foundation.settings import Settings


class RecordOutcome(Protocol):
    digit: str
    reason: str  # 'silence' | 'timeout' | 'dtmf' | 'hangup' | ...


class Channel(Protocol):
    def play(self, path: str, escape_digits: str = "") -> str: ...

    def record(self, path: str, fmt: str = "wav", escape_digits: str = "0", *, timeout_ms: int,
               silence_s: int, beep: bool = False) -> RecordOutcome: ...

    def set_var(self, name: str, value: str) -> None: ...


class Prompts(Protocol):
    def path(self, key: str) -> str: ...

    def text_path(self, text: str) -> str: ...

    def text(self, key: str) -> str:
        """The catalog's words for `key` (to say them within a sentence rendered for the call)."""
        ...


class DepartmentScoreLike(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def confidence(self) -> float: ...


class ClassificationLike(Protocol):
    """Read-only view of routing.classify.Classification (a frozen dataclass)."""

    @property
    def type(self) -> str: ...

    @property
    def category(self) -> str: ...

    @property
    def departments(self) -> Sequence[DepartmentScoreLike]: ...

    @property
    def place(self) -> str | None: ...

    @property
    def summary(self) -> str: ...

    @property
    def emergency(self) -> str | None: ...

    @property
    def source(self) -> str: ...


class Router(Protocol):
    def classify(self, text: str, *, dialed_number: str | None = None) -> ClassificationLike: ...


@dataclass(frozen=True)
class CallServices:
    """Everything a call flow uses, built once per process by the composition root."""

    settings: Settings
    session_factory: sessionmaker[Session]
    prompts: Prompts
    asr: AsrEngine
    router: Router
