"""Accounts services: keyword-only functions taking the session first; callers own the transaction."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from accounts.errors import BadCredentials, UnknownUnit, UserExists, UserNotFound
from accounts.models import ApiToken, ReadAudit, ReadAuditTicket, Unit, User
from accounts.passwords import hash_password, verify_password
from accounts.principal import Principal
from accounts.roles import Role
from foundation.db import utcnow
from foundation.errors import InvalidInput
from routing.catalog import Catalog

UNITS_FILE = Path(__file__).resolve().parent / "units.yaml"
UNIT_KINDS = ("department", "district", "street", "community", "grid")


# --- units: the dispatch tree ------------------------------------------------------------------


def load_units(session: Session, *, catalog: Catalog, tree_file: Path = UNITS_FILE) -> int:
    """Upsert the catalog's departments and the tree in `tree_file`; idempotent. Returns units known."""
    existing = {u.code: u for u in session.scalars(select(Unit))}

    def upsert(code: str, name: str, kind: str, parent: Unit | None, phone: str = "") -> Unit:
        if kind not in UNIT_KINDS:
            raise InvalidInput(f"unit {code!r}: kind must be one of {', '.join(UNIT_KINDS)}", unit=code)
        path = f"{parent.path if parent else '/'}{code}/"
        unit = existing.get(code)
        if unit is None:
            unit = Unit(code=code)
            session.add(unit)
            existing[code] = unit
        unit.name, unit.kind, unit.parent_code, unit.path, unit.phone = (
            name, kind, parent.code if parent else None, path, phone)
        session.flush()  # children reference this row
        return unit

    for dept in catalog.departments:
        upsert(dept.id, dept.name, "department", None)

    def walk(nodes: Iterable[Mapping[str, Any]], parent: Unit | None) -> None:
        for node in nodes:
            try:
                unit = upsert(str(node["code"]), str(node["name"]), str(node["kind"]), parent,
                              str(node.get("phone", "")))
            except KeyError as e:
                raise InvalidInput(f"{tree_file}: a unit lacks {e.args[0]!r}: {dict(node)}") from None
            walk(node.get("children") or (), unit)

    data = yaml.safe_load(tree_file.read_text(encoding="utf-8")) or {}
    walk(data.get("units") or (), None)
    return len(existing)


def get_unit(session: Session, *, code: str) -> Unit:
    unit = session.get(Unit, code)
    if unit is None:
        raise UnknownUnit(f"unknown unit {code!r}", unit=code)
    return unit


def subtree(session: Session, *, code: str) -> frozenset[str]:
    """The unit and every unit below it."""
    unit = get_unit(session, code=code)
    return frozenset(session.scalars(select(Unit.code).where(Unit.path.startswith(unit.path, autoescape=True))))


def list_units(session: Session) -> list[Unit]:
    return list(session.scalars(select(Unit).order_by(Unit.path)))


# --- users and tokens ----------------------------------------------------------------------------


def create_user(session: Session, *, username: str, password: str, role: Role | str,
                department: str | None = None, display_name: str = "") -> User:
    try:
        role = Role(role)
    except ValueError:
        raise InvalidInput(f"unknown role {role!r}; known: {', '.join(Role)}", role=str(role)) from None
    if role == Role.DEPARTMENT and not department:
        raise InvalidInput("department users need a unit (department=...)", role=str(role))
    if role != Role.DEPARTMENT and department:
        raise InvalidInput("only department users belong to a unit", role=str(role))
    if not username.strip() or len(password) < 8:
        raise InvalidInput("a username and a password of at least 8 characters are required")
    if department:
        get_unit(session, code=department)
    if session.scalars(select(User.id).where(User.username == username)).first() is not None:
        raise UserExists(f"user {username!r} exists", username=username)
    user = User(username=username, role=str(role), department=department, display_name=display_name,
                password_hash=hash_password(password))
    session.add(user)
    session.flush()
    return user


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(session: Session, *, user_id: int, ttl: timedelta = timedelta(hours=12),
                now: datetime | None = None) -> str:
    token = secrets.token_urlsafe(32)
    session.add(ApiToken(digest=_digest(token), user_id=user_id, expires_at=(now or utcnow()) + ttl))
    session.flush()
    return token


def authenticate(session: Session, *, username: str, password: str, ttl: timedelta = timedelta(hours=12)) -> str:
    user = session.scalars(select(User).where(User.username == username)).first()
    # Same error whether the user exists or not: a login form must not confirm usernames.
    if user is None or not user.active or not verify_password(password, user.password_hash):
        raise BadCredentials("wrong username or password")
    return issue_token(session, user_id=user.id, ttl=ttl)


def revoke_token(session: Session, *, token: str) -> None:
    row = session.scalars(select(ApiToken).where(ApiToken.digest == _digest(token))).first()
    if row is not None:
        row.revoked = True


def principal_for_user(session: Session, *, user: User) -> Principal:
    units = subtree(session, code=user.department) if user.department else frozenset()
    return Principal(user_id=user.id, username=user.username, role=Role(user.role),
                     department=user.department, units=units)


def principal_for_token(session: Session, *, token: str, now: datetime | None = None) -> Principal:
    row = session.scalars(select(ApiToken).where(ApiToken.digest == _digest(token))).first()
    if row is None or row.revoked or row.expires_at <= (now or utcnow()):
        raise BadCredentials("the token is unknown, revoked or expired: log in again")
    user = session.get_one(User, row.user_id)
    if not user.active:
        raise BadCredentials("the account is disabled")
    return principal_for_user(session, user=user)


# --- audit ------------------------------------------------------------------------------------


def audit_read(session: Session, *, principal: Principal, ticket_ids: Iterable[int], what: str,
               via: str = "") -> None:
    ids = sorted(set(ticket_ids))
    if ids:
        row = ReadAudit(user_id=principal.user_id, actor=principal.actor, what=what, ticket_ids=ids, via=via)
        session.add(row)
        session.flush()
        session.add_all(ReadAuditTicket(audit_id=row.id, ticket_id=t) for t in ids)


def read_audit(session: Session, *, ticket_id: int | None = None, limit: int = 100) -> list[ReadAudit]:
    """The latest reads, newest first; with `ticket_id`, every read of that ticket's personal data."""
    query = select(ReadAudit)
    if ticket_id is not None:
        query = query.join(ReadAuditTicket, ReadAuditTicket.audit_id == ReadAudit.id).where(
            ReadAuditTicket.ticket_id == ticket_id)
    return list(session.scalars(query.order_by(ReadAudit.id.desc()).limit(limit)))


def user_id(session: Session, *, username: str) -> int:
    found = session.scalars(select(User.id).where(User.username == username)).first()
    if found is None:
        raise UserNotFound(f"no user {username!r}", username=username)
    return found
