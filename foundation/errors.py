"""Typed domain errors with stable ids; api/ maps them to HTTP in one place."""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    error_id: ClassVar[str] = "error"
    http_status: ClassVar[int] = 400

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class NotFound(DomainError):
    error_id = "not_found"
    http_status = 404


class TicketNotFound(NotFound):
    error_id = "ticket.not_found"


class InvalidInput(DomainError):
    error_id = "invalid_input"
    http_status = 422


class Conflict(DomainError):
    error_id = "conflict"
    http_status = 409
