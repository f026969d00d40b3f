"""agi.replies: literal Asterisk lines in, typed replies or typed errors out."""

from __future__ import annotations

import io

import pytest
from asterisk.agi import AGIHangup

from agi.errors import AgiError, AgiHangup, AgiInvalidCommand, AgiUnexpectedReply, AgiUsageError
from agi.replies import AgiReply, parse_reply, read_env, reply_lines


def read(text: str) -> AgiReply:
    return parse_reply(reply_lines(io.StringIO(text).readline))


@pytest.mark.parametrize(
    ("line", "result", "value", "extras"),
    [
        ("200 result=0 (timeout) endpos=52160", "0", "timeout", {"endpos": "52160"}),
        ("200 result=1 ()", "1", "", {}),
        ("200 result=-1 endpos=0", "-1", "", {"endpos": "0"}),
        ("200 result=48 (dtmf) endpos=8000", "48", "dtmf", {"endpos": "8000"}),
        ("200 result=0", "0", "", {}),
        ("200 result=1 (some value with spaces)", "1", "some value with spaces", {}),
        ("200 result=1 (a (nested) value)", "1", "a (nested) value", {}),
        ("200 result=123 (timeout)", "123", "timeout", {}),
    ],
)
def test_200_replies(line: str, result: str, value: str, extras: dict[str, str]) -> None:
    reply = read(line + "\n")
    assert reply == AgiReply(code=200, result=result, value=value, extras=extras)


def test_missing_sound_file_is_a_result_not_a_hangup() -> None:
    reply = read("200 result=-1 endpos=0\n")
    assert reply.result_int == -1
    assert reply.endpos == 0
    assert reply.digit == ""


def test_dtmf_digit_and_endpos() -> None:
    reply = read("200 result=48 (dtmf) endpos=8000\r\n")
    assert (reply.digit, reply.endpos) == ("0", 8000)
    assert read("200 result=35 (dtmf) endpos=1\n").digit == "#"


@pytest.mark.parametrize(
    "text",
    [
        "HANGUP\n",
        "",  # EOF
        "511 Command Not Permitted on a dead channel or intercepted channel\n",
        "511 Command Not Permitted on a dead channel\n",
    ],
)
def test_hangups(text: str) -> None:
    with pytest.raises(AgiHangup):
        read(text)


def test_hangup_is_also_pyst2_hangup() -> None:
    with pytest.raises(AGIHangup):
        read("HANGUP\n")
    assert issubclass(AgiHangup, AgiError)


def test_510() -> None:
    with pytest.raises(AgiInvalidCommand, match="510"):
        read("510 Invalid or unknown command\n")


def test_multiline_520_is_read_whole_and_carries_usage() -> None:
    stream = io.StringIO(
        "520-Invalid command syntax.  Proper usage follows:\n"
        "Usage: RECORD FILE <filename> <format> <escape_digits> <timeout>\n"
        " Record to a file until a given dtmf digit.\n"
        "520 End of proper usage.\n"
        "200 result=0\n"
    )
    lines = reply_lines(stream.readline)
    assert len(lines) == 4
    with pytest.raises(AgiUsageError) as info:
        parse_reply(lines)
    assert "Usage: RECORD FILE" in info.value.usage
    assert info.value.usage.endswith("520 End of proper usage.")
    # The next reply starts cleanly after the block.
    assert parse_reply(reply_lines(stream.readline)).result == "0"


def test_single_line_520() -> None:
    with pytest.raises(AgiUsageError):
        read("520 Invalid command syntax.  Proper usage not available.\n")


def test_eof_inside_520_block_is_a_hangup() -> None:
    with pytest.raises(AgiHangup):
        reply_lines(io.StringIO("520-Invalid command syntax.  Proper usage follows:\nUsage: x\n").readline)


@pytest.mark.parametrize("line", ["hello", "300 result=1", "200 nonsense", "200"])
def test_unexpected(line: str) -> None:
    with pytest.raises(AgiUnexpectedReply):
        read(line + "\n")


def test_read_env_keeps_colons_in_values_and_stops_at_blank_line() -> None:
    stream = io.StringIO("agi_request: agi://10.0.0.1:4573/intake?x=1\nagi_callerid: 138\n\n200 result=0\n")
    env = read_env(stream.readline)
    assert env == {"agi_request": "agi://10.0.0.1:4573/intake?x=1", "agi_callerid": "138"}
    assert stream.readline() == "200 result=0\n"


def test_read_env_eof_is_hangup() -> None:
    with pytest.raises(AgiHangup):
        read_env(io.StringIO("agi_channel: x\n").readline)
