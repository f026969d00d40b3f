"""Top-3 departments with confidences from a trained model, and the dialed legacy number as a prior."""

from __future__ import annotations

import pytest

from routing.catalog import Catalog
from routing.classify import Classification, Router
from routing.train import train
from tests.routing.conftest import toy_rows
from tests.routing.test_train import SMALL


@pytest.fixture(scope="module")
def trained(catalog: Catalog) -> Router:
    return Router(catalog, train(*toy_rows(), SMALL))


def _conf(c: Classification) -> dict[str, float]:
    return {d.id: d.confidence for d in c.departments}


@pytest.mark.parametrize("text", ["公司拖欠我们三个月工资", "化工厂晚上偷偷排放废水", "小区路灯坏了", "嗯", ""])
def test_top_three_with_confidences(trained: Router, text: str) -> None:
    c = trained.classify(text)
    assert len(c.departments) == 3 and len({d.id for d in c.departments}) == 3
    confidences = [d.confidence for d in c.departments]
    assert confidences == sorted(confidences, reverse=True)
    assert all(0 <= x <= 1 for x in confidences) and sum(confidences) <= 1.001
    assert 0 < c.category_confidence <= 1 and 0 < c.type_confidence <= 1


@pytest.mark.parametrize("dialed", ["12369", "010-12369", "075512369", "+86 755 12369"])
def test_a_dialed_legacy_number_decides_a_vague_request(trained: Router, dialed: str) -> None:
    text = "我想反映一下我们这边的情况"
    plain = trained.classify(text)
    assert plain.departments[0].id != "eco_env"
    hinted = trained.classify(text, dialed_number=dialed)
    assert hinted.departments[0].id == "eco_env" and hinted.category == "环境保护"
    assert hinted.departments[0].confidence >= 0.4


def test_a_dialed_number_is_always_among_the_top_three(trained: Router, catalog: Catalog) -> None:
    owners = {h: d.id for d in catalog.departments for h in d.hotlines}
    for text in ("公司拖欠我们三个月工资一直不发", "化工厂晚上偷偷排放废水", "小区路灯坏了"):
        for number, dept in owners.items():
            assert dept in _conf(trained.classify(text, dialed_number=number)), (text, number)


def test_a_clear_request_still_beats_the_dialed_number(trained: Router) -> None:
    c = trained.classify("公司拖欠我们三个月工资一直不发", dialed_number="12369")
    assert c.departments[0].id == "hrss" and c.departments[1].id == "eco_env"
    # The prior still moves the ranking: eco_env gains against the undialed ranking.
    assert _conf(c)["eco_env"] > _conf(trained.classify("公司拖欠我们三个月工资一直不发")).get("eco_env", 0)


@pytest.mark.parametrize("dialed", ["12345", "0755-12345", "13800138000", "12122", ""])
def test_numbers_that_are_no_hint(trained: Router, dialed: str) -> None:
    assert trained.classify("小区停水了", dialed_number=dialed) == trained.classify("小区停水了")
