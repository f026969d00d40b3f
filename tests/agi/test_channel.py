"""HotlineAGI over in-memory streams: env, typed helpers, hangups, and pyst2's own methods."""

from __future__ import annotations

import io
import logging
import threading
from collections.abc import Callable

import pytest
from asterisk.agi import AGIHangup

from agi.channel import HotlineAGI, RecordResult, quote
from agi.errors import AgiCommandFailed, AgiHangup, AgiInvalidCommand
from tests.agi.fakes import CALLER, agi_env, memory_agi, sent


def clock(*ticks: float) -> Callable[[], float]:
    return iter(ticks).__next__


def test_env_is_read_up_to_the_blank_line() -> None:
    agi = memory_agi(["200 result=1"])
    assert agi.env["agi_request"] == "agi://127.0.0.1:4573/intake"
    assert agi.env["agi_callerid"] == CALLER
    agi.answer()
    assert sent(agi) == ["ANSWER"]


def test_construction_works_outside_the_main_thread() -> None:
    # pyst2's AGI() raises here: it installs a SIGHUP handler.
    errors: list[BaseException] = []

    def build() -> None:
        try:
            memory_agi([])
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=build)
    thread.start()
    thread.join()
    assert errors == []


def test_nothing_on_stderr_and_no_clear_caller_id_in_logs(
    capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="agi")
    agi = memory_agi(["200 result=1"])
    agi.set_var("CALLER", CALLER)
    assert capsys.readouterr().err == ""
    assert "AGI >> SET VARIABLE" in caplog.text
    assert CALLER not in caplog.text
    assert "138****5678" in caplog.text


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("200 result=0 endpos=16000", ""),
        ("200 result=49 endpos=4000", "1"),
        ("200 result=-1 endpos=0", ""),  # missing file: logged, not raised
    ],
)
def test_play(reply: str, expected: str) -> None:
    agi = memory_agi([reply])
    assert agi.play("/var/lib/hotline/prompts/welcome", "0#") == expected
    assert sent(agi) == ['STREAM FILE "/var/lib/hotline/prompts/welcome" "0#"']


def test_play_missing_file_logs_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    agi = memory_agi(["200 result=-1 endpos=0"])
    with caplog.at_level(logging.WARNING, logger="agi"):
        assert agi.play("nope") == ""
    assert "nope" in caplog.text


def test_record_command_line() -> None:
    agi = memory_agi(["200 result=0 (timeout) endpos=8000"], clock=clock(0.0, 3.0))
    agi.record("/rec/01-request", timeout_ms=30000, silence_s=2)
    assert sent(agi) == ['RECORD FILE "/rec/01-request" "wav" "0" 30000 0 s=2']
    agi = memory_agi(["200 result=0 (timeout) endpos=8000"], clock=clock(0.0, 3.0))
    agi.record("/rec/x", "gsm", "#", timeout_ms=5000, silence_s=0, beep=True)
    # The offset comes before BEEP: res_agi reads a non-numeric argv[6] as "beep".
    assert sent(agi) == ['RECORD FILE "/rec/x" "gsm" "#" 5000 0 BEEP']


@pytest.mark.parametrize(
    ("reply", "ticks", "expected"),
    [
        # silence: returned well before the 30 s limit
        ("200 result=0 (timeout) endpos=52160", (0.0, 7.5), RecordResult("", 52160, "silence", 7.5)),
        # the limit itself
        ("200 result=0 (timeout) endpos=240000", (0.0, 30.1), RecordResult("", 240000, "timeout", 30.1)),
        ("200 result=48 (dtmf) endpos=8000", (0.0, 1.0), RecordResult("0", 8000, "dtmf", 1.0)),
        ("200 result=-1 (hangup) endpos=12000", (0.0, 1.5), RecordResult("", 12000, "hangup", 1.5)),
        ("200 result=-1 (writefile)", (0.0, 0.0), RecordResult("", 0, "error", 0.0)),
        ("200 result=-1 (waitfor) endpos=10", (0.0, 0.5), RecordResult("", 10, "error", 0.5)),
        # a digit pressed during the beep
        ("200 result=35 (randomerror) endpos=0", (0.0, 0.2), RecordResult("#", 0, "dtmf", 0.2)),
    ],
)
def test_record_result_mapping(reply: str, ticks: tuple[float, float], expected: RecordResult) -> None:
    agi = memory_agi([reply], clock=clock(*ticks))
    assert agi.record("/rec/a", timeout_ms=30000, silence_s=2) == expected


def test_record_without_silence_detection_is_never_silence() -> None:
    agi = memory_agi(["200 result=0 (timeout) endpos=800"], clock=clock(0.0, 0.1))
    assert agi.record("/rec/a", timeout_ms=30000, silence_s=0).reason == "timeout"


def test_get_var() -> None:
    agi = memory_agi(["200 result=1 (some value with spaces)", "200 result=0", "200 result=1 ()"])
    assert agi.get_var("X") == "some value with spaces"
    assert agi.get_var("UNSET") is None
    assert agi.get_var("EMPTY") == ""
    assert sent(agi) == ['GET VARIABLE "X"', 'GET VARIABLE "UNSET"', 'GET VARIABLE "EMPTY"']


def test_set_var_quotes_and_escapes() -> None:
    agi = memory_agi(["200 result=1"])
    agi.set_var("SUMMARY", 'say "hi" \\ there\nnext')
    assert sent(agi) == ['SET VARIABLE "SUMMARY" "say \\"hi\\" \\\\ there next"']


def test_quote() -> None:
    assert quote(12) == '"12"'
    assert quote("") == '""'


def test_exec_app() -> None:
    agi = memory_agi(["200 result=0", "200 result=-2"])
    assert agi.exec_app("Playback", "hello-world", "noanswer") == 0
    with pytest.raises(AgiCommandFailed):
        agi.exec_app("NoSuchApp")
    assert sent(agi) == ['EXEC Playback "hello-world,noanswer"', "EXEC NoSuchApp"]


@pytest.mark.parametrize(
    "reply", ["HANGUP", "", "511 Command Not Permitted on a dead channel or intercepted channel"]
)
def test_hangup_mid_command_raises_everywhere(reply: str) -> None:
    for call in (
        lambda a: a.play("x"),
        lambda a: a.record("x", timeout_ms=1000, silence_s=1),
        lambda a: a.get_var("X"),
        lambda a: a.set_var("X", "1"),
        lambda a: a.stream_file("x"),
        lambda a: a.get_variable("X"),
        lambda a: a.verbose("hi"),
    ):
        agi = memory_agi([reply] if reply else [])
        with pytest.raises(AgiHangup):
            call(agi)


def test_pyst2_style_code_still_catches_hangup() -> None:
    agi = memory_agi(["HANGUP"])
    with pytest.raises(AGIHangup):
        agi.wait_for_digit(1000)


def test_broken_pipe_on_write_is_a_hangup() -> None:
    class Broken(io.StringIO):
        def write(self, s: str) -> int:
            raise BrokenPipeError(32, "Broken pipe")

    agi = HotlineAGI(io.StringIO("agi_channel: x\n\n"), Broken())
    with pytest.raises(AgiHangup):
        agi.answer()


def test_invalid_command() -> None:
    agi = memory_agi(["510 Invalid or unknown command"])
    with pytest.raises(AgiInvalidCommand):
        agi.command("BOGUS")


def test_without_env_header() -> None:
    agi = HotlineAGI(io.StringIO("200 result=1\n"), io.StringIO(), read_env_header=False)
    assert agi.env == {}
    agi.answer()


def test_env_of_memory_agi_defaults() -> None:
    assert memory_agi([]).env == agi_env("/intake")
