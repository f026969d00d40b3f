"""schemathesis against whatever create_app mounts, in-process (ASGI): no request may end in a 5xx,
whether sent by the center, by a department or anonymously. Bounded: a few examples per operation."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.core.result import Err
from schemathesis.generation.case import Case

from accounts import service as accounts
from accounts.roles import Role
from api.app import create_app
from foundation import migrate
from foundation.db import open_database, transaction
from foundation.settings import Settings
from routing.catalog import load_catalog
from tickets import service
from tickets.schemas import DepartmentCandidate, TicketDraft

PASSWORD = "fuzz-pass-123"
MAX_EXAMPLES = 15  # per operation and principal: ~45 operations x 3 principals in about 40 s
# Not fuzzed: a stream that never ends by design (Server-Sent Events), and logout, which would revoke
# the token the rest of the run uses. Both have tests of their own.
SKIPPED = {("GET", "/api/console/stream"), ("POST", "/api/auth/logout")}


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[object, dict[str, dict[str, str]]]]:
    home: Path = tmp_path_factory.mktemp("schemathesis") / "home"
    s = Settings(home=home, anonymous_reads=True, ready_requires_agi=False)
    s.ensure_dirs()
    migrate.upgrade(s.db_url)
    db = open_database(s.db_url)
    with transaction(db.session_factory) as session:
        accounts.load_units(session, catalog=load_catalog())
        accounts.create_user(session, username="op", password=PASSWORD, role=Role.OPERATOR, department=None)
        accounts.create_user(session, username="lh", password=PASSWORD, role=Role.DEPARTMENT, department="longhua")
        for text, dept in (("金盘路路灯坏了", "longhua"), ("白龙路积水", "meilan")):
            draft = TicketDraft(transcript=text, caller_number="13812345678", type="投诉", category="城乡建设",
                                departments=[DepartmentCandidate(id=dept, name=dept, confidence=0.9)])
            service.open_ticket(session, draft=draft, actor="ivr")
    app = create_app(s, db.session_factory)
    client = TestClient(app)
    headers: dict[str, dict[str, str]] = {"anonymous": {}}
    for principal, user in (("center", "op"), ("department", "lh")):
        r = client.post("/api/auth/login", json={"username": user, "password": PASSWORD})
        assert r.status_code == 200, r.text
        headers[principal] = {"Authorization": f"Bearer {r.json()['token']}"}
    yield app, headers
    for principal in ("center", "department"):  # the tokens survived the run: it was signed in throughout
        assert client.get("/api/auth/me", headers=headers[principal]).status_code == 200
    db.engine.dispose()


@pytest.mark.parametrize("principal", ["center", "department", "anonymous"])
def test_no_server_errors(api: tuple[object, dict[str, dict[str, str]]], principal: str) -> None:
    app, headers = api
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            raise AssertionError(f"the app's OpenAPI document has an invalid operation: {result.err()}")
        operation = result.ok()
        if (operation.method.upper(), operation.path) in SKIPPED:
            continue
        operations += 1

        @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy(), extra=st.just(None))
        def run(case: Case, extra: None) -> None:
            try:
                response = case.call(headers=dict(headers[principal]))
            except Exception as exc:  # the in-process transport re-raises what a server turns into a 500
                failures.append(f"500 {case.method} {case.formatted_path} query={case.query} "
                                f"body={str(case.body)[:200]}: {type(exc).__name__}: {str(exc)[:160]}")
                return
            if response.status_code >= 500:
                failures.append(f"{response.status_code} {case.method} {case.formatted_path} "
                                f"query={case.query} body={str(case.body)[:200]}: {response.text[:200]}")

        run()
    assert operations >= 20  # the whole API was exercised, not an empty schema
    assert not failures, "\n".join(sorted(set(failures))[:30])


@pytest.mark.parametrize("url", ["/api/tickets/9223372036854775808", "/api/tickets/-99999999999999999999",
                                 "/api/tickets?offset=9223372036854775809",
                                 "/api/tickets/9223372036854775808/slip.pdf"])
def test_numbers_past_the_database_range_are_bad_input(api: tuple[object, dict[str, dict[str, str]]],
                                                       url: str) -> None:
    """Found by this fuzzing: SQLite raised OverflowError, a 500. Now 422 with a stable id."""
    app, headers = api
    r = TestClient(app).get(url, headers=headers["center"])  # type: ignore[arg-type]
    assert r.status_code == 422 and r.json()["error"]["id"] == "invalid_input.out_of_range"
    assert "Traceback" not in r.text
