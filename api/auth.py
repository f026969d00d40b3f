"""Login, logout and who am I."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request

from accounts import service as accounts
from accounts.schemas import LoginRequest, LoginResult, Me
from api.deps import PrincipalDep, SessionDep, SettingsDep, UserDep, bearer_token

router = APIRouter(prefix="/api/auth", tags=["auth"])


@router.post("/login", response_model=LoginResult)
def login(session: SessionDep, settings: SettingsDep, body: LoginRequest) -> LoginResult:
    token = accounts.authenticate(session, username=body.username, password=body.password,
                                  ttl=timedelta(hours=settings.token_ttl_hours))
    principal = accounts.principal_for_token(session, token=token)
    return LoginResult(token=token, username=principal.username, role=str(principal.role),
                       department=principal.department)


@router.post("/logout", status_code=204)
def logout(request: Request, session: SessionDep, principal: UserDep) -> None:
    token = bearer_token(request)
    if token:
        accounts.revoke_token(session, token=token)


@router.get("/me", response_model=Me)
def me(principal: PrincipalDep) -> Me:
    return Me(username=principal.username, role=str(principal.role) if principal.role else None,
              department=principal.department, units=sorted(principal.units))
