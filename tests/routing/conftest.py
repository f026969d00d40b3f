"""Fixtures for the router tests. The evaluation data is read in place from ../shared (never copied);
tests that need it skip when it is absent."""

from __future__ import annotations

from pathlib import Path

import pytest

from routing.catalog import Catalog, load_catalog
from routing.classify import Router

SPLITS = Path(__file__).resolve().parents[3] / "shared" / "data" / "tipdm2020c_smart_gov" / "split"

# Handwritten requests for small training runs (our own words, three categories).
TOY_DATA: dict[str, list[str]] = {
    "城乡建设": [
        "小区路灯坏了好几天没人修", "楼下的井盖丢了很危险", "开发商延期交房一年了", "物业乱收停车费",
        "小区电梯老是坏", "马路上有个大坑", "违章建筑挡住了我家采光", "老旧小区改造什么时候开始",
        "工地晚上施工太吵", "我们这条路的路灯一直不亮",
    ],
    "劳动和社会保障": [
        "公司拖欠三个月工资", "老板不给交社保", "包工头跑了工钱要不回来", "退休金怎么还没到账",
        "辞退我不给经济补偿", "加班费一直不发", "失业金怎么领取", "工伤认定要多久",
        "单位不签劳动合同", "养老保险断交了怎么补",
    ],
    "环境保护": [
        "工厂晚上偷偷排污水", "化工厂的气味太刺鼻", "河里的水被染黑了", "砖厂烟囱冒黑烟",
        "养猪场臭气熏天", "搅拌站粉尘太大", "工厂机器噪音吵得睡不着", "有人在河边倒废渣",
        "空气里一股怪味", "污水直接排到农田里",
    ],
}


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog()


@pytest.fixture(scope="session")
def keyword_router(catalog: Catalog) -> Router:
    return Router.load(None, catalog)


def toy_rows() -> tuple[list[str], list[str]]:
    texts = [t for items in TOY_DATA.values() for t in items]
    labels = [label for label, items in TOY_DATA.items() for _ in items]
    return texts, labels


def read_split(name: str) -> tuple[list[str], list[str]]:
    path = SPLITS / f"{name}_text.csv"
    if not path.exists():
        pytest.skip(f"evaluation data not available at {path}")
    from routing.data import read_labelled_csv

    return read_labelled_csv(path, "text", "label")
