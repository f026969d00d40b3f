"""The API's application factory (its composition root is hotline.roots.build_api)."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from api import admin, auth, errors, health, intake, metrics, open311, reports, slips, tickets
from api import console as console_views
from api import knowledge as knowledge_views
from console.hub import PushHub
from deadlines.policy import Policy
from foundation.settings import Settings
from routing.catalog import load_catalog


def create_app(settings: Settings, session_factory: sessionmaker[Session]) -> FastAPI:
    app = FastAPI(title="12345 hotline", version="0.1.0")
    app.state.settings = settings
    app.state.session_factory = session_factory
    app.state.policy = Policy.load(settings.deadline_policy_path)
    app.state.catalog = load_catalog()
    errors.install(app)
    app.include_router(health.router)
    app.include_router(metrics.router_for(settings, session_factory))  # /metrics, /ready (issue 7)
    app.include_router(tickets.router)
    app.include_router(auth.router)
    app.include_router(admin.router)
    app.include_router(open311.router)
    app.include_router(intake.router)
    app.include_router(slips.router)
    # Operator desk (issue 4): screen pops pushed from the AMI follower (started by hotline.roots).
    app.state.console_hub = PushHub()
    app.include_router(console_views.router)
    app.include_router(knowledge_views.router)
    app.include_router(reports.router)  # reports, hot issues, alerts, exports (issue 6)
    return app
