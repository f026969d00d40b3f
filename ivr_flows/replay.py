"""Write the journals of call legs (ivr_flows.journal: intake, overflow) into the database,
idempotently, and close calls whose process died.

Every step is keyed by what identifies it in the database: the call by its id, a recording by
(call, file), the ticket by its call, a 待回拨 mark by its due time. Replaying a journal twice (a
crash between the commit and the removal of the file) creates nothing twice. A journal is applied in one transaction and
removed only after the commit; one that cannot be read is moved to journal/rejected/ and logged,
never dropped.

A journal with no `end_call` belongs to a call whose process died (AGI server killed, flow
crashed): the call is closed as handed to a person ('agi_lost', which is what the dialplan does
when the AGI fails) and what was saved of it (transcripts, recordings) becomes an incomplete ticket."""

from __future__ import annotations

import logging
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from callbacks import outcomes
from callbacks.rules import WorkflowDeps
from console import missed
from console.schemas import OverflowRequest
from foundation.db import transaction, utcnow
from ivr_flows.callstore import DB_UNAVAILABLE, db_error_text
from ivr_flows.journal import BadJournal, Claimed, Entries, any_finished, claim, claim_finished, read_entries
from ivr_flows.ports import ClassificationLike
from tickets import service
from tickets.lifecycle import Satisfaction
from tickets.models import Call, CallOutcome, Recording, Ticket, TicketEvent
from tickets.schemas import DepartmentCandidate, TicketDraft

log = logging.getLogger(__name__)

LOST_REASON = "agi_lost"
JOURNAL_DRAFT_EVENT = "journaled_draft"  # the draft, on a ticket another flow opened meanwhile
JOURNAL_REPLAYED_EVENT = "journal_replayed"  # on a ticket opened from the journal
MIN_WAV_BYTES = 44 + 1600  # a header and at least 0.1 s of 8 kHz audio


DepsLoader = Callable[[], WorkflowDeps]  # loaded only when a journal needs it


class Classifier(Protocol):
    def classify(self, text: str, *, dialed_number: str | None = None) -> ClassificationLike: ...


@dataclass
class ReplayReport:
    replayed: int = 0  # journals written into the database and removed
    recovered: int = 0  # of those, calls whose process had died
    tickets: int = 0  # tickets opened by this pass
    waiting: int = 0  # journals left for the next pass: the database is still unavailable
    rejected: int = 0  # journals moved to rejected/ (unreadable): a person must look

    def summary(self) -> str:
        return (f"replayed={self.replayed} recovered={self.recovered} tickets={self.tickets} "
                f"waiting={self.waiting} rejected={self.rejected}")


def replay_journal(factory: sessionmaker[Session], journal_dir: Path, *, router: Classifier | None = None,
                   deps: DepsLoader | None = None) -> ReplayReport:
    """Every finished journal in `journal_dir` (`hotline replay`, tests). `deps`: the workflow's rules,
    loaded when a survey's answer must be applied to its ticket."""
    report = ReplayReport()
    if journal_dir.is_dir():
        for claimed in claim_finished(journal_dir):
            if not _replay_claimed(factory, claimed, Context(router, deps), report):
                break  # the database is still unavailable: the others would fail the same way
    return report


def replay_file(factory: sessionmaker[Session], path: Path, *, router: Classifier | None = None,
                deps: DepsLoader | None = None) -> ReplayReport:
    """One call's journal, by the call's own process as it ends: the ticket reaches the database as
    soon as it answers again, not a replay interval later."""
    report = ReplayReport()
    for claimed in claim([path]):
        _replay_claimed(factory, claimed, Context(router, deps), report)
    return report


@dataclass(frozen=True)
class Context:
    """What applying a journal may need besides the session."""

    router: Classifier | None = None
    deps: DepsLoader | None = None


def _replay_claimed(factory: sessionmaker[Session], claimed: Claimed, ctx: Context, report: ReplayReport) -> bool:
    """False when the database is unavailable (the journal stays for the next pass)."""
    try:
        entries = read_entries(claimed.path)
        if entries.torn_tail:
            log.warning("%s: last line cut short (process died or disk full mid-write); replaying the rest",
                        claimed.path)
        with transaction(factory) as s:
            opened = apply_entries(s, entries, router=ctx.router, deps=ctx.deps)
    except DB_UNAVAILABLE as exc:
        report.waiting += 1
        log.warning("journal replay: database unavailable (%s); %s waits", db_error_text(exc), claimed.path.name)
        return False
    except (BadJournal, ValidationError, KeyError, TypeError, ValueError) as exc:
        report.rejected += 1
        _reject(claimed.path, exc)
        return True
    except OSError as exc:
        log.error("journal replay: cannot read %s: %s", claimed.path, exc)
        return True
    claimed.remove()
    report.replayed += 1
    report.tickets += opened.tickets
    report.recovered += opened.recovered
    log.info("journal %s replayed into the database (%d entries%s)", claimed.path.name,
             len(entries.entries), ", call recovered" if opened.recovered else "")
    return True


def _reject(path: Path, exc: Exception) -> None:
    target = path.parent / "rejected" / path.name
    try:
        target.parent.mkdir(exist_ok=True)
        path.rename(target)
        log.error("journal %s cannot be replayed (%s): moved to %s for a person to look at", path.name, exc, target)
    except OSError as move_exc:
        log.error("journal %s cannot be replayed (%s) nor moved aside (%s); it stays", path.name, exc, move_exc)


@dataclass
class Applied:
    tickets: int = 0
    recovered: int = 0


def apply_entries(session: Session, journal: Entries, *, router: Classifier | None,
                  deps: DepsLoader | None = None) -> Applied:
    """Apply one call's journal (idempotent). Raises BadJournal on an entry it does not know."""
    call_id = journal.call_id
    applied = Applied()
    ended = False
    answered: dict[str, Any] | None = None  # a survey answer not yet applied to its ticket
    for e in journal.entries:
        op, at = e["op"], _when(e)
        if op == "start_call":
            if session.get(Call, call_id) is None:
                session.add(Call(id=call_id, channel=e["channel"], uniqueid=e["uniqueid"],
                                 caller_number=e["caller_number"], dialed_number=e["dialed_number"], started_at=at,
                                 ticket_id=_int_or_none(e.get("ticket_id"))))
                session.flush()
        elif op == "add_recording":
            if _recording(session, call_id, e["path"]) is None:
                session.add(Recording(call_id=call_id, turn=int(e["turn"]), purpose=e["purpose"], path=e["path"],
                                      created_at=at))
                session.flush()
        elif op == "finish_recording":
            rec = _recording(session, call_id, e["path"])
            if rec is None:
                raise BadJournal(f"call {call_id}: turn {e['turn']} finished but never registered")
            rec.audio_seconds, rec.speech_seconds = float(e["audio_seconds"]), float(e["speech_seconds"])
            rec.transcript, rec.ended_by = str(e["transcript"]), str(e["ended_by"])
        elif op == "open_ticket":
            draft = TicketDraft.model_validate(e["draft"])
            existing = missed.ticket_of_call(session, call_id=call_id)
            if existing is None:
                _expire_recordings(session, call_id)
                ticket = service.open_ticket(session, draft=draft, actor=e["actor"])
                ticket.created_at = at  # when the caller called, not when the database came back
                service.add_event(session, ticket=ticket, actor=e["actor"], kind=JOURNAL_REPLAYED_EVENT,
                                  reason="written from the local journal: the database was unavailable")
                applied.tickets += 1
            elif not _has_journal_event(session, existing):
                # Another flow of the call (overflow) opened one meanwhile: one ticket per call, and
                # what the caller confirmed to the bot is kept on it for the operator.
                service.add_event(session, ticket=session.get_one(Ticket, existing), actor=e["actor"],
                                  kind=JOURNAL_DRAFT_EVENT, data=draft.model_dump(mode="json"))
                log.warning("call %s: ticket %s was opened meanwhile; the journaled draft is kept as an event",
                            call_id, existing)
        elif op == "overflow_request":
            known = _int_or_none(e["ticket_id"])
            had_ticket = known is not None or missed.ticket_of_call(session, call_id=call_id) is not None
            missed.store_overflow_request_once(
                session, call_id=call_id, ticket_id=known, caller=str(e["caller"]),
                dialed=str(e["dialed"]), request=OverflowRequest.model_validate(e["request"]))
            applied.tickets += not had_ticket
        elif op == "missed_callback":
            try:
                missed.mark_missed_callback_once(session, call_id=call_id, ticket_id=_int_or_none(e["ticket_id"]),
                                                 due_by=datetime.fromisoformat(e["due_by"]), reason=str(e["reason"]))
            except LookupError as exc:
                raise BadJournal(str(exc)) from None
        elif op.startswith("survey_"):
            _apply_survey(session, call_id, e, at=at, deps=deps)
            answered = e if op == "survey_answer" else None if op == "survey_complete" else answered
        elif op == "end_call":
            call = session.get(Call, call_id)
            if call is None:
                raise BadJournal(f"call {call_id}: ended but never started")
            if call.outcome == CallOutcome.IN_PROGRESS:
                service.end_call(session, call_id=call_id, outcome=CallOutcome(e["outcome"]), reason=e["reason"])
                call.ended_at = at
            ended = True
        else:
            raise BadJournal(f"call {call_id}: unknown journal entry {op!r}")
    session.flush()
    call = session.get(Call, call_id)
    if call is not None and call.ticket_id is not None:  # turns written after the ticket belong with it
        service.attach_recordings(session, call_id=call_id, ticket_id=call.ticket_id)
    if not ended and answered is not None and call is not None and call.ticket_id is not None:
        # The survey's process died after the citizen answered: apply the answer as the dialer would
        # have, rather than ring them again.
        _apply_survey(session, call_id, {"op": "survey_complete", "channel_id": answered["channel_id"],
                                         "ticket_id": call.ticket_id}, at=_when(answered), deps=deps)
    if not ended:
        recovered = recover_call(session, call_id=call_id, router=router)
        applied.recovered += recovered is not None
        applied.tickets += bool(recovered)
    return applied


def recover_call(session: Session, *, call_id: str, router: Classifier | None) -> int | None:
    """Close a call whose AGI process died: None if there was nothing to close; else the id of the
    incomplete ticket opened from what was saved (0 when nothing worth a ticket was said)."""
    call = session.get(Call, call_id)
    if call is None or call.outcome != CallOutcome.IN_PROGRESS:
        return None
    recs = session.scalars(select(Recording).where(Recording.call_id == call_id).order_by(Recording.turn)).all()
    transcript = "\n".join(r.transcript for r in recs if r.transcript and r.purpose != "confirm")
    # Turns cut off mid-recording: the file Asterisk wrote is the caller's voice, not yet transcribed.
    unheard = [r for r in recs if not r.transcript and r.purpose != "confirm" and not r.ended_by
               and _has_audio(r.path)]
    ticket_id = 0
    if call.ticket_id is None and (transcript or unheard):
        c = router.classify(transcript, dialed_number=call.dialed_number or None) if router and transcript else None
        draft = TicketDraft(
            call_id=call_id, caller_number=call.caller_number, dialed_number=call.dialed_number,
            transcript=transcript, summary=c.summary if c else "", type=c.type if c else "",
            category=c.category if c else "",
            departments=[DepartmentCandidate(id=d.id, name=d.name, confidence=d.confidence)
                         for d in (c.departments if c else [])],
            place=(c.place or "") if c else "", emergency=(c.emergency or "") if c else "",
            incomplete=True, needs_transcription=bool(unheard), router_source=c.source if c else "",
        )
        _expire_recordings(session, call_id)
        ticket = service.open_ticket(session, draft=draft, actor="ivr")
        ticket_id = ticket.id
        log.warning("call %s: its AGI process died; incomplete ticket %s opened from %d saved turn(s)",
                    call_id, ticket.number, len(recs))
    service.end_call(session, call_id=call_id, outcome=CallOutcome.OPERATOR, reason=LOST_REASON)
    return ticket_id


def _apply_survey(session: Session, call_id: str, e: dict[str, Any], *, at: datetime,
                  deps: DepsLoader | None) -> None:
    op, channel_id = e["op"], str(e["channel_id"])
    try:
        if op == "survey_answer":
            outcomes.note_answer(session, channel_id=channel_id, satisfaction=Satisfaction(e["satisfaction"]),
                                 answered_by=str(e["answered_by"]), call_id=call_id)
        elif op == "survey_reason":
            outcomes.note_reason(session, channel_id=channel_id, reason=str(e["reason"]),
                                 recording_path=str(e["recording_path"]))
        elif op == "survey_complete":
            if deps is None:
                raise BadJournal(f"call {call_id}: a survey's answer needs the workflow's rules to be applied")
            outcomes.complete_call_survey(session, channel_id=channel_id, call_id=call_id,
                                          ticket_id=int(e["ticket_id"]), now=at, deps=deps())
        elif op == "survey_to_operator":
            outcomes.to_operator(session, channel_id=channel_id, now=at)
        else:
            raise BadJournal(f"call {call_id}: unknown journal entry {op!r}")
    except outcomes.UnknownAttempt as exc:
        raise BadJournal(f"call {call_id}: {exc}") from None


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)


def _has_audio(path: str) -> bool:
    try:
        return Path(path).stat().st_size >= MIN_WAV_BYTES
    except OSError:
        return False


def _when(entry: dict[str, Any]) -> datetime:
    try:
        return datetime.fromisoformat(entry["at"])
    except (KeyError, TypeError, ValueError):
        return utcnow()


def _recording(session: Session, call_id: str, path: str) -> Recording | None:
    # The file identifies a recording: another flow on the same call (overflow) numbers its turns anew.
    return session.scalars(select(Recording).where(Recording.call_id == call_id, Recording.path == path)).first()


def _has_journal_event(session: Session, ticket_id: int) -> bool:
    kinds = (JOURNAL_DRAFT_EVENT, JOURNAL_REPLAYED_EVENT)
    return session.scalars(select(TicketEvent.id).where(TicketEvent.ticket_id == ticket_id,
                                                        TicketEvent.kind.in_(kinds))).first() is not None


def _expire_recordings(session: Session, call_id: str) -> None:
    # open_ticket attaches call.recordings: make sure the collection includes rows added in this session.
    call = session.get(Call, call_id)
    if call is not None:
        session.expire(call, ["recordings"])


class JournalWatcher:
    """The AGI server's replay: at start and every `interval_s` seconds, when a finished journal
    waits, run `command` (`hotline replay`) in a process of its own.

    The AGI server forks a process per call; a thread of it using SQLite while a fork happens would
    leave SQLite's locks held forever in the child (seen under load: calls hung in sqlite3.connect).
    This thread only looks at files and locks, and the database work happens in the subprocess."""

    def __init__(self, journal_dir: Path, *, command: list[str], interval_s: float, timeout_s: float = 600) -> None:
        self._dir = journal_dir
        self._command = command
        self._interval_s = interval_s
        self._timeout_s = timeout_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="journal-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)

    def run_once(self) -> bool:
        """True when a replay ran (successfully or not: its own log says)."""
        if not any_finished(self._dir):
            return False
        try:
            done = subprocess.run(self._command, stdin=subprocess.DEVNULL, capture_output=True,
                                  timeout=self._timeout_s, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            log.error("journal replay could not run: %s", exc)
            return True
        summary = done.stdout.decode(errors="replace").strip().splitlines()
        log.log(logging.INFO if done.returncode == 0 else logging.WARNING, "journal replay: %s (exit %d)",
                summary[-1] if summary else "no output", done.returncode)
        return True

    def _run(self) -> None:
        while True:
            try:
                self.run_once()
            except Exception:  # never let one pass end the thread
                log.exception("journal watch pass failed")
            if self._stop.wait(self._interval_s):
                return


class LazyClassifier:
    """Loads the router the first time a recovered call needs classifying (rare): the AGI server's
    parent does not keep a second copy of the model in memory for nothing."""

    def __init__(self, load: Callable[[], Classifier]) -> None:
        self._load = load
        self._router: Classifier | None = None

    def classify(self, text: str, *, dialed_number: str | None = None) -> ClassificationLike:
        if self._router is None:
            self._router = self._load()
        return self._router.classify(text, dialed_number=dialed_number)
