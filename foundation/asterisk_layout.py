"""Where the local Asterisk's files live under its root: rendered config, run and log folders, spool.

The composition root renders the config into it; reports read its CDR log; simulated callers put
their audio in it. Paths only, no behaviour."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class AsteriskLayout:
    root: Path

    @property
    def etc(self) -> Path:
        return self.root / "etc"

    @property
    def conf_file(self) -> Path:
        return self.etc / "asterisk.conf"

    @property
    def var(self) -> Path:
        return self.root / "var"

    @property
    def run(self) -> Path:
        return self.root / "run"

    @property
    def log(self) -> Path:
        return self.root / "log"

    @property
    def spool(self) -> Path:
        return self.root / "spool"

    @property
    def sim_silence(self) -> Path:
        """Silence a simulated caller plays when out of steps (path without extension)."""
        return self.var / "sim" / "silence"
