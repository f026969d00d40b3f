"""The read-back gist: topic, key nouns, place; never the recogniser's words one by one."""

from __future__ import annotations

from routing.gist import gist_of, key_nouns


def test_the_gist_names_topic_things_and_place() -> None:
    text = "龙华区金盘路的路灯坏了好几天了晚上很黑"
    gist = gist_of(text, category="城乡建设", type_="投诉", place="龙华区金盘路", summary=text)
    assert gist == "城乡建设方面的投诉，涉及路灯，地点是龙华区金盘路"


def test_nouns_inside_the_place_and_empty_nouns_are_left_out() -> None:
    assert key_nouns("我想反映一个问题，公司拖欠我三个月工资不发") == ["公司", "月工资"]
    assert "金盘路" not in key_nouns("金盘路的路灯坏了", leave_out=["龙华区金盘路"])


def test_nothing_named_reads_back_the_summary() -> None:
    assert gist_of("好的好的", category="其他", type_="咨询", place="", summary="好的好的") == "好的好的"
    assert gist_of("好的", category="其他", type_="咨询", place="幸福小区", summary="好的") == "好的，地点是幸福小区"
