"""Intake with the database unavailable (real SQLite / real PostgreSQL, real files, real VAD, the
packaged router): the call goes on, its record goes to the local journal, and the replay writes it
into the database exactly once."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from foundation.db import Database
from foundation.settings import Settings
from hotline.cli import main as hotline_main
from ivr_flows.intake import run_intake
from ivr_flows.ports import CallServices
from ivr_flows.replay import LOST_REASON, replay_journal
from routing.classify import Router
from tests.faults.outages import BreakingChannel, Outage, journals, row_counts
from tests.flows.conftest import CALLER
from tests.flows.fakes import FakeChannel, Step
from tickets import service
from tickets.models import Call, Recording, Ticket
from tickets.schemas import TicketDraft

REQUEST = "龙华区金盘路的路灯坏了好几天了晚上很黑"
UNIQUEID = "1700000000.77"


def _run(chan: FakeChannel, services: CallServices) -> None:
    run_intake(chan, services, channel_name="Local/s@citizen-0001;1", uniqueid=UNIQUEID, caller=CALLER,
               dialed="12345")






def test_a_whole_call_during_an_outage_is_served_journaled_and_replayed_once(
        make_services: Callable[..., CallServices], speech: Callable[[str], bytes], settings: Settings,
        session_factory: sessionmaker[Session], unreachable: Database, router: Router) -> None:
    services = replace(make_services([REQUEST, "对"]), session_factory=unreachable.session_factory)
    chan = FakeChannel([Step(speech(REQUEST)), Step(speech("对"))])
    _run(chan, services)  # no exception: the caller was served
    assert chan.vars["HOTLINE_NEXT"] == "operator" and "TICKET_ID" not in chan.vars
    assert chan.played[-1] == "prompt:to_operator"
    [journal] = journals(settings)
    ops = [line.split('"op":"')[1].split('"')[0] for line in journal.read_text(encoding="utf-8").splitlines()]
    assert ops == ["start_call", "add_recording", "finish_recording", "add_recording", "finish_recording",
                   "open_ticket", "end_call"]
    backup = settings.home / "journal-copy.jsonl"
    shutil.copy(journal, backup)

    report = replay_journal(session_factory, settings.journal_dir, router=router)
    assert (report.replayed, report.tickets, report.waiting, report.rejected) == (1, 1, 0, 0)
    assert journals(settings) == []
    with session_factory() as s:
        call = s.scalars(select(Call)).one()
        assert call.uniqueid == UNIQUEID and call.outcome == "operator" and call.ended_at is not None
        t = service.get_ticket(s, ticket_id=s.scalars(select(Ticket.id)).one())
        assert t.call_id == call.id and t.confirmed_by_caller and not t.incomplete
        assert t.transcript == REQUEST and "金盘路" in t.place and t.caller_number == CALLER
        assert [r.purpose for r in t.recordings] == ["request", "confirm"]
        assert all(Path(r.path).exists() for r in t.recordings)
        assert t.recordings[0].transcript == REQUEST and t.recordings[0].speech_seconds > 1.0
        assert [e.kind for e in t.events] == ["accepted", "journal_replayed", "transfer_operator"]
    before = row_counts(session_factory)

    shutil.copy(backup, journal)  # as if the replayer died between its commit and removing the file
    again = replay_journal(session_factory, settings.journal_dir, router=router)
    assert (again.replayed, again.tickets) == (1, 0)
    assert row_counts(session_factory) == before == (1, 1, 2, 3)


def test_replay_waits_while_the_database_is_still_down(
        make_services: Callable[..., CallServices], speech: Callable[[str], bytes], settings: Settings,
        unreachable: Database) -> None:
    services = replace(make_services([REQUEST, "对"]), session_factory=unreachable.session_factory)
    _run(FakeChannel([Step(speech(REQUEST)), Step(speech("对"))]), services)
    report = replay_journal(unreachable.session_factory, settings.journal_dir)
    assert (report.replayed, report.waiting) == (0, 1)
    assert len(journals(settings)) == 1  # nothing lost


def test_the_database_going_away_mid_call(outage: Outage, speech: Callable[[str], bytes], router: Router) -> None:
    """Turn 1 reaches the database; then it goes away: the rest of the call is journaled and, once the
    database is back, replayed onto what was already there: one call, one ticket, both recordings."""
    from tests.doubles.scripted_asr import ScriptedAsrEngine
    from tests.flows.fakes import NamedPrompts

    factory = outage.database.session_factory
    services = CallServices(settings=outage.settings, session_factory=factory, prompts=NamedPrompts(),
                            asr=ScriptedAsrEngine({CALLER: [REQUEST, "对"]}), router=router)  # type: ignore[arg-type]
    seen: dict[str, int] = {}

    def go_away() -> None:
        with factory() as s:  # what the database holds when it goes
            seen["recordings"] = s.scalar(select(func.count()).select_from(Recording)) or 0
        outage.begin()

    chan = BreakingChannel([Step(speech(REQUEST)), Step(speech("对"))], on_turn={2: go_away})
    try:
        _run(chan, services)
    finally:
        outage.end()
    assert seen["recordings"] == 2  # turn 1 finished and turn 2 registered before the outage
    assert chan.vars["HOTLINE_NEXT"] == "operator"
    report = replay_journal(factory, outage.settings.journal_dir, router=router)
    assert (report.replayed, report.tickets, report.rejected) == (1, 1, 0)
    with factory() as s:
        t = service.get_ticket(s, ticket_id=s.scalars(select(Ticket.id)).one())
        assert t.confirmed_by_caller and t.transcript == REQUEST
        assert [(r.purpose, bool(r.transcript)) for r in t.recordings] == [("request", True), ("confirm", True)]
        assert s.scalars(select(Call)).one().outcome == "operator"


def test_a_call_whose_flow_died_is_closed_with_what_it_saved(
        make_services: Callable[..., CallServices], speech: Callable[[str], bytes], settings: Settings,
        session_factory: sessionmaker[Session], router: Router) -> None:
    services = make_services([REQUEST, "对"])

    def crash() -> None:
        raise RuntimeError("the call's process dies here")

    chan = BreakingChannel([Step(speech(REQUEST)), Step(speech("对"))], on_turn={2: crash})
    with pytest.raises(RuntimeError):
        _run(chan, services)
    assert len(journals(settings)) == 1  # the empty journal stays as the call's tombstone
    report = replay_journal(session_factory, settings.journal_dir, router=router)
    assert (report.replayed, report.recovered, report.tickets) == (1, 1, 1)
    with session_factory() as s:
        call = s.scalars(select(Call)).one()
        assert (call.outcome, call.transfer_reason) == ("operator", LOST_REASON)
        t = service.get_ticket(s, ticket_id=s.scalars(select(Ticket.id)).one())
        assert t.incomplete and t.transcript == REQUEST and t.department_id
        assert [r.purpose for r in t.recordings] == ["request", "confirm"]
    again = replay_journal(session_factory, settings.journal_dir, router=router)
    assert again.replayed == 0 and row_counts(session_factory)[1] == 1


def test_hotline_replay_command(make_services: Callable[..., CallServices], speech: Callable[[str], bytes],
                                settings: Settings, database: Database, unreachable: Database,
                                monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    services = replace(make_services([REQUEST, "对"]), session_factory=unreachable.session_factory)
    _run(FakeChannel([Step(speech(REQUEST)), Step(speech("对"))]), services)
    monkeypatch.setenv("HOTLINE_HOME", str(settings.home))
    monkeypatch.setenv("HOTLINE_DATABASE_URL", settings.database_url)
    assert hotline_main(["replay"]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == \
        "replayed=1 recovered=0 tickets=1 waiting=0 rejected=0"
    assert row_counts(database.session_factory)[:2] == (1, 1)


def test_a_database_back_before_the_call_ends_gets_the_call_at_once(
        outage: Outage, speech: Callable[[str], bytes], router: Router) -> None:
    """The call's own process writes its journal in as it ends: no replay interval to wait for."""
    from tests.doubles.scripted_asr import ScriptedAsrEngine
    from tests.flows.fakes import NamedPrompts

    factory = outage.database.session_factory
    services = CallServices(settings=outage.settings, session_factory=factory, prompts=NamedPrompts(),
                            asr=ScriptedAsrEngine({CALLER: [REQUEST, "对"]}), router=router)  # type: ignore[arg-type]
    chan = BreakingChannel([Step(speech(REQUEST)), Step(speech("对"))], on_turn={2: outage.begin},
                           on_prompt={"prompt:to_operator": outage.end})
    _run(chan, services)
    assert not list(outage.settings.journal_dir.glob("*.jsonl"))
    with factory() as s:
        t = service.get_ticket(s, ticket_id=s.scalars(select(Ticket.id)).one())
        assert t.confirmed_by_caller and [r.purpose for r in t.recordings] == ["request", "confirm"]


def test_a_ticket_opened_meanwhile_by_another_flow_is_not_duplicated(
        make_services: Callable[..., CallServices], speech: Callable[[str], bytes], settings: Settings,
        session_factory: sessionmaker[Session], unreachable: Database, router: Router) -> None:
    """Seen under load: intake's ticket waited in the journal while the caller, with no ticket number
    on the channel, reached the queue's overflow flow, which opened a ticket of its own for the call."""
    services = replace(make_services([REQUEST, "对"]), session_factory=unreachable.session_factory)
    _run(FakeChannel([Step(speech(REQUEST)), Step(speech("对"))]), services)
    [journal] = journals(settings)
    call_id = journal.name.removesuffix(".jsonl")
    with session_factory() as s, s.begin():  # the call and the other flow's ticket reach the database first
        service.start_call(s, channel="Local/x", uniqueid=UNIQUEID, caller_number=CALLER, dialed_number="12345",
                           call_id=call_id)
        s.flush()
        other = service.open_ticket(s, draft=TicketDraft(call_id=call_id, caller_number=CALLER, incomplete=True),
                                    actor="ivr").id
    backup = settings.home / "again.jsonl"
    shutil.copy(journal, backup)
    replay_journal(session_factory, settings.journal_dir, router=router)
    backup.rename(journal)  # replayed twice: the draft is still kept once
    replay_journal(session_factory, settings.journal_dir, router=router)
    with session_factory() as s:
        t = service.get_ticket(s, ticket_id=s.scalars(select(Ticket.id)).one())
        assert t.id == other
        kept = [e for e in t.events if e.kind == "journaled_draft"]
        assert len(kept) == 1 and kept[0].data["transcript"] == REQUEST and kept[0].data["confirmed_by_caller"]
        assert len(t.recordings) == 2  # the call's recordings are attached all the same
