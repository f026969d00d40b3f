"""The API's application factory (its composition root is hotline.roots.build_api)."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from api import errors, health, tickets
from hotline.settings import Settings


def create_app(settings: Settings, session_factory: sessionmaker[Session]) -> FastAPI:
    app = FastAPI(title="12345 hotline", version="0.1.0")
    app.state.settings = settings
    app.state.session_factory = session_factory
    errors.install(app)
    app.include_router(health.router)
    app.include_router(tickets.router)
    return app
