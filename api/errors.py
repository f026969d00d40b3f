"""Domain errors → HTTP, in one place: {"error": {"id": stable id, "message": …}}."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError

from foundation.errors import DomainError

log = logging.getLogger(__name__)


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain_error(_request: Request, exc: DomainError) -> JSONResponse:
        return JSONResponse(
            status_code=exc.http_status,
            content={"error": {"id": exc.error_id, "message": exc.message, "details": exc.details}},
        )

    @app.exception_handler(OverflowError)
    async def _out_of_range(request: Request, exc: OverflowError) -> JSONResponse:
        # An id or offset past SQLite's 64-bit integers reaches the driver as OverflowError. Found by
        # schemathesis as a 500 (GET /api/tickets/9223372036854775808): bad input.
        return _refused(request, "invalid_input.out_of_range", "a number in the request is out of range", exc)

    @app.exception_handler(DataError)
    async def _unstorable(request: Request, exc: DataError) -> JSONResponse:
        # PostgreSQL refuses the value: an id past its 32-bit integer columns (GET /api/tickets/2147483648),
        # NUL in text. Found by the bypass and Unicode tests as 500s.
        return _refused(request, "invalid_input.unstorable", "a value in the request cannot be stored", exc)

    @app.exception_handler(UnicodeEncodeError)
    async def _unencodable(request: Request, exc: UnicodeEncodeError) -> JSONResponse:
        # JSON may escape lone surrogates ("\\ud800"); no database stores them (utf-8 refuses). Any other
        # encoding failure is a bug of ours: a 500, logged with its traceback.
        if "surrogate" not in exc.reason:
            log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
            return JSONResponse(status_code=500, content={"error": {
                "id": "internal", "message": "internal error", "details": {}}})
        return _refused(request, "invalid_input.text", "text in the request has lone surrogates (invalid UTF-16)", exc)


def _refused(request: Request, error_id: str, message: str, exc: Exception) -> JSONResponse:
    log.warning("%s %s: %s (%s)", request.method, request.url.path, message, str(exc).splitlines()[0][:200])
    return JSONResponse(status_code=422, content={"error": {"id": error_id, "message": message, "details": {}}})
