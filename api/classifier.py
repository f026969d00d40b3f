"""The request router for views that classify text (written intake channels), loaded once per app."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from routing.catalog import Catalog
from routing.classify import Router


def get_router(request: Request) -> Router:
    """Loaded on first use (a trained model takes seconds), then kept on app.state; a composition
    root or a test may set app.state.router beforehand. Two first requests racing both load it and
    the last one stays: harmless, and it keeps this lock-free."""
    state = request.app.state
    router: Router | None = getattr(state, "router", None)
    if router is None:
        catalog: Catalog | None = getattr(state, "catalog", None)
        router = Router.load(state.settings.router_model_file, catalog=catalog)
        state.router = router
    return router


RouterDep = Annotated[Router, Depends(get_router)]
