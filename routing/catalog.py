"""The department catalog: who handles what, loaded from routing/catalog/departments.yaml."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

# First-level categories of the routing data (2020 Teddy Cup C) plus a catch-all for
# departments whose requests fall outside those seven (police, tax, civil affairs...).
CATEGORIES: tuple[str, ...] = (
    "城乡建设",
    "环境保护",
    "交通运输",
    "教育文体",
    "劳动和社会保障",
    "商贸旅游",
    "卫生计生",
    "其他",
)
OTHER = "其他"

DEFAULT_CATALOG_FILE = Path(__file__).resolve().parent / "catalog" / "departments.yaml"

_ID_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_HOTLINE_RE = re.compile(r"^\d{3,6}$")


class CatalogError(ValueError):
    """The catalog file is missing or malformed; the message names the file and the entry."""


@dataclass(frozen=True)
class Department:
    id: str
    name: str
    duties: str
    categories: Mapping[str, float]  # category -> prior share of that category's requests
    keywords: Mapping[str, tuple[str, ...]]  # category -> keywords that are evidence for it
    hotlines: tuple[str, ...] = ()

    @property
    def primary_category(self) -> str:
        return next(iter(self.categories))


@dataclass(frozen=True)
class Catalog:
    departments: tuple[Department, ...]
    fallback: str = ""  # department for requests nothing points anywhere; default: first serving 其他

    def __post_init__(self) -> None:
        ids = [d.id for d in self.departments]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise CatalogError(f"duplicate department ids: {', '.join(dupes)}")
        owners: dict[str, str] = {}
        for d in self.departments:
            for h in d.hotlines:
                if h in owners:
                    raise CatalogError(f"hotline {h} owned by both {owners[h]} and {d.id}")
                owners[h] = d.id
        missing = [c for c in CATEGORIES if not self.for_category(c)]
        if missing:
            raise CatalogError(f"no department serves categories: {', '.join(missing)}")
        if not self.fallback:
            object.__setattr__(self, "fallback", self.for_category(OTHER)[0].id)
        elif self.fallback not in ids:
            raise CatalogError(f"fallback department {self.fallback!r} is not in the catalog")

    def get(self, dept_id: str) -> Department:
        for d in self.departments:
            if d.id == dept_id:
                return d
        raise KeyError(dept_id)

    def for_category(self, category: str) -> list[Department]:
        """Departments serving a category, largest prior share first."""
        found = [d for d in self.departments if category in d.categories]
        return sorted(found, key=lambda d: -d.categories[category])

    def by_hotline(self, number: str) -> Department | None:
        """The owner of a legacy service number as the trunk delivers it: '12369', '010-12369',
        '075512369', '+86 755 12369' (an area code or country code before the short number)."""
        owners = {h: d for d in self.departments for h in d.hotlines}
        for candidate in _dialed_forms(number):
            if candidate in owners:
                return owners[candidate]
        return None

    @property
    def categories(self) -> tuple[str, ...]:
        return CATEGORIES


def _dialed_forms(number: str) -> list[str]:
    digits = re.sub(r"\D", "", number)
    forms = [digits]
    national = digits
    if digits.startswith("0086"):
        national = digits[4:]
    elif digits.startswith("86") and len(digits) > 7:
        national = digits[2:]
    if national != digits:
        forms.append(national)
    # Area codes are 2-3 digits after the trunk prefix 0 (010, 0755), which a country code drops.
    # A bare number keeps its digits: 12122 is not 122.
    if national != digits or digits.startswith("0"):
        rest = national[1:] if national.startswith("0") else national
        forms += [rest[2:], rest[3:]]
    return [f for f in forms if f]


def load_catalog(path: Path | None = None) -> Catalog:
    """Load and validate a catalog file (default: the one shipped with the package)."""
    path = path or DEFAULT_CATALOG_FILE
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise CatalogError(f"{path}: catalog file not found") from e
    except yaml.YAMLError as e:
        raise CatalogError(f"{path}: not valid YAML: {e}") from e
    if not isinstance(raw, dict) or not isinstance(raw.get("departments"), list):
        raise CatalogError(f"{path}: expected a mapping with a 'departments' list")
    unknown = set(raw) - {"version", "fallback", "departments"}
    if unknown:
        raise CatalogError(f"{path}: unknown top-level fields {sorted(unknown)}")
    if raw.get("version", 1) != 1:
        raise CatalogError(f"{path}: catalog version {raw['version']!r} unsupported (expected 1)")
    depts = tuple(_parse_department(path, i, entry) for i, entry in enumerate(raw["departments"]))
    if not depts:
        raise CatalogError(f"{path}: no departments")
    fallback = raw.get("fallback") or ""
    if not isinstance(fallback, str):
        raise CatalogError(f"{path}: 'fallback' must be a department id")
    try:
        return Catalog(depts, fallback)
    except CatalogError as e:
        raise CatalogError(f"{path}: {e}") from None


def _parse_department(path: Path, index: int, entry: Any) -> Department:
    where = f"{path}: department #{index + 1}"
    if not isinstance(entry, dict):
        raise CatalogError(f"{where}: expected a mapping, got {type(entry).__name__}")
    dept_id = entry.get("id")
    if not isinstance(dept_id, str) or not _ID_RE.match(dept_id):
        raise CatalogError(f"{where}: 'id' must be a lowercase identifier, got {dept_id!r}")
    where = f"{path}: department {dept_id!r}"
    for key in ("name", "duties"):
        if not isinstance(entry.get(key), str) or not entry[key].strip():
            raise CatalogError(f"{where}: '{key}' must be a non-empty string")
    unknown = set(entry) - {"id", "name", "duties", "categories", "keywords", "hotlines"}
    if unknown:
        raise CatalogError(f"{where}: unknown fields {sorted(unknown)}")
    categories = _parse_categories(where, entry.get("categories"))
    keywords = _parse_keywords(where, entry.get("keywords"), categories)
    hotlines = entry.get("hotlines") or []
    if not isinstance(hotlines, list) or not all(
        isinstance(h, str) and _HOTLINE_RE.match(h) for h in hotlines
    ):
        raise CatalogError(f"{where}: 'hotlines' must be a list of quoted digit strings like '12369'")
    return Department(
        id=dept_id,
        name=entry["name"].strip(),
        duties=entry["duties"].strip(),
        categories=categories,
        keywords=keywords,
        hotlines=tuple(hotlines),
    )


def _parse_categories(where: str, raw: Any) -> dict[str, float]:
    if isinstance(raw, list):
        raw = dict.fromkeys(raw, 1.0)
    if not isinstance(raw, dict) or not raw:
        raise CatalogError(f"{where}: 'categories' must be a non-empty list or mapping")
    out: dict[str, float] = {}
    for cat, share in raw.items():
        if cat not in CATEGORIES:
            raise CatalogError(f"{where}: unknown category {cat!r} (known: {', '.join(CATEGORIES)})")
        if isinstance(share, bool) or not isinstance(share, int | float) or not 0 < share <= 1:
            raise CatalogError(f"{where}: share of {cat} must be a number in (0, 1], got {share!r}")
        out[cat] = float(share)
    return out


def _parse_keywords(where: str, raw: Any, categories: dict[str, float]) -> dict[str, tuple[str, ...]]:
    if raw is None:
        return {}
    if isinstance(raw, list):
        raw = {next(iter(categories)): raw}
    if not isinstance(raw, dict):
        raise CatalogError(f"{where}: 'keywords' must be a list or a category -> list mapping")
    out: dict[str, tuple[str, ...]] = {}
    for cat, words in raw.items():
        if cat not in categories:
            raise CatalogError(f"{where}: keywords given for {cat!r}, which is not in its categories")
        if not isinstance(words, list) or not all(isinstance(w, str | int) for w in words):
            raise CatalogError(f"{where}: keywords of {cat} must be a list of strings")
        cleaned = tuple(dict.fromkeys(str(w).strip() for w in words if str(w).strip()))
        out[cat] = cleaned
    return out
