"""Errors of the accounts domain (stable ids; api/errors.py maps them to HTTP)."""

from __future__ import annotations

from foundation.errors import Conflict, DomainError, InvalidInput, NotFound


class AuthRequired(DomainError):
    error_id = "auth.required"
    http_status = 401


class BadCredentials(AuthRequired):
    error_id = "auth.bad_credentials"


class AccessDenied(DomainError):
    error_id = "auth.forbidden"
    http_status = 403


class UnknownUnit(InvalidInput):
    error_id = "unit.unknown"


class UserExists(Conflict):
    error_id = "user.exists"


class UserNotFound(NotFound):
    error_id = "user.not_found"
