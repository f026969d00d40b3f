"""pyst2's own command methods, run on HotlineAGI under Python 3: the line sent and the value returned."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from asterisk.agi import AGIAppError, AGIDBError

from agi.channel import HotlineAGI
from tests.agi.fakes import memory_agi, sent

CASES: list[tuple[str, Callable[[HotlineAGI], Any], str, list[str], Any]] = [
    ("answer", lambda a: a.answer(), "200 result=0", ["ANSWER"], None),
    ("stream_file digit", lambda a: a.stream_file("welcome", "12"), "200 result=50 endpos=100",
     ['STREAM FILE welcome "12" 0'], "2"),
    ("stream_file done", lambda a: a.stream_file("welcome"), "200 result=0 endpos=100",
     ['STREAM FILE welcome "" 0'], ""),
    ("wait_for_digit", lambda a: a.wait_for_digit(3000), "200 result=35", ["WAIT FOR DIGIT 3000"], "#"),
    ("wait_for_digit none", lambda a: a.wait_for_digit(3000), "200 result=0", ["WAIT FOR DIGIT 3000"], ""),
    ("get_data", lambda a: a.get_data("enter", 5000, 4), "200 result=1234 (timeout)",
     ["GET DATA enter 5000 4"], "1234"),
    ("get_variable", lambda a: a.get_variable("X"), "200 result=1 (a b)", ['GET VARIABLE "X"'], "a b"),
    ("get_variable unset", lambda a: a.get_variable("X"), "200 result=0", ['GET VARIABLE "X"'], ""),
    ("set_variable", lambda a: a.set_variable("X", "a b"), "200 result=1", ['SET VARIABLE "X" "a b"'], None),
    ("verbose", lambda a: a.verbose("hello there", 3), "200 result=1", ['VERBOSE "hello there" 3'], None),
    ("say_digits", lambda a: a.say_digits("12345"), "200 result=0", ['SAY DIGITS "12345" ""'], ""),
    ("hangup", lambda a: a.hangup(), "200 result=1", ["HANGUP"], None),
    ("appexec", lambda a: a.appexec("Playback", "hello,noanswer"), "200 result=0",
     ['EXEC Playback "hello,noanswer"'], "0"),
    ("exec_command", lambda a: a.exec_command("Dial", "PJSIP/op 1", 30), "200 result=0",
     ['EXEC Dial "PJSIP/op 1,30"'], {"result": ("0", "")}),
    ("record_file timeout", lambda a: a.record_file("/r/x", "wav", "#", 5000),
     "200 result=0 (timeout) endpos=800", ['RECORD FILE "/r/x" wav "#" 5000 0 beep'], ""),
    ("record_file dtmf", lambda a: a.record_file("/r/x", "wav", "#", 5000, beep="", silence=2),
     "200 result=35 (dtmf) endpos=800", ['RECORD FILE "/r/x" wav "#" 5000 0 s=2'], "#"),
    ("database_get", lambda a: a.database_get("fam", "key"), "200 result=1 (v)",
     ['DATABASE GET "fam" "key"'], "v"),
    ("channel_status", lambda a: a.channel_status(), "200 result=6", ["CHANNEL STATUS"], 6),
    ("channel_status fail", lambda a: a.channel_status("x"), "200 result=-1", ["CHANNEL STATUS x"], -1),
    ("set_callerid", lambda a: a.set_callerid('"Zhang" <100>'), "200 result=1",
     ['SET CALLERID "\\"Zhang\\" <100>"'], None),
]


@pytest.mark.parametrize(("name", "call", "reply", "lines", "expected"), CASES, ids=[c[0] for c in CASES])
def test_pyst2_method(
    name: str, call: Callable[[HotlineAGI], Any], reply: str, lines: list[str], expected: Any
) -> None:
    agi = memory_agi([reply])
    assert call(agi) == expected
    assert sent(agi) == lines


def test_result_minus_one_raises_like_pyst2() -> None:
    # pyst2 raised AGIAppError on result=-1 from its methods; HotlineAGI keeps that contract there.
    with pytest.raises(AGIAppError):
        memory_agi(["200 result=-1 endpos=0"]).stream_file("missing")


def test_database_get_missing_key() -> None:
    with pytest.raises(AGIDBError):
        memory_agi(["200 result=0"]).database_get("fam", "nokey")
