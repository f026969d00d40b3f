"""The shipped keyword router on handwritten spoken requests."""

from __future__ import annotations

import pytest

from routing.classify import Classification, Router

# (what a caller says, expected top department, expected category)
CLEAR_CASES = [
    ("我们小区门口的路灯不亮好几天了", "urban_mgmt", "城乡建设"),
    ("公司拖欠我们三个月工资一直不发", "hrss", "劳动和社会保障"),
    ("旁边的工厂晚上偷偷排污，河水都黑了", "eco_env", "环境保护"),
    ("隔壁化工厂的废气味道特别刺鼻", "eco_env", "环境保护"),
    ("小区停水两天了也没人通知", "water", "城乡建设"),
    ("十八路公交车司机态度很差还骂人", "transport", "城乡建设"),
    ("出租车司机绕路还拒载", "transport", "交通运输"),
    ("学校乱收资料费，还强制补课", "education", "教育文体"),
    ("医院的医生态度很差，看病排了三个小时", "health", "卫生计生"),
    ("我家这一片停电一整天了", "power", "城乡建设"),
    ("闻到天然气味，燃气公司什么时候来检查", "gas", "城乡建设"),
    ("开发商延期交房一年多了", "housing", "城乡建设"),
    ("楼下有人占道摆摊卖菜", "urban_mgmt", "城乡建设"),
    ("在超市买的衣服有质量问题，商家不给退", "market", "商贸旅游"),
    ("这家餐馆用地沟油炒菜", "market", "卫生计生"),
    ("健身房老板跑路了，预付卡里的钱退不出来", "market", "商贸旅游"),
    ("快递丢了快递公司不赔", "postal", "交通运输"),
    ("我想问一下公积金怎么提取", "housing_fund", "城乡建设"),
    ("低保申请了半年还没批下来", "civil_affairs", "劳动和社会保障"),
    ("医保报销比例太低了", "medical_insurance", "劳动和社会保障"),
    ("导游强制游客购物", "culture_tourism", "商贸旅游"),
    ("小区门口有人打架斗殴", "police", "其他"),
    ("有人在河边非法采砂", "natural_resources", "其他"),
    ("贫困户的扶贫款一直没发下来", "rural_revitalization", "其他"),
    ("商家不给开发票", "tax", "其他"),
    ("十字路口的红绿灯坏了，车都堵住了", "traffic_police", "交通运输"),
    ("楼道里堆满杂物，消防通道被堵了", "fire_rescue", "城乡建设"),
]


@pytest.mark.parametrize(("text", "dept_id", "category"), CLEAR_CASES)
def test_clear_requests_reach_the_right_department(
    keyword_router: Router, text: str, dept_id: str, category: str
) -> None:
    c = keyword_router.classify(text)
    assert c.departments[0].id == dept_id, [d.id for d in c.departments]
    assert c.category == category


def _well_formed(c: Classification) -> None:
    assert c.source == "keywords"
    assert c.type in ("咨询", "求助", "投诉", "举报", "建议", "表扬")
    assert 0 <= c.type_confidence <= 1 and 0 <= c.category_confidence <= 1
    assert len(c.departments) == 3 and len({d.id for d in c.departments}) == 3
    confidences = [d.confidence for d in c.departments]
    assert confidences == sorted(confidences, reverse=True)
    assert all(0 <= x <= 1 for x in confidences) and sum(confidences) <= 1.0001
    assert all(d.name for d in c.departments)


@pytest.mark.parametrize("text", [t for t, _, _ in CLEAR_CASES] + ["", "嗯", "喂，你好"])
def test_classification_is_well_formed(keyword_router: Router, text: str) -> None:
    _well_formed(keyword_router.classify(text))


def test_nothing_recognisable_goes_to_the_local_government(keyword_router: Router) -> None:
    c = keyword_router.classify("我想说一下那个事情")
    assert c.category == "其他" and c.departments[0].id == "district"
    assert c.category_confidence < 0.5


def test_a_dialed_legacy_number_decides_an_unclear_request(keyword_router: Router) -> None:
    text = "龙华区金盘路附近有股很难闻的味道"
    assert keyword_router.classify(text, dialed_number="12369").departments[0].id == "eco_env"
    assert keyword_router.classify("我想反映个情况", dialed_number="12333").departments[0].id == "hrss"
    boosted = keyword_router.classify("小区门口总有车乱停", dialed_number="12319")
    plain = keyword_router.classify("小区门口总有车乱停")
    conf = {d.id: d.confidence for d in boosted.departments}
    assert conf.get("urban_mgmt", 0) > {d.id: d.confidence for d in plain.departments}.get("urban_mgmt", 0)


def test_a_dialed_number_does_not_override_a_clear_request(keyword_router: Router) -> None:
    c = keyword_router.classify("公司拖欠我们三个月工资一直不发", dialed_number="12369")
    assert c.departments[0].id == "hrss"
    assert "eco_env" in [d.id for d in c.departments]


def test_dialed_12345_is_no_hint(keyword_router: Router) -> None:
    a = keyword_router.classify("小区停水了", dialed_number="12345")
    b = keyword_router.classify("小区停水了")
    assert a == b


def test_place_summary_and_emergency_are_filled(keyword_router: Router) -> None:
    c = keyword_router.classify("喂，你好，我想反映一下，幸福小区3栋楼下的路灯坏了，谢谢")
    assert c.place == "幸福小区3栋" and c.summary == "幸福小区3栋楼下的路灯坏了" and c.emergency is None
    assert keyword_router.classify("我家厨房着火了").emergency == "fire"
