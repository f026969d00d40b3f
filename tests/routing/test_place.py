"""Address spans and read-back summaries, on literal cases."""

from __future__ import annotations

import pytest

from routing.place import extract_place, summary_of


@pytest.mark.parametrize(("text", "place"), [
    ("龙华区金盘路18号的路灯坏了", "龙华区金盘路18号"),
    ("我住在海口市美兰区白龙街道", "海口市美兰区白龙街道"),
    ("幸福小区3栋2单元楼下有人乱停车", "幸福小区3栋2单元"),
    ("滨江花园小区7栋302室漏水", "滨江花园小区7栋302室"),
    ("A7县的教育实在不敢恭维", "A7县"),
    ("投诉L市快递乱收费", "L市"),
    ("龙华区金盘路附近有股很难闻的味道", "龙华区金盘路"),
    ("反映一下金盘路的路灯不亮", "金盘路"),
    ("美兰区海府路公交站的站牌倒了", "美兰区海府路公交站"),
    ("红星村三组的路被水冲坏了", "红星村三组"),
    ("在第一中学门口有人卖三无食品", "第一中学"),
    ("人民医院的医生态度很差", "人民医院"),
    ("上海市浦东新区张江路", "上海市浦东新区张江路"),
    ("我家在E1区火车站乡泉塘村四组", "E1区火车站乡泉塘村四组"),
    ("回老家红星村过年", "红星村"),
])
def test_places(text: str, place: str) -> None:
    assert extract_place(text) == place


@pytest.mark.parametrize("text", [
    "公司拖欠我三个月工资不发",
    "城市管理太差了",
    "出租车绕路",
    "景区强制购物",
    "去超市买东西",
    "去医院看病",
    "我们小区门口垃圾没人清理",
    "在3栋",
    "",
])
def test_no_place(text: str) -> None:
    assert extract_place(text) is None


@pytest.mark.parametrize(("text", "summary"), [
    ("喂，你好，我想反映一下，就是那个，我们小区的路灯坏了", "我们小区的路灯坏了"),
    ("嗯，那个，公司拖欠我三个月工资不发", "公司拖欠我三个月工资不发"),
    ("请问办居住证需要带什么材料", "办居住证需要带什么材料"),
    ("你好，我要投诉，楼下烧烤店油烟太大，晚上还很吵，谢谢", "楼下烧烤店油烟太大，晚上还很吵"),
    ("路灯坏了", "路灯坏了"),
])
def test_summaries(text: str, summary: str) -> None:
    assert summary_of(text) == summary


def test_summary_cuts_at_a_clause_boundary() -> None:
    text = ("我们幸福小区3栋楼下的路灯坏了好几天了，晚上黑乎乎的，老人出门很不方便，"
            "上次有个老太太还摔了一跤，麻烦你们派人来修一下")
    s = summary_of(text)
    assert len(s) <= 40 and s == "我们幸福小区3栋楼下的路灯坏了好几天了，晚上黑乎乎的，老人出门很不方便"
    assert summary_of(text, max_chars=20) == "我们幸福小区3栋楼下的路灯坏了好几天了"


def test_summary_of_a_single_long_clause_is_cut() -> None:
    assert len(summary_of("这" * 100)) == 40


def test_summary_of_fillers_only_keeps_something() -> None:
    assert summary_of("喂，你好") == "喂，你好"
    assert summary_of("") == ""
