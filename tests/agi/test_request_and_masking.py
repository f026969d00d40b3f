"""AgiRequest from the agi_* header, and phone-number masking for logs."""

from __future__ import annotations

import pytest

from agi.request import AgiRequest
from foundation.masking import mask_number
from tests.agi.fakes import agi_env


def test_request_from_url() -> None:
    env = agi_env("/intake", agi_request="agi://10.0.0.5:4573/intake/?x=1&lang=zh&empty=",
                  agi_arg_1="first", agi_arg_2="second, with comma")
    req = AgiRequest.from_env(env)
    assert req.path == "/intake"
    assert req.query == {"x": "1", "lang": "zh", "empty": ""}
    assert req.args == ("first", "second, with comma")
    assert (req.channel, req.uniqueid) == ("PJSIP/trunk-00000001", "1700000000.1")
    assert req.callerid == "13812345678"
    assert (req.dnid, req.extension, req.context, req.calleridname) == ("12345", "12345", "ivr", "")
    assert req.env == env


def test_request_from_network_script_when_request_is_not_a_url() -> None:
    env = {"agi_network_script": "survey?ticket=42", "agi_request": "survey?ticket=42"}
    req = AgiRequest.from_env(env)
    assert (req.path, req.query) == ("/survey", {"ticket": "42"})


def test_request_with_no_script_is_root() -> None:
    assert AgiRequest.from_env({"agi_request": "agi://127.0.0.1"}).path == "/"


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("13812345678", "138****5678"),
        ("+8613812345678", "+861******5678"),
        ('"Zhang San" <13812345678>', '"Zhang San" <138****5678>'),
        ("01062345678", "010****5678"),
        ("62345678", "****5678"),
        ("12345", "12345"),
        ("110", "110"),
        ("来电13812345678反映", "来电138****5678反映"),
        ("caller=13812345678,", "caller=138****5678,"),
        ("call f3a96811234567bc", "call f3a96811234567bc"),  # a call id's hex digits are not a number
        ("PJSIP/op1-0000002a", "PJSIP/op1-0000002a"),
        ("", ""),
        (None, ""),
    ],
)
def test_mask_number(raw: str | None, masked: str) -> None:
    assert mask_number(raw) == masked
