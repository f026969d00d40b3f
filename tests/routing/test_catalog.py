from __future__ import annotations

from pathlib import Path

import pytest

from routing.catalog import CATEGORIES, Catalog, CatalogError, load_catalog


def test_shipped_catalog_loads_and_covers_every_category(catalog: Catalog) -> None:
    assert 25 <= len(catalog.departments) <= 35
    for category in CATEGORIES:
        assert catalog.for_category(category), category
    assert catalog.fallback == "district"
    for dept in catalog.departments:
        assert dept.name and dept.duties and dept.categories
        assert all(cat in dept.categories for cat in dept.keywords)


@pytest.mark.parametrize(("number", "dept_id"), [
    ("12369", "eco_env"), ("12317", "rural_revitalization"), ("12333", "hrss"), ("12315", "market"),
    ("12319", "urban_mgmt"), ("12328", "transport"), ("12320", "health"), ("12358", "market"),
    ("12336", "natural_resources"), ("12366", "tax"), ("12329", "housing_fund"), ("12393", "medical_insurance"),
])
def test_legacy_hotlines_have_their_owner(catalog: Catalog, number: str, dept_id: str) -> None:
    owner = catalog.by_hotline(number)
    assert owner is not None and owner.id == dept_id


def test_unknown_number_has_no_owner(catalog: Catalog) -> None:
    assert catalog.by_hotline("12345") is None


def test_category_departments_are_ordered_by_prior(catalog: Catalog) -> None:
    assert catalog.for_category("环境保护")[0].id == "eco_env"
    assert catalog.for_category("劳动和社会保障")[0].id == "hrss"


GOOD = """
departments:
  - id: a
    name: 甲局
    duties: 管一切
    categories: [城乡建设, 环境保护, 交通运输, 教育文体, 劳动和社会保障, 商贸旅游, 卫生计生, 其他]
    keywords: [路灯]
    hotlines: ['12319']
"""


@pytest.mark.parametrize(("text", "message"), [
    ("departments: [", "not valid YAML"),
    ("[]", "'departments' list"),
    ("departments: []", "no departments"),
    (GOOD.replace("id: a", "id: A-1"), "lowercase identifier"),
    (GOOD.replace("name: 甲局", "name: ''"), "'name'"),
    (GOOD.replace("城乡建设, 环境保护", "城建, 环境保护"), "unknown category '城建'"),
    (
        GOOD.replace("categories: [城乡建设, 环境保护,", "categories: [环境保护,"),
        "no department serves categories: 城乡建设",
    ),
    (GOOD.replace("'12319'", "12319x"), "'hotlines'"),
    (GOOD.replace("    hotlines", "    phone: 1\n    hotlines"), "unknown fields ['phone']"),
    (GOOD.replace("keywords: [路灯]", "keywords: {公安: [打架]}"), "not in its categories"),
    (GOOD + GOOD.replace("departments:\n", ""), "duplicate department ids: a"),
    ("fallback: nobody\n" + GOOD, "fallback department 'nobody'"),
    ("owner: me\n" + GOOD, "unknown top-level fields ['owner']"),
    ("version: 2\n" + GOOD, "version 2 unsupported"),
])
def test_malformed_catalog_is_a_clear_error(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "departments.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CatalogError) as e:
        load_catalog(path)
    assert message in str(e.value) and str(path) in str(e.value)


def test_missing_catalog_file(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="not found"):
        load_catalog(tmp_path / "nope.yaml")


def test_minimal_catalog_works(tmp_path: Path) -> None:
    path = tmp_path / "departments.yaml"
    path.write_text(GOOD, encoding="utf-8")
    cat = load_catalog(path)
    assert cat.fallback == "a" and cat.get("a").keywords == {"城乡建设": ("路灯",)}
