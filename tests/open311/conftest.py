"""Fixtures: the real router (loaded once), an app with it, and users with tokens."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from accounts import service as accounts
from accounts.roles import Role
from api.app import create_app
from foundation.db import transaction
from foundation.settings import Settings
from routing.catalog import load_catalog
from routing.classify import Router


@pytest.fixture(scope="session")
def router() -> Router:
    return Router.load(None)


@pytest.fixture
def client(settings: Settings, session_factory: sessionmaker[Session], router: Router) -> TestClient:
    app = create_app(settings, session_factory)
    app.state.router = router  # the same real router, loaded once for the whole session
    return TestClient(app)


Token = Callable[..., str]


@pytest.fixture
def token(session_factory: sessionmaker[Session]) -> Token:
    """token(role, department=None) -> a bearer token of a fresh user with that role."""
    with transaction(session_factory) as s:
        accounts.load_units(s, catalog=load_catalog())
    made: list[int] = []

    def make(role: Role, department: str | None = None) -> str:
        made.append(1)
        with transaction(session_factory) as s:
            user = accounts.create_user(s, username=f"{role}-{len(made)}", password="test-password",
                                        role=role, department=department)
            return accounts.issue_token(s, user_id=user.id)

    return make
