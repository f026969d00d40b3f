"""Knowledge-base views: operators search and read; dispatchers and admins manage entries."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from accounts.principal import Principal
from accounts.roles import Role
from api.deps import CatalogDep, CenterDep, SessionDep, require_roles
from knowledge import service
from knowledge.schemas import KbEntryIn, KbEntryPatch, KbEntryRead, KbHit, KbList

router = APIRouter(prefix="/api/kb", tags=["knowledge"])
EditorDep = Annotated[Principal, Depends(require_roles(Role.DISPATCHER, Role.ADMIN))]


@router.get("", response_model=KbList)
def list_entries(session: SessionDep, _p: CenterDep, include_inactive: bool = False,
                 limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                 offset: Annotated[int, Query(ge=0)] = 0) -> KbList:
    items, total = service.list_entries(session, include_inactive=include_inactive, limit=limit, offset=offset)
    return KbList(items=[KbEntryRead.model_validate(e) for e in items], total=total)


@router.get("/search", response_model=list[KbHit])
def search(session: SessionDep, _p: CenterDep, q: Annotated[str, Query(min_length=1, max_length=2000)],
           limit: Annotated[int, Query(ge=1, le=20)] = 5, department_id: str | None = None) -> list[KbHit]:
    return [KbHit(entry=KbEntryRead.model_validate(e), score=h.score, matched=list(h.matched))
            for e, h in service.search(session, query=q, limit=limit, department_id=department_id)]


@router.get("/{entry_id}", response_model=KbEntryRead)
def get_entry(session: SessionDep, _p: CenterDep, entry_id: int) -> KbEntryRead:
    return KbEntryRead.model_validate(service.get_entry(session, entry_id=entry_id))


@router.post("", response_model=KbEntryRead, status_code=201)
def create_entry(session: SessionDep, catalog: CatalogDep, principal: EditorDep, body: KbEntryIn) -> KbEntryRead:
    return KbEntryRead.model_validate(service.create_entry(session, data=body, actor=principal.actor,
                                                           catalog=catalog))


@router.patch("/{entry_id}", response_model=KbEntryRead)
def update_entry(session: SessionDep, catalog: CatalogDep, principal: EditorDep, entry_id: int,
                 body: KbEntryPatch) -> KbEntryRead:
    return KbEntryRead.model_validate(service.update_entry(session, entry_id=entry_id, patch=body,
                                                           actor=principal.actor, catalog=catalog))


@router.delete("/{entry_id}", status_code=204)
def delete_entry(session: SessionDep, _p: EditorDep, entry_id: int) -> None:
    service.delete_entry(session, entry_id=entry_id)
