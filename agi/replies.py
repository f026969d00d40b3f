"""AGI reply parsing as pure functions (no I/O beyond the ``readline`` you pass in).

Reply shapes seen from Asterisk (res_agi.c)::

    200 result=0 (timeout) endpos=52160     RECORD FILE ended (timeout *or* silence)
    200 result=48 (dtmf) endpos=8000        a digit, as its ASCII code
    200 result=1 (some value with spaces)   GET VARIABLE
    200 result=-1 endpos=0                  STREAM FILE could not open the file: not a hangup
    HANGUP                                  sent on its own once the caller has gone
    510 Invalid or unknown command
    511 Command Not Permitted on a dead channel[ or intercepted channel]
    520-Invalid command syntax.  Proper usage follows:
    ...usage lines...
    520 End of proper usage.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from agi.errors import AgiHangup, AgiInvalidCommand, AgiUnexpectedReply, AgiUsageError

# ``result=X``, then an optional ``(value)`` (greedy, so values may contain parentheses), then
# ``key=value`` extras such as ``endpos=52160``.
_RESULT_RE = re.compile(
    r"^result=(?P<result>\S*)"
    r"(?:\s+\((?P<value>.*)\))?"
    r"(?P<extras>(?:\s+[\w-]+=\S*)*)\s*$"
)
_EXTRA_RE = re.compile(r"([\w-]+)=(\S*)")


@dataclass(frozen=True)
class AgiReply:
    """One successful (``200``) AGI reply."""

    code: int
    result: str
    value: str = ""
    extras: dict[str, str] = field(default_factory=dict)

    @property
    def result_int(self) -> int | None:
        """``result`` as an int, or None if it is not numeric (GET DATA returns digit strings)."""
        try:
            return int(self.result)
        except ValueError:
            return None

    @property
    def digit(self) -> str:
        """The DTMF digit encoded in ``result`` (ASCII code), or '' for 0 / negative / non-numeric."""
        n = self.result_int
        return chr(n) if n is not None and 0 < n < 0x110000 else ""

    @property
    def endpos(self) -> int | None:
        raw = self.extras.get("endpos")
        return int(raw) if raw is not None and raw.lstrip("-").isdigit() else None


def reply_lines(readline: Callable[[], str]) -> list[str]:
    """Read one complete reply: a single line, or a ``520-`` block through its ``520 `` end line.

    Lines are returned without their line ending. EOF (``readline()`` returning '') raises
    AgiHangup, because FastAGI connections only close when the call is over.
    """
    first = _next_line(readline)
    if not first.startswith("520-"):
        return [first]
    lines = [first]
    while True:
        line = _next_line(readline)
        lines.append(line)
        if line.startswith("520 "):
            return lines


def _next_line(readline: Callable[[], str]) -> str:
    while True:
        raw = readline()
        if raw == "":
            raise AgiHangup("EOF from Asterisk")
        line = raw.rstrip("\r\n")
        if line.strip():
            return line
        # A stray blank line carries nothing; skip it rather than mis-parse it.


def parse_reply(lines: Sequence[str]) -> AgiReply:
    """Turn the lines of one reply into an AgiReply, or raise the matching typed error."""
    if not lines or not lines[0].strip():
        raise AgiHangup("EOF from Asterisk")
    first = lines[0].strip()
    if first.upper() == "HANGUP":
        raise AgiHangup("HANGUP from Asterisk")
    code_text, _, rest = first.partition(" ")
    code_text = code_text.split("-", 1)[0]
    if not code_text.isdigit():
        raise AgiUnexpectedReply(f"unexpected AGI reply: {first!r}")
    code = int(code_text)
    if code == 511:
        raise AgiHangup(first)
    if code == 510:
        raise AgiInvalidCommand(first)
    if code == 520:
        raise AgiUsageError("\n".join(line.rstrip("\r\n") for line in lines))
    if code != 200:
        raise AgiUnexpectedReply(f"unexpected AGI reply: {first!r}")
    m = _RESULT_RE.match(rest.strip())
    if m is None:
        raise AgiUnexpectedReply(f"unparseable AGI 200 reply: {first!r}")
    extras = dict(_EXTRA_RE.findall(m.group("extras") or ""))
    return AgiReply(code=code, result=m.group("result"), value=m.group("value") or "", extras=extras)


def read_env(readline: Callable[[], str]) -> dict[str, str]:
    """Read the ``agi_*: value`` header Asterisk sends first, up to its terminating blank line.

    Values keep everything after the first ``:`` (``agi_request: agi://host:4573/intake`` has more).
    EOF before the blank line raises AgiHangup: the call ended before the script started.
    """
    env: dict[str, str] = {}
    while True:
        raw = readline()
        if raw == "":
            raise AgiHangup("EOF while reading the AGI environment")
        line = raw.rstrip("\r\n")
        if not line.strip():
            return env
        key, sep, value = line.partition(":")
        if sep and key.strip():
            env[key.strip()] = value.strip()
