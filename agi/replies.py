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

from agi.errors import AgiBadRequest, AgiHangup, AgiInvalidCommand, AgiUnexpectedReply, AgiUsageError
from agi.request import MAX_HEADER_LINE_CHARS, MAX_HEADER_LINES

# Bounds on one reply, so that a broken or hostile peer cannot grow a call process without limit.
# GET FULL VARIABLE can legitimately return long values; usage blocks are a few dozen lines.
MAX_REPLY_LINE_CHARS = 1024 * 1024
MAX_USAGE_LINES = 1000

# ``result=X``, then an optional ``(value)`` (values may contain parentheses and spaces), then
# ``key=value`` extras such as ``endpos=52160``. Parsed by _split_result in linear time: the one-regex
# form of this grammar backtracks quadratically on lines like ``(`` + ``) k=v`` * 10_000.
_RESULT_HEAD_RE = re.compile(r"result=(\S*)")
_TOKEN_RE = re.compile(r"\S+")
_EXTRA_TOKEN_RE = re.compile(r"[\w-]+=\S*")
_INT_RE = re.compile(r"-?[0-9]+")
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
        return _ascii_int(self.result)

    @property
    def digit(self) -> str:
        """The DTMF digit encoded in ``result`` (ASCII code), or '' for 0 / negative / non-numeric."""
        n = self.result_int
        return chr(n) if n is not None and 0 < n < 0x110000 else ""

    @property
    def endpos(self) -> int | None:
        raw = self.extras.get("endpos")
        return None if raw is None else _ascii_int(raw)


def _ascii_int(text: str) -> int | None:
    # Only what Asterisk writes: int() alone also takes '٣', ' 1_0 ', and isdigit() takes '²' int() refuses.
    if not _INT_RE.fullmatch(text):
        return None
    try:
        return int(text)
    except ValueError:  # over Python's 4300-digit limit
        return None


def reply_lines(readline: Callable[[], str]) -> list[str]:
    """Read one complete reply: a single line, or a ``520-`` block through its ``520 `` end line.

    Lines are returned without their line ending. EOF (``readline()`` returning '') raises
    AgiHangup, because FastAGI connections only close when the call is over. A line longer than
    MAX_REPLY_LINE_CHARS or a usage block longer than MAX_USAGE_LINES raises AgiUnexpectedReply
    (pass a bounded ``readline``, e.g. ``lambda: f.readline(MAX_REPLY_LINE_CHARS + 2)``, so that
    the long line is never held whole).
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
        if len(lines) > MAX_USAGE_LINES:
            raise AgiUnexpectedReply(f"520 usage block longer than {MAX_USAGE_LINES} lines")


def _next_line(readline: Callable[[], str]) -> str:
    while True:
        raw = readline()
        if raw == "":
            raise AgiHangup("EOF from Asterisk")
        line = raw.rstrip("\r\n")
        if len(line) > MAX_REPLY_LINE_CHARS:
            raise AgiUnexpectedReply(f"AGI reply line longer than {MAX_REPLY_LINE_CHARS} characters")
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
    if not (code_text.isascii() and code_text.isdigit()):  # '⓵'.isdigit() is True too
        raise AgiUnexpectedReply(f"unexpected AGI reply: {first[:200]!r}")
    code = int(code_text)
    if code == 511:
        raise AgiHangup(first)
    if code == 510:
        raise AgiInvalidCommand(first)
    if code == 520:
        raise AgiUsageError("\n".join(line.rstrip("\r\n") for line in lines))
    if code != 200:
        raise AgiUnexpectedReply(f"unexpected AGI reply: {first[:200]!r}")
    parts = _split_result(rest.strip())
    if parts is None:
        raise AgiUnexpectedReply(f"unparseable AGI 200 reply: {first[:200]!r}")
    result, value, extras_text = parts
    return AgiReply(code=code, result=result, value=value, extras=dict(_EXTRA_RE.findall(extras_text)))


def _split_result(text: str) -> tuple[str, str, str] | None:
    """``result=R[ (value)][ key=value ...]`` -> (R, value, extras text), or None if it is not that.

    The value runs from the ``(`` opening the first word to the last ``)`` that ends a word and is
    followed only by ``key=value`` words (greedy, as ``\\((.*)\\)`` would be); it never spans a
    newline. Every step looks at each word once.
    """
    head = _RESULT_HEAD_RE.match(text)
    if head is None:
        return None
    result, rest = head.group(1), text[head.end() :]
    words = [(m.start(), m.end()) for m in _TOKEN_RE.finditer(rest)]
    # Index of the first word from which every word to the end is a key=value extra.
    first_extra = len(words)
    while first_extra > 0 and _EXTRA_TOKEN_RE.fullmatch(rest, *words[first_extra - 1]):
        first_extra -= 1
    if words and rest[words[0][0]] == "(":
        opening = words[0][0]
        newline = rest.find("\n", opening)
        for j in range(len(words) - 1, max(first_extra - 1, 0) - 1, -1):
            closing = words[j][1] - 1
            if rest[closing] == ")" and closing > opening and (newline < 0 or closing < newline):
                return result, rest[opening + 1 : closing], rest[closing + 1 :]
    if first_extra == 0:
        return result, "", rest
    return None


def read_env(readline: Callable[[], str]) -> dict[str, str]:
    """Read the ``agi_*: value`` header Asterisk sends first, up to its terminating blank line.

    Values keep everything after the first ``:`` (``agi_request: agi://host:4573/intake`` has more).
    EOF before the blank line raises AgiHangup: the call ended before the script started. More than
    MAX_HEADER_LINES lines, or one longer than MAX_HEADER_LINE_CHARS, raise AgiBadRequest (pass a
    bounded ``readline`` so that a huge line is cut off rather than read whole).
    """
    env: dict[str, str] = {}
    for _ in range(MAX_HEADER_LINES + 1):
        raw = readline()
        if raw == "":
            raise AgiHangup("EOF while reading the AGI environment")
        line = raw.rstrip("\r\n")
        if len(line) > MAX_HEADER_LINE_CHARS:
            raise AgiBadRequest(f"AGI header line longer than {MAX_HEADER_LINE_CHARS} characters")
        if not line.strip():
            return env
        key, sep, value = line.partition(":")
        if sep and key.strip():
            env[key.strip()] = value.strip()
    raise AgiBadRequest(f"AGI header has more than {MAX_HEADER_LINES} lines")
