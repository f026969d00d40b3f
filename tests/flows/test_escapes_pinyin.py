"""Escapes and 对吗 answers heard through homophone errors (Whisper: 人功 for 人工, 队 for 对), and the
ordinary requests that must not be taken for them. Figures on many more texts: bench/escapes.py."""

from __future__ import annotations

import pytest
from pypinyin import Style, lazy_pinyin

from ivr_flows import escapes
from ivr_flows.escapes import Escape, escape_of, yes_no

OPERATOR = Escape("operator", "caller_asked_operator")


@pytest.mark.parametrize("text", [
    "人工", "人功", "仁工", "转人宫", "轉人工", "我要人功", "帮我转人公吧", "人功服务", "我要找接线圆",
    "我要真人", "转客服", "转克服", "克服", "客服",
    "我不想跟机器说话，我要人功", "你们听不懂我的话，帮我转人功服务",
    "我想问一下社保的事情你们听不懂就转人工", "我家楼下的路灯坏了好几天了我要人工客服",
])
def test_operator_words_heard_as_homophones_are_escapes(text: str) -> None:
    assert escape_of(text) == OPERATOR


@pytest.mark.parametrize("text", [
    "我家门口的路灯坏了", "我是来反映问题的", "克服困难", "我们要克服困难", "这个事情是对面楼的",
    "有限责任公司拖欠工资", "我在一家有限责任公司上班，公司三个月没发工资了", "镇人民政府不作为",
    "建议召开候选人公示会", "他担任工程部经理", "大家好我想反映一下", "建议有关部门进行打假活动",
    "春运到了，出租车翻倍涨价", "我是说就明确一下流程", "A市火车站附近居民深受火车鸣笛的困扰",
    "我们一直生活在噪音里", "对", "不对", "是的", "队",
    # short ones, where more sound rules apply
    "这个是或者那个", "我想问一下期货的事", "帮我查一下就明白了", "小区里全是泥水", "店里出点问题", "他是重度残疾",
    "我们结婚到现在", "选修课的问题", "自沙溪路", "我是大圩镇人", "听说现在大人", "大家好", "局长达人", "建议打假",
    # longer ones: the operator word written out, but part of another word or someone else's 客服
    "建议将城镇聋儿人工耳蜗治疗费纳入城镇居民基本医疗保险", "本人工作三年了单位一直没给我交社保",
    "我在网店买了电子琴，商家客服说送的课程不算数",
    # emergency words in a story or as the name of a kind of event, not something happening now
    "西地省这个救命药什么时候能纳入医保", "市医院最近打人事件频发，现在医生都不敢上班",
    "8月7日那天医院发生了打架，到现在还没人处理",
])
def test_ordinary_sentences_and_answers_are_not_escapes(text: str) -> None:
    assert escape_of(text) is None


@pytest.mark.parametrize(("text", "line"), [
    ("着火了", "119"), ("照火了", "119"), ("着伙了", "119"), ("我家着火了", "119"), ("厨房起伙了", "119"),
    ("楼下失伙了快来人", "119"),  # 快来人 alone is police; the fire heard by sound ranks first
    ("媒气泄露了", "119"), ("我们楼下的饭店厨房照火了烟很大你们快来", "119"),
    ("有人晕倒了快叫救护车", "120"), ("有人晕到了快叫救护车", "120"), ("我爸运倒了", "120"),
    ("他没气了快来人", "120"),  # heard exactly: a medical cue, not the bare call for help
    ("有人婚迷了", "120"),
    ("救命啊", "110"), ("就命啊", "110"), ("救命救命", "110"), ("有人打架", "110"), ("他要自杀了", "110"),
    ("他要自沙了", "110"),
    ("我刚才在公交站被人枪劫了手机", "110"),
])
def test_emergencies_heard_exactly_or_by_sound(text: str, line: str) -> None:
    esc = escape_of(text)
    assert esc is not None and (esc.target, esc.line) == ("emergency", line)


@pytest.mark.parametrize("text", [
    "没有着火", "上次照火的事情处理了吗", "万一照火了怎么办",  # routing's rules still apply after respelling
    "小区有火灾隐患",
])
def test_emergency_rules_still_disarm_sound_matches(text: str) -> None:
    assert escape_of(text) is None


def test_digits_win_over_words() -> None:
    assert escape_of("对", "0") == Escape("operator", "caller_pressed_0")
    assert escape_of("着火了", "0") == Escape("operator", "caller_pressed_0")
    assert yes_no("不对", "1") is True
    assert yes_no("对", "2") is False
    assert yes_no("", "1") is True
    assert yes_no("", "") is None
    assert escape_of("", "") is None


@pytest.mark.parametrize("text", [
    "对", "队", "兑", "对的", "队的", "对得", "是的", "事的", "是", "對", "對的", "沒錯", "美错", "没错",
    "对对对", "嗯", "嗯嗯", "恩", "嗯对", "好的", "行", "可以", "可邑", "正确", "是的没错", "对，就是这个",
    "是的，我就是想反映这个", "没有问题", "对吧",
])
def test_yes_heard_exactly_or_by_sound(text: str) -> None:
    assert yes_no(text) is True


@pytest.mark.parametrize("text", [
    "不对", "不队", "布对", "不兑", "不是", "不事", "布是", "错了", "措了", "不是的", "不對", "錯了", "不正确",
    "布正确", "不行", "没有", "不", "嗯，不对", "地点不对", "地点不队", "不对，我说的是东门", "不对我说的是东门",
    "是不队",  # no before yes
])
def test_no_heard_exactly_or_by_sound(text: str) -> None:
    assert yes_no(text) is False


@pytest.mark.parametrize("text", [
    "我是来反映问题的", "这个事情是对面楼的", "对面楼的路灯坏了", "市里的路灯坏了", "是否可以帮我查一下",
    "我对这个处理结果有意见", "他说这是对的但是我不同意他的说法", "L12市A1", "K8县九狮岭", "M市M5市的",
    "喂你好", "我想问一下", "没听清楚", "信号不好", "什么", "是吗", "可以吗", "啊", "",
])
def test_non_answers_are_not_taken_for_yes_or_no(text: str) -> None:
    assert yes_no(text) is None


def test_single_character_sounds_are_pypinyin_readings() -> None:
    """escapes reads pypinyin's dictionary directly for speed; it must say what lazy_pinyin says."""
    chars = "".join(chr(cp) for cp in range(0x3400, 0xA000))
    expected = tuple((lazy_pinyin(c, style=Style.NORMAL, errors="ignore") or [""])[0] for c in chars)
    assert escapes._sounds(chars) == expected
    assert escapes._sounds("A1，人 工") == ("", "", "", "ren", "", "gong")


def test_keyword_sounds_have_one_syllable_per_character() -> None:
    keys = (*escapes._OPERATOR_KEYS, *escapes._EMERGENCY_ANYWHERE, *escapes._EMERGENCY_SHORT)
    assert all(len(k.sounds) == len(k.word) for k in keys)
    assert escapes._word("着火") == ("zhao", "huo")  # in context, as a caller says it
