"""First-run set-up: the dispatch tree and one administrator whose password lives in HOTLINE_HOME/secrets."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from accounts import service
from accounts.models import User
from accounts.roles import Role
from foundation import secrets
from routing.catalog import Catalog

ADMIN = "admin"


def bootstrap(session: Session, *, catalog: Catalog, secrets_dir: Path) -> None:
    """Idempotent: units are upserted; the admin is created only if no admin exists."""
    service.load_units(session, catalog=catalog)
    if session.scalars(select(User.id).where(User.role == str(Role.ADMIN))).first() is None:
        service.create_user(session, username=ADMIN, role=Role.ADMIN, display_name="管理员",
                            password=secrets.get_or_create(secrets_dir, "admin_password"))
