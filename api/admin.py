"""Users, the dispatch tree and the read audit."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from accounts import service as accounts
from accounts.schemas import ReadAuditRead, UnitRead, UserCreate, UserRead
from api.deps import AdminDep, SessionDep, UserDep

router = APIRouter(prefix="/api", tags=["accounts"])


@router.post("/users", response_model=UserRead, status_code=201)
def create_user(session: SessionDep, admin: AdminDep, body: UserCreate) -> UserRead:
    user = accounts.create_user(session, username=body.username, password=body.password, role=body.role,
                                department=body.department, display_name=body.display_name)
    return UserRead.model_validate(user)


@router.get("/units", response_model=list[UnitRead])
def list_units(session: SessionDep, user: UserDep) -> list[UnitRead]:
    return [UnitRead.model_validate(u) for u in accounts.list_units(session)]


@router.get("/audit", response_model=list[ReadAuditRead])
def read_audit(session: SessionDep, admin: AdminDep, ticket_id: int | None = None,
               limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[ReadAuditRead]:
    return [ReadAuditRead.model_validate(r) for r in accounts.read_audit(session, ticket_id=ticket_id, limit=limit)]
