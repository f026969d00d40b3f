"""Domain errors → HTTP, in one place: {"error": {"id": stable id, "message": …}}."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from hotline.errors import DomainError


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain_error(_request: Request, exc: DomainError) -> JSONResponse:
        return JSONResponse(
            status_code=exc.http_status,
            content={"error": {"id": exc.error_id, "message": exc.message, "details": exc.details}},
        )
