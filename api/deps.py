"""Dependency aliases shared by the views."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session, sessionmaker

from accounts import service as accounts
from accounts.errors import AccessDenied, AuthRequired
from accounts.principal import ANONYMOUS, Principal
from accounts.roles import Role
from deadlines.policy import Policy
from foundation.db import read_only
from foundation.settings import Settings
from routing.catalog import Catalog


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_session(request: Request) -> Iterator[Session]:
    factory: sessionmaker[Session] = request.app.state.session_factory
    with factory() as session, session.begin():
        yield session


def get_read_session(request: Request) -> Iterator[Session]:
    factory: sessionmaker[Session] = request.app.state.session_factory
    with read_only(factory) as session:
        yield session


def get_policy(request: Request) -> Policy:
    policy: Policy = request.app.state.policy
    return policy


def get_catalog(request: Request) -> Catalog:
    catalog: Catalog = request.app.state.catalog
    return catalog


SettingsDep = Annotated[Settings, Depends(get_settings)]
# scope="function": commit before the response is sent. The default ("request") commits after it, so
# a client could read its own write before it lands, or be told "done" about a commit that failed.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
# Reads only (health): on SQLite it does not queue behind the writers; a write in it fails.
ReadSessionDep = Annotated[Session, Depends(get_read_session, scope="function")]
PolicyDep = Annotated[Policy, Depends(get_policy)]
CatalogDep = Annotated[Catalog, Depends(get_catalog)]


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    # EventSource, <audio> and a dashboard link cannot send headers, so GETs may carry ?token=.
    # Never for changes: a token in a URL ends up in logs and histories, so it must not be able to write.
    if request.method != "GET":
        return None
    return request.query_params.get("token") or None


def current_principal(request: Request, settings: SettingsDep) -> Principal:
    token = bearer_token(request)
    factory: sessionmaker[Session] = request.app.state.session_factory
    if token is None:
        if request.method == "GET" and settings.anonymous_reads_allowed:
            return ANONYMOUS
        raise AuthRequired("log in first: send Authorization: Bearer <token> (POST /api/auth/login)")
    # Its own short transaction: a failed login check must not roll back the view's work, or vice versa.
    with factory() as session, session.begin():
        return accounts.principal_for_token(session, token=token)


def signed_in(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    if principal.anonymous:
        raise AuthRequired("log in first: send Authorization: Bearer <token> (POST /api/auth/login)")
    return principal


PrincipalDep = Annotated[Principal, Depends(current_principal)]  # may be the anonymous viewer
UserDep = Annotated[Principal, Depends(signed_in)]  # a signed-in user


def require_roles(*roles: Role) -> Callable[[Principal], Principal]:
    allowed = frozenset(roles)

    def check(principal: UserDep) -> Principal:
        if principal.role not in allowed:
            raise AccessDenied(f"this needs one of the roles {', '.join(sorted(allowed))}",
                               role=str(principal.role))
        return principal

    return check


CenterDep = Annotated[Principal, Depends(require_roles(Role.OPERATOR, Role.DISPATCHER, Role.ADMIN, Role.SYSTEM))]
AdminDep = Annotated[Principal, Depends(require_roles(Role.ADMIN))]
