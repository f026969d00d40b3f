"""The overflow leg (queue timeout → 待回拨) with the database unavailable: the caller is still served
and promised a call back, the leg's writes wait in a journal of its own, and the replay marks the
ticket once (real SQLite / PostgreSQL, real files, real VAD, the packaged router)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import replace

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from foundation.db import Database
from foundation.settings import Settings
from ivr_flows.intake import CALL_ID_VAR, run_intake
from ivr_flows.overflow import promise_text, run_overflow
from ivr_flows.ports import CallServices
from ivr_flows.replay import replay_journal
from routing.classify import Router
from tests.faults.outages import Outage, journal_ops, journals, row_counts
from tests.flows.conftest import CALLER
from tests.flows.fakes import QueueLeg, Step
from tickets import service
from tickets.models import Call, Ticket

REQUEST = "龙华区金盘路的路灯坏了好几天了晚上很黑"
AGAIN = "金盘路的路灯坏了"
UNIQUEID = "1700000000.91"
CHANNEL = "Local/s@citizen-0001;1"


def _intake(chan: QueueLeg, services: CallServices) -> None:
    run_intake(chan, services, channel_name=CHANNEL, uniqueid=UNIQUEID, caller=CALLER, dialed="12345")


def _overflow(chan: QueueLeg, services: CallServices) -> int | None:
    chan.vars["HOTLINE_QUEUESTATUS"] = "TIMEOUT"
    chan.played.clear()
    return run_overflow(chan, services, channel_name=CHANNEL, uniqueid=UNIQUEID, caller=CALLER, dialed="")








def _the_ticket(s: Session) -> Ticket:
    return service.get_ticket(s, ticket_id=s.scalars(select(Ticket.id)).one())


def test_the_mark_waits_in_the_journal_and_is_replayed_once(
        make_services: Callable[..., CallServices], speech: Callable[[str], bytes], settings: Settings,
        session_factory: sessionmaker[Session], unreachable: Database, router: Router) -> None:
    """Intake wrote its ticket; the database is gone when the queue times out."""
    services = make_services([REQUEST, "对"])
    chan = QueueLeg([Step(speech(REQUEST)), Step(speech("对"))])
    _intake(chan, services)
    tid = int(chan.vars["TICKET_ID"])
    assert _overflow(chan, replace(services, session_factory=unreachable.session_factory)) == tid
    promise = promise_text(settings.overflow_callback_minutes)
    assert chan.played == ["prompt:overflow_registered", f"text:{promise}"]  # nothing asked again
    [journal] = journals(settings)
    assert journal.name == f"{chan.vars[CALL_ID_VAR]}.overflow.jsonl"
    assert journal_ops(journal) == ["start_call", "missed_callback"]
    with session_factory() as s:
        assert not _the_ticket(s).missed_callback  # not yet: the database never heard of it

    backup = settings.home / "overflow-copy.jsonl"
    shutil.copy(journal, backup)
    report = replay_journal(session_factory, settings.journal_dir, router=router)
    assert (report.replayed, report.tickets, report.rejected) == (1, 0, 0)
    with session_factory() as s:
        t = _the_ticket(s)
        assert t.id == tid and t.missed_callback and t.callback_due_by is not None
        assert [e.reason for e in t.events if e.kind == "missed_callback"] == ["queue TIMEOUT"]
        assert s.scalars(select(Call)).one().outcome == "operator"  # intake's hand-over stands
    before = row_counts(session_factory)
    shutil.copy(backup, journal)  # the replayer died between its commit and removing the file
    assert replay_journal(session_factory, settings.journal_dir, router=router).replayed == 1
    assert row_counts(session_factory) == before


def test_a_whole_call_in_an_outage_intake_then_overflow(
        make_services: Callable[..., CallServices], speech: Callable[[str], bytes], settings: Settings,
        session_factory: sessionmaker[Session], unreachable: Database, router: Router) -> None:
    """Both legs journal; the overflow's file does not replace the intake's, which still waits. After
    the replay: one call, one ticket with every recording, marked 待回拨."""
    services = replace(make_services([REQUEST, "对", AGAIN]), session_factory=unreachable.session_factory)
    chan = QueueLeg([Step(speech(REQUEST)), Step(speech("对")), Step(speech(AGAIN))])
    _intake(chan, services)
    assert "TICKET_ID" not in chan.vars and chan.vars[CALL_ID_VAR]
    assert _overflow(chan, services) is None  # the ticket waits in the journal
    assert chan.played[0] == "prompt:overflow_busy"  # the bot cannot see intake's ticket: it asks
    assert chan.played[-1] == f"text:{promise_text(settings.overflow_callback_minutes)}"
    intake_j, overflow_j = sorted(journals(settings), key=lambda p: len(p.name))
    assert journal_ops(overflow_j) == ["start_call", "add_recording", "finish_recording", "overflow_request",
                                "missed_callback"]
    assert "open_ticket" in journal_ops(intake_j)

    waiting = replay_journal(unreachable.session_factory, settings.journal_dir, router=router)
    assert (waiting.replayed, waiting.waiting) == (0, 1) and len(journals(settings)) == 2
    report = replay_journal(session_factory, settings.journal_dir, router=router)
    assert (report.replayed, report.tickets, report.rejected) == (2, 1, 0)
    assert journals(settings) == []
    with session_factory() as s:
        call = s.scalars(select(Call)).one()
        assert call.id == chan.vars[CALL_ID_VAR] and call.outcome == "operator"
        t = _the_ticket(s)
        assert t.call_id == call.id and t.missed_callback and t.confirmed_by_caller
        assert t.transcript == AGAIN and t.department_id  # the overflow turn is the latest word
        assert [r.purpose for r in t.recordings] == ["request", "confirm", "overflow"]
        assert [e.kind for e in t.events].count("missed_callback") == 1


def test_no_intake_and_no_database(make_services: Callable[..., CallServices], speech: Callable[[str], bytes],
                                   settings: Settings, session_factory: sessionmaker[Session],
                                   unreachable: Database, router: Router) -> None:
    """The AGI server was down when the call came in and the database is down when the queue gives
    up: the overflow leg starts the call, takes the request and ends the call, all in its journal."""
    services = replace(make_services([REQUEST]), session_factory=unreachable.session_factory)
    chan = QueueLeg([Step(speech(REQUEST))])
    assert _overflow(chan, services) is None
    [journal] = journals(settings)
    assert journal_ops(journal)[0] == "start_call" and journal_ops(journal)[-1] == "end_call"
    report = replay_journal(session_factory, settings.journal_dir, router=router)
    assert (report.replayed, report.recovered, report.tickets, report.rejected) == (1, 0, 1, 0)
    with session_factory() as s:
        call = s.scalars(select(Call)).one()
        assert (call.uniqueid, call.outcome, call.transfer_reason) == (UNIQUEID, "done", "overflow_registered")
        t = _the_ticket(s)
        assert t.transcript == REQUEST and t.caller_number == CALLER and t.missed_callback
        assert t.department_id and [r.purpose for r in t.recordings] == ["overflow"]


def test_the_database_going_away_during_the_overflow_leg(outage: Outage, speech: Callable[[str], bytes],
                                                         router: Router) -> None:
    """The leg started the call in the database; it goes away while the caller speaks (a PostgreSQL
    stopped, a SQLite file gone): the request and the mark go to the journal, and land once it is back."""
    from tests.doubles.scripted_asr import ScriptedAsrEngine
    from tests.faults.outages import BreakingChannel
    from tests.flows.fakes import NamedPrompts

    factory = outage.database.session_factory
    services = CallServices(settings=outage.settings, session_factory=factory, prompts=NamedPrompts(),
                            asr=ScriptedAsrEngine({CALLER: [REQUEST]}), router=router)  # type: ignore[arg-type]

    class Leg(BreakingChannel, QueueLeg):
        pass

    chan = Leg([Step(speech(REQUEST))], on_turn={1: outage.begin})
    try:
        assert _overflow(chan, services) is None
    finally:
        outage.end()
    [journal] = journals(outage.settings)
    assert journal_ops(journal) == ["finish_recording", "overflow_request", "missed_callback", "end_call"]
    report = replay_journal(factory, outage.settings.journal_dir, router=router)
    assert (report.replayed, report.tickets, report.rejected) == (1, 1, 0)  # opened from the journal
    with factory() as s:
        call = s.scalars(select(Call)).one()
        assert call.outcome == "done"
        t = _the_ticket(s)
        assert t.transcript == REQUEST and t.missed_callback and [r.purpose for r in t.recordings] == ["overflow"]
