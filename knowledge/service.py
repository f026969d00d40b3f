"""Knowledge-base services: keyword-only functions taking the session first; callers own the transaction."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from foundation.errors import Conflict, InvalidInput, NotFound
from knowledge.models import KbEntry
from knowledge.schemas import KbEntryIn, KbEntryPatch
from knowledge.search import Document, Hit, rank
from routing.catalog import CATEGORIES, Catalog

SEED_FILE = Path(__file__).resolve().parent / "seed.yaml"


class KbEntryNotFound(NotFound):
    error_id = "kb.not_found"


class KbInvalid(InvalidInput):
    error_id = "kb.invalid"


class KbSlugTaken(Conflict):
    error_id = "kb.slug_taken"


def _check(data: dict[str, Any], catalog: Catalog | None) -> None:
    category = data.get("category")
    if category and category not in CATEGORIES:
        raise KbInvalid(f"unknown category {category!r}; known: {', '.join(CATEGORIES)}", category=category)
    dept = data.get("department_id")
    if dept and catalog is not None:
        try:
            catalog.get(dept)
        except KeyError:
            raise KbInvalid(f"unknown department {dept!r}", department_id=dept) from None
    for key in ("title", "answer"):
        if key in data and data[key] is not None and not str(data[key]).strip():
            raise KbInvalid(f"{key} must not be empty", field=key)


def create_entry(session: Session, *, data: KbEntryIn, actor: str, catalog: Catalog | None = None,
                 slug: str | None = None) -> KbEntry:
    fields = data.model_dump()
    _check(fields, catalog)
    if slug is not None and session.scalars(select(KbEntry.id).where(KbEntry.slug == slug)).first() is not None:
        raise KbSlugTaken(f"an entry with slug {slug!r} exists", slug=slug)
    entry = KbEntry(slug=slug, updated_by=actor, **{k: v.strip() if isinstance(v, str) else v
                                                      for k, v in fields.items()})
    session.add(entry)
    session.flush()
    return entry


def get_entry(session: Session, *, entry_id: int) -> KbEntry:
    entry = session.get(KbEntry, entry_id)
    if entry is None:
        raise KbEntryNotFound(f"knowledge-base entry {entry_id} does not exist", entry_id=entry_id)
    return entry


def update_entry(session: Session, *, entry_id: int, patch: KbEntryPatch, actor: str,
                 catalog: Catalog | None = None) -> KbEntry:
    entry = get_entry(session, entry_id=entry_id)
    changes = patch.model_dump(exclude_unset=True)
    _check(changes, catalog)
    for key, value in changes.items():
        if value is not None:
            setattr(entry, key, value.strip() if isinstance(value, str) else value)
    entry.updated_by = actor
    session.flush()
    return entry


def delete_entry(session: Session, *, entry_id: int) -> None:
    session.delete(get_entry(session, entry_id=entry_id))


def list_entries(session: Session, *, include_inactive: bool = False, limit: int = 100,
                 offset: int = 0) -> tuple[list[KbEntry], int]:
    query = select(KbEntry)
    if not include_inactive:
        query = query.where(KbEntry.active.is_(True))
    rows = list(session.scalars(query.order_by(KbEntry.id)))
    return rows[offset:offset + limit], len(rows)


def search(session: Session, *, query: str, limit: int = 5, department_id: str | None = None) -> list[
        tuple[KbEntry, Hit]]:
    """Active entries ranked for `query` (a caller's words or an operator's search box).

    Ranks in memory over every active entry: a center's FAQ is hundreds to a few thousand entries,
    which bench/screen_pop.py shows is well inside the pop budget; a search index is the next step."""
    entries = {e.id: e for e in session.scalars(select(KbEntry).where(KbEntry.active.is_(True)))}
    docs = [Document(e.id, {"title": e.title, "tags": e.tags, "question": e.question, "answer": e.answer})
            for e in entries.values()]
    hits = rank(query, docs, limit=max(limit * 3, limit))
    if department_id:
        # Entries of the ticket's department first, others after: the router may be wrong.
        hits.sort(key=lambda h: (entries[h.id].department_id != department_id, -h.score))
    return [(entries[h.id], h) for h in hits[:limit]]


def seed_entries(catalog: Catalog, seed_file: Path = SEED_FILE) -> list[tuple[str, KbEntryIn]]:
    """The handwritten entries plus one per department owning a former hotline (from the catalog)."""
    raw = yaml.safe_load(seed_file.read_text(encoding="utf-8")) or {}
    out: list[tuple[str, KbEntryIn]] = []
    for item in raw.get("entries") or []:
        item = dict(item)
        slug = str(item.pop("slug"))
        out.append((slug, KbEntryIn(**item)))
    for dept in catalog.departments:
        if not dept.hotlines:
            continue
        numbers = "、".join(dept.hotlines)
        out.append((f"dept-{dept.id}", KbEntryIn(
            title=f"{dept.name}职责与原{numbers}热线",
            question=f"{numbers}打不通 {numbers}是哪个部门 {dept.name}管什么 {dept.name}电话",
            answer=(f"{dept.name}负责：{dept.duties}。原{numbers}服务热线已整合进12345，"
                    "市民直接拨打12345即可，我们登记后派给该部门办理。"),
            category=dept.primary_category, department_id=dept.id,
            tags=f"{dept.name} {numbers} 部门电话 职责")))
    return out


def seed(session: Session, *, catalog: Catalog, seed_file: Path = SEED_FILE, actor: str = "seed") -> int:
    """Insert missing seed entries (by slug); entries already present, edited or not, are left alone.
    Returns how many were added."""
    have = set(session.scalars(select(KbEntry.slug).where(KbEntry.slug.is_not(None))))
    added = 0
    for slug, data in seed_entries(catalog, seed_file):
        if slug not in have:
            create_entry(session, data=data, actor=actor, catalog=catalog, slug=slug)
            added += 1
    return added


def seed_if_empty(session: Session, *, catalog: Catalog) -> int:
    """First start: the starter entries. Later starts never bring back entries someone deleted."""
    if session.scalars(select(KbEntry.id).limit(1)).first() is not None:
        return 0
    return seed(session, catalog=catalog)
