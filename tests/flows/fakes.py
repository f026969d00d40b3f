"""TEST DOUBLES for flow unit tests: a fake AGI channel that "records" by writing real audio files,
and a prompt store that only names prompts. The real AGI path is tested in tests/e2e."""

from __future__ import annotations

import wave
from dataclasses import dataclass, field
from pathlib import Path

from agi.errors import AgiHangup


@dataclass
class FakeRecord:
    digit: str
    reason: str


@dataclass
class Step:
    """What the fake caller does during one listening turn."""

    audio: bytes = b""  # 8 kHz s16le written to the recording file
    digit: str = ""  # pressed during the recording (ends it)
    hangup: bool = False  # hangs up during the recording (after writing the audio)


def write_wav(path: Path, pcm: bytes) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(pcm)


@dataclass
class FakeChannel:
    """Plays nothing, records by writing the scripted audio, remembers everything it was asked."""

    steps: list[Step]
    press_during_prompt: dict[str, str] = field(default_factory=dict)  # prompt → digit
    hangup_on_prompt: str = ""
    played: list[str] = field(default_factory=list)
    recorded: list[str] = field(default_factory=list)
    vars: dict[str, str] = field(default_factory=dict)

    def play(self, path: str, escape_digits: str = "") -> str:
        self.played.append(path)
        if self.hangup_on_prompt and self.hangup_on_prompt in path:
            raise AgiHangup("HANGUP")
        digit = self.press_during_prompt.get(path, "")
        return digit if digit and digit in escape_digits else ""

    def record(self, path: str, fmt: str = "wav", escape_digits: str = "0", *, timeout_ms: int,
               silence_s: int, beep: bool = False) -> FakeRecord:
        self.recorded.append(path)
        step = self.steps.pop(0) if self.steps else Step(audio=b"\x00\x00" * 8000 * 2)
        write_wav(Path(f"{path}.{fmt}"), step.audio)
        if step.hangup:
            return FakeRecord("", "hangup")
        if step.digit:
            return FakeRecord(step.digit, "dtmf")
        return FakeRecord("", "silence")

    def set_var(self, name: str, value: str) -> None:
        self.vars[name] = value


class NamedPrompts:
    """Prompt store double: a prompt's 'path' is its key or text, so tests can read the dialogue."""

    def path(self, key: str) -> str:
        return f"prompt:{key}"

    def text_path(self, text: str) -> str:
        return f"text:{text}"

    def text(self, key: str) -> str:
        return f"<{key}>"


@dataclass
class QueueLeg(FakeChannel):
    """The same channel after Queue() returned: the dialplan variables are readable."""

    def get_var(self, name: str) -> str | None:
        return self.vars.get(name)
