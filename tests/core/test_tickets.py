from __future__ import annotations

import multiprocessing
import re
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from foundation.db import make_engine, make_session_factory, transaction
from foundation.errors import TicketNotFound
from tickets import service
from tickets.models import CallOutcome, Ticket, TicketEvent
from tickets.schemas import DepartmentCandidate, TicketDraft


def _call(s: Session, caller: str = "13800138000") -> str:
    return service.start_call(s, channel="Local/s@citizen-1;1", uniqueid="u1", caller_number=caller,
                              dialed_number="12345").id


def test_open_ticket_attaches_recordings_and_logs_event(session_factory: sessionmaker[Session]) -> None:
    with transaction(session_factory) as s:
        call_id = _call(s)
        service.add_recording(s, call_id=call_id, turn=1, purpose="request", path="/x/01-request.wav")
        draft = TicketDraft(call_id=call_id, caller_number="13800138000", transcript="路灯坏了",
                            summary="路灯坏了", type="投诉", category="城乡建设",
                            departments=[DepartmentCandidate(id="urban_mgmt", name="市城管局", confidence=0.8)],
                            place="金盘路", confirmed_by_caller=True)
        ticket = service.open_ticket(s, draft=draft, actor="ivr")
        ticket_id = ticket.id
    with session_factory() as s:
        t = service.get_ticket(s, ticket_id=ticket_id)
        assert re.fullmatch(r"\d{11}", t.number)
        assert t.status == "accepted"
        assert t.department_id == "urban_mgmt" and t.department_name == "市城管局"
        assert [r.purpose for r in t.recordings] == ["request"]
        assert [e.kind for e in t.events] == ["accepted"]
        assert t.events[0].actor == "ivr"


def test_numbers_increase_within_a_day(session_factory: sessionmaker[Session]) -> None:
    numbers = []
    for _ in range(3):
        with transaction(session_factory) as s:
            numbers.append(service.open_ticket(s, draft=TicketDraft(transcript="x"), actor="t").number)
    assert numbers == sorted(numbers) and len(set(numbers)) == 3
    assert int(numbers[2][-5:]) - int(numbers[0][-5:]) == 2


def _open_many(url: str, n: int, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    engine = make_engine(url)
    factory = make_session_factory(engine)
    for _ in range(n):
        with transaction(factory) as s:
            out.put(service.open_ticket(s, draft=TicketDraft(transcript="并发"), actor="t").number)
    engine.dispose()


def test_numbers_unique_across_processes(settings, database) -> None:  # type: ignore[no-untyped-def]
    ctx = multiprocessing.get_context("fork")
    q: multiprocessing.Queue = ctx.Queue()  # type: ignore[type-arg]
    procs = [ctx.Process(target=_open_many, args=(settings.db_url, 10, q)) for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    numbers = [q.get(timeout=5) for _ in range(40)]
    assert len(set(numbers)) == 40


def test_end_call_transfer_is_logged(session_factory: sessionmaker[Session]) -> None:
    with transaction(session_factory) as s:
        call_id = _call(s)
        t = service.open_ticket(s, draft=TicketDraft(call_id=call_id, transcript="x"), actor="ivr")
        service.end_call(s, call_id=call_id, outcome=CallOutcome.OPERATOR, reason="caller_asked_operator")
        tid = t.id
    with session_factory() as s:
        kinds = s.scalars(select(TicketEvent.kind).where(TicketEvent.ticket_id == tid)).all()
        assert kinds == ["accepted", "transfer_operator"]
        assert service.find_call(s, uniqueid="u1").outcome == "operator"  # type: ignore[union-attr]


def test_missing_ticket_is_a_typed_error(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as s:
        try:
            service.get_ticket(s, ticket_id=999)
        except TicketNotFound as e:
            assert e.error_id == "ticket.not_found"
        else:
            raise AssertionError("expected TicketNotFound")
        assert s.scalars(select(Ticket)).all() == []


def test_timestamps_are_aware_utc_on_every_backend(session_factory: sessionmaker[Session]) -> None:
    with transaction(session_factory) as s:
        tid = service.open_ticket(s, draft=TicketDraft(transcript="x"), actor="t").id
    with session_factory() as s:
        t = service.get_ticket(s, ticket_id=tid)
        assert t.created_at.utcoffset() == timedelta(0)
