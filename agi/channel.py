"""HotlineAGI: pyst2's AGI command layer, with its Python 3 / FastAGI defects fixed in one place.

What differs from ``asterisk.agi.AGI`` (pyst2 0.5.1):

* no SIGHUP handler (pyst2 installs one in ``__init__``, which raises outside the main thread)
  and nothing written to stderr: the protocol is logged at DEBUG, phone numbers masked;
* it talks over any pair of text streams, e.g. ``sock.makefile('r'/'w')`` for FastAGI;
* replies go through :mod:`agi.replies`, so a ``HANGUP`` line, EOF or ``511`` raise
  :class:`~agi.errors.AgiHangup` from every command (pyst2 raised ``ValueError`` or nothing);
* quoted arguments escape ``\\`` and ``"`` (pyst2 sent them raw, splitting the argument).

pyst2's command methods (``stream_file``, ``get_variable``, ``set_variable``, ``hangup``,
``verbose``, ``say_digits``, ``wait_for_digit``, ``get_data``, ``appexec`` ...) keep their
behaviour, including raising on ``result=-1``. New code should prefer the typed helpers
``play``, ``record``, ``get_var``, ``set_var`` and ``exec_app``, built on :meth:`command`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, TextIO

from asterisk.agi import AGI, AGIDBError

from agi.errors import AgiCommandFailed, AgiHangup
from agi.replies import MAX_REPLY_LINE_CHARS, AgiReply, parse_reply, read_env, reply_lines
from agi.request import MAX_HEADER_LINE_CHARS
from foundation.masking import mask_number

log = logging.getLogger(__name__)

RecordReason = Literal["dtmf", "silence", "timeout", "hangup", "error"]

# Asterisk reports both "max time reached" and "silence detected" as ``(timeout)``; a recording
# that returns this much earlier than its time limit must have stopped on silence.
_TIMEOUT_SLACK_S = 0.25

PystResult = dict[str, tuple[str, str]]


@dataclass(frozen=True)
class RecordResult:
    """Outcome of :meth:`HotlineAGI.record`.

    ``endpos`` is the length written, in samples (8000/s for ``wav``). ``reason`` is ``hangup``
    when the caller hung up mid-recording: the file up to ``endpos`` is kept and the next
    command raises AgiHangup.
    """

    digit: str
    endpos: int
    reason: RecordReason
    elapsed_s: float


def quote(value: object) -> str:
    """Quote one AGI argument so res_agi's parser reads it back verbatim.

    res_agi honours backslash escapes inside quotes; a newline would end the command line,
    so it becomes a space.
    """
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    text = text.replace("\r\n", " ").replace("\r", " ").replace("\n", " ")
    return f'"{text}"'


def _pyst_result(reply: AgiReply) -> PystResult:
    """The dict shape pyst2's command methods expect from ``execute``."""
    result: PystResult = {"result": (reply.result, reply.value)}
    result.update({key: (value, "") for key, value in reply.extras.items()})
    return result


class HotlineAGI(AGI):
    """One AGI session over a pair of text streams (FastAGI socket files, or stdin/stdout)."""

    def __init__(
        self,
        reader: TextIO,
        writer: TextIO,
        *,
        read_env_header: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        # AGI.__init__ is deliberately not called: it installs a SIGHUP handler and writes to stderr.
        self.stdin = reader
        self.stdout = writer
        self._got_sighup = False
        self._clock = clock
        self.env: dict[str, str] = {}
        if read_env_header:
            self._get_agi_env()

    # -- transport (overrides of pyst2) -------------------------------------------------------

    def _get_agi_env(self) -> None:
        self.env = read_env(lambda: self._readline(MAX_HEADER_LINE_CHARS + 2))
        log.debug(
            "AGI env: channel=%s uniqueid=%s callerid=%s request=%s",
            self.env.get("agi_channel", ""),
            self.env.get("agi_uniqueid", ""),
            mask_number(self.env.get("agi_callerid", "")),
            mask_number(self.env.get("agi_request", "")),
        )

    def _readline(self, limit: int = MAX_REPLY_LINE_CHARS + 2) -> str:
        # Bounded: a peer that never sends a newline costs at most `limit` characters (room for \r\n).
        try:
            line: str = self.stdin.readline(limit)
        except ConnectionError as exc:
            raise AgiHangup(f"connection lost: {exc}") from exc
        return line

    def send_command(self, command: str, *args: object) -> None:
        line = " ".join([command.strip(), *(str(a) for a in args)]).strip()
        if "\n" in line or "\r" in line:
            raise ValueError("AGI command must be a single line (quote arguments with quote())")
        log.debug("AGI >> %s", mask_number(line))
        try:
            self.stdout.write(line + "\n")
            self.stdout.flush()
        except ConnectionError as exc:
            raise AgiHangup(f"connection lost: {exc}") from exc

    def command(self, command: str, *args: object) -> AgiReply:
        """Send one command and return its parsed ``200`` reply; ``result=-1`` is returned, not raised.

        Raises AgiHangup (HANGUP / EOF / 511), AgiInvalidCommand (510), AgiUsageError (520).
        """
        self.send_command(command, *args)
        lines = reply_lines(self._readline)
        log.debug("AGI << %s", mask_number(" | ".join(lines)))
        return parse_reply(lines)

    def get_result(self, stdin: object = None) -> PystResult:
        return _pyst_result(parse_reply(reply_lines(self._readline)))

    def execute(self, command: str, *args: object) -> PystResult:
        """pyst2-compatible: the reply as pyst2's dict, raising where pyst2 raised."""
        reply = self.command(command, *args)
        if reply.value == "hangup":
            raise AgiHangup(f"{command}: caller hung up")
        if reply.result == "-1":
            raise AgiCommandFailed(f"{command} failed (result=-1)", reply)
        return _pyst_result(reply)

    def _quote(self, string: object) -> str:
        return quote(string)

    # -- pyst2 methods that are wrong on top of a correct _quote / execute ---------------------

    def record_file(
        self,
        filename: str,
        format: str = "gsm",
        escape_digits: str = "#",
        timeout: int = 20000,
        offset: int = 0,
        beep: str = "beep",
        silence: int = 0,
    ) -> str:
        # pyst2 returns chr(0) when no digit ended the recording; '' is what its other methods use.
        digits = self._process_digit_list(escape_digits)
        args: list[object] = [quote(filename), format, digits, timeout, offset]
        if beep:
            args.append(beep)
        if silence:
            args.append(f"s={silence}")
        return AgiReply(200, self.execute("RECORD FILE", *args)["result"][0]).digit

    def database_get(self, family: str, key: str) -> str:
        # pyst2 wraps family/key in quotes twice, which only worked while _quote did not escape.
        res, value = self.execute("DATABASE GET", quote(family), quote(key))["result"]
        if res != "1":
            raise AGIDBError(f"Key not found in database: family={family}, key={key}")
        return str(value)

    def exec_command(self, command: str, *args: object) -> PystResult:
        # pyst2 sends the comma-joined arguments unquoted: any space split them into extra words.
        return self.execute("EXEC", command, quote(",".join(map(str, args))))

    def set_callerid(self, number: str) -> None:
        self.execute("SET CALLERID", quote(number))

    # -- typed helpers for the flows -----------------------------------------------------------

    def play(self, path: str, escape_digits: str = "") -> str:
        """STREAM FILE ``path`` (no extension). Returns the digit that interrupted it, or ''.

        A missing file (``result=-1 endpos=0``) must not end the citizen's call: it is logged and
        treated as played. If the channel is really gone, the next command raises AgiHangup.
        """
        reply = self.command("STREAM FILE", quote(path), quote(escape_digits))
        n = reply.result_int
        if n is None or n < 0:
            log.warning(
                "playback of %s failed (result=%s endpos=%s): missing file, or the caller left",
                path,
                reply.result,
                reply.extras.get("endpos", "?"),
            )
            return ""
        return reply.digit

    def record(
        self,
        path: str,
        fmt: str = "wav",
        escape_digits: str = "0",
        *,
        timeout_ms: int,
        silence_s: int,
        beep: bool = False,
    ) -> RecordResult:
        """RECORD FILE until a digit in ``escape_digits``, ``silence_s`` whole seconds of silence
        (0 disables), or ``timeout_ms`` (-1 for none).

        Asterisk reports silence and time limit alike as ``(timeout)``; they are told apart by
        how long the command took.
        """
        # The offset (0) is always sent so that Asterisk reads the next word as BEEP, not offset.
        args: list[object] = [quote(path), quote(fmt), quote(escape_digits), int(timeout_ms), 0]
        if beep:
            args.append("BEEP")
        if silence_s > 0:
            args.append(f"s={int(silence_s)}")
        started = self._clock()
        reply = self.command("RECORD FILE", *args)
        elapsed = self._clock() - started
        return _record_result(reply, elapsed, timeout_ms=timeout_ms, silence_s=silence_s)

    def set_var(self, name: str, value: object) -> None:
        self.command("SET VARIABLE", quote(name), quote(value))

    def get_var(self, name: str) -> str | None:
        """A channel variable or dialplan function (``CALLERID(num)``); None when Asterisk says unset.

        Asterisk 16 answers ``200 result=1 ()`` for many unset variables, which reads as ''.
        """
        reply = self.command("GET VARIABLE", quote(name))
        return reply.value if reply.result == "1" else None

    def exec_app(self, app: str, *args: object) -> int:
        """EXEC a dialplan application; returns its result (-1 usually means the caller left).

        ``args`` are joined with ',' the way the application parses them.
        """
        cmd_args: list[object] = [app]
        if args:
            cmd_args.append(quote(",".join(str(a) for a in args)))
        reply = self.command("EXEC", *cmd_args)
        if reply.result == "-2":
            raise AgiCommandFailed(f"no such application: {app}", reply)
        n = reply.result_int
        return n if n is not None else -1


def _record_result(reply: AgiReply, elapsed: float, *, timeout_ms: int, silence_s: int) -> RecordResult:
    endpos = reply.endpos or 0
    n = reply.result_int
    reason: RecordReason
    digit = ""
    if reply.value == "dtmf" or (reply.value == "randomerror" and n is not None and n > 0):
        # randomerror with a positive result is a digit pressed during the beep.
        reason, digit = "dtmf", reply.digit
    elif reply.value == "hangup":
        reason = "hangup"
    elif reply.value == "timeout":
        # Asterisk 16 puts the silence detector's last value in result when silence ended the
        # recording ("200 result=3487 (timeout) endpos=…") and 0 when the time limit did.
        limit_s = timeout_ms / 1000
        early = timeout_ms < 0 or elapsed < limit_s - _TIMEOUT_SLACK_S
        reason = "silence" if silence_s > 0 and early else "timeout"
    else:
        log.warning("RECORD FILE failed: result=%s (%s)", reply.result, reply.value)
        reason = "error"
    return RecordResult(digit=digit, endpos=endpos, reason=reason, elapsed_s=elapsed)
