from __future__ import annotations

import pytest

from prompts.numbers import digits_text, quantity_text, read_numbers
from prompts.render import to_pinyin


def test_digits_text() -> None:
    assert digits_text("20261122001") == "二零二六一一二二零零一"
    assert digits_text("20261122001", yao=True) == "二零二六幺幺二二零零幺"
    assert digits_text("110-12") == "一一零-一二"


@pytest.mark.parametrize(
    ("n", "text"),
    [
        *[(0, "零"), (7, "七"), (10, "十"), (12, "十二"), (23, "二十三"), (100, "一百")],
        *[(105, "一百零五"), (110, "一百一十"), (200, "两百"), (1010, "一千零一十")],
        *[(2002, "两千零二"), (9999, "九千九百九十九")],
    ],
)
def test_quantity_text(n: int, text: str) -> None:
    assert quantity_text(n) == text


def test_read_numbers_in_context() -> None:
    pieces = read_numbers("工单号20261122001。")
    assert pieces == [("工单号", False), ("二零二六一一二二零零一", True), ("。", False)]
    assert "".join(p for p, _ in read_numbers("转接110报警电话")) == "转接幺幺零报警电话"
    assert "".join(p for p, _ in read_numbers("拨打120急救")) == "拨打幺二零急救"
    assert "".join(p for p, _ in read_numbers("12345热线")) == "一二三四五热线"
    assert "".join(p for p, _ in read_numbers("请在3个工作日内，约23号")) == "请在三个工作日内，约二十三号"
    assert "".join(p for p, _ in read_numbers("编号007")) == "编号零零七"
    assert "".join(p for p, _ in read_numbers("3.5公里")) == "三点五公里"


def test_pinyin_keeps_pauses_and_reads_digits_plainly() -> None:
    assert to_pinyin("您好，请说。对吗？") == "nin2 hao3 , qing3 shuo1 . dui4 ma5 ?"
    # Digit strings skip tone sandhi: 一 stays yi1 before a fourth tone.
    assert to_pinyin("共2026人，不对") == "gong4 liang3 qian1 ling2 er4 shi2 liu4 ren2 , bu2 dui4"
    assert to_pinyin("2026年") == "er4 ling2 er4 liu4 nian2"
    assert to_pinyin("20261122001") == "er4 ling2 er4 liu4 yi1 yi1 er4 er4 ling2 ling2 yi1"
    assert to_pinyin("转接110报警电话").startswith("zhuan3 jie1 yao1 yao1 ling2 bao4")
    assert to_pinyin("《通知》：OK") == "tong1 zhi1 , OK"
