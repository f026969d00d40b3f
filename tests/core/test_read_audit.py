"""The read audit answers "who saw this caller's data" over every read ever written."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from sqlalchemy import delete, insert
from sqlalchemy.orm import Session, sessionmaker

from accounts import service as accounts
from accounts.models import ReadAudit, ReadAuditTicket
from accounts.principal import Principal
from accounts.roles import Role
from foundation.db import transaction

REPO = Path(__file__).resolve().parents[2]
CLERK = Principal(user_id=None, username="lh-clerk", role=Role.DEPARTMENT, department="lh")


def test_an_old_read_is_found_behind_thousands_of_newer_ones(session_factory: sessionmaker[Session]) -> None:
    with transaction(session_factory) as s:
        accounts.audit_read(s, principal=CLERK, ticket_ids=[7, 7, 8], what="ticket_detail", via="/api/tickets/7")
        for i in range(1500):  # a busy desk afterwards, none of it about ticket 7
            accounts.audit_read(s, principal=CLERK, ticket_ids=[100 + i % 50], what="ticket_list")
        accounts.audit_read(s, principal=CLERK, ticket_ids=[], what="ticket_list")  # showed nobody: no row
    with session_factory() as s:
        [old] = accounts.read_audit(s, ticket_id=7)
        assert (old.ticket_ids, old.what, old.via) == ([7, 8], "ticket_detail", "/api/tickets/7")
        assert [r.id for r in accounts.read_audit(s, ticket_id=8)] == [old.id]
        assert len(accounts.read_audit(s, ticket_id=120, limit=1000)) == 30
        latest = accounts.read_audit(s, limit=3)
        assert len(latest) == 3 and latest[0].id > latest[1].id > latest[2].id
        assert accounts.read_audit(s, ticket_id=99) == []


def test_the_migration_links_the_reads_written_before_it(session_factory: sessionmaker[Session]) -> None:
    spec = importlib.util.spec_from_file_location(
        "migration_0010", REPO / "foundation" / "migrations" / "versions" / "0010_read_audit_tickets.py")
    assert spec is not None and spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    with transaction(session_factory) as s:  # rows as the code before 0010 wrote them: no links
        s.execute(insert(ReadAudit), [{"actor": "a", "what": "w", "ticket_ids": [3, 1, 3], "via": ""},
                                      {"actor": "a", "what": "w", "ticket_ids": [], "via": ""},
                                      {"actor": "a", "what": "w", "ticket_ids": [1], "via": ""}])
        s.execute(delete(ReadAuditTicket))
    with transaction(session_factory) as s:
        assert migration.backfill(s.connection(), batch=2) == 3  # two batches
    with session_factory() as s:
        assert [r.ticket_ids for r in accounts.read_audit(s, ticket_id=1)] == [[1], [3, 1, 3]]
        assert [r.ticket_ids for r in accounts.read_audit(s, ticket_id=3)] == [[3, 1, 3]]
