from __future__ import annotations

import pytest

from asr.metrics import cer, cer_counts, edit_distance, plain_chars


def test_edit_distance() -> None:
    assert edit_distance("", "") == 0
    assert edit_distance("路灯坏了", "路灯坏了") == 0
    assert edit_distance("路灯坏了", "路等坏") == 2
    assert edit_distance("", "abc") == 3


def test_cer_ignores_punctuation_and_spaces() -> None:
    assert plain_chars("你好， 世界！ok?") == "你好世界ok"
    assert cer("你好，世界。", "你 好 世 界") == 0.0
    assert cer_counts("广州市房地产", "广州房地产") == (1, 6)
    assert cer("广州市房地产", "广州房地产") == pytest.approx(1 / 6)
    assert cer("", "") == 0.0 and cer("", "x") == 1.0
