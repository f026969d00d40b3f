"""The writes of one call leg (intake, overflow): to the database while it answers, to the leg's local
journal (ivr_flows.journal) once a write fails because the database is unreachable. The call itself never
waits for the database to come back: the caller is still heard, recorded and handed to a person.

Once a call has fallen back to the journal it stays there until it ends (its later writes depend on
rows the database may not have), and `ivr_flows.replay` writes the journal in afterwards."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker

from callbacks import outcomes
from callbacks.rules import WorkflowDeps
from console import missed
from console.schemas import OverflowRequest
from foundation.db import transaction, utcnow
from foundation.masking import mask_number
from ivr_flows.journal import CallJournal
from tickets import service
from tickets.lifecycle import Satisfaction
from tickets.models import CallOutcome, new_id
from tickets.schemas import TicketDraft

log = logging.getLogger(__name__)

T = TypeVar("T")

# What a database that is down, locked, read-only or out of reach raises; or every connection slot of
# this AGI server busy for too long (foundation.db.SlotPool).
DB_UNAVAILABLE: tuple[type[Exception], ...] = (OperationalError, InterfaceError, PoolTimeout)


def db_error_text(exc: BaseException) -> str:
    """The driver's message only: SQLAlchemy's own text carries the statement's parameters (phone
    numbers, transcripts), which must not reach the logs."""
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    return f"{type(orig).__name__}: {str(orig).strip().splitlines()[0] if str(orig).strip() else ''}"


class CallStore:
    def __init__(self, factory: sessionmaker[Session], journal: CallJournal | None, *, call_id: str) -> None:
        self._factory = factory
        self._journal = journal
        self.call_id = call_id
        self.degraded = False  # this call writes to its journal now
        self._recording_ids: dict[int, int] = {}
        self._paths: dict[int, str] = {}  # turn → file: a recording's key in the journal
        self._ticket_journaled = False

    @classmethod
    def open(cls, factory: sessionmaker[Session], journal_dir: Path | None, *, call_id: str | None = None,
             leg: str = "") -> CallStore:
        """A store for a new call, or (`call_id`, `leg`) for a later leg of a known one. Without a usable
        journal (spool full or unwritable) the call still runs, but a database failure then ends the AGI
        part (the dialplan hands the caller to a person)."""
        call_id = call_id or new_id()
        journal = None
        if journal_dir is not None:
            try:
                journal = CallJournal.create(journal_dir, call_id, leg)
            except OSError as exc:
                log.error("call %s: no local journal in %s (%s): if the database fails, this call's "
                          "record is lost", call_id, journal_dir, exc)
        return cls(factory, journal, call_id=call_id)

    # -- the writes of every leg ---------------------------------------------------------------------
    def start_call(self, *, channel: str, uniqueid: str, caller: str, dialed: str,
                   ticket_id: int | None = None) -> None:
        """`ticket_id`: the ticket the call is about, known before it starts (a callback)."""
        data: dict[str, Any] = dict(channel=channel, uniqueid=uniqueid, caller_number=caller, dialed_number=dialed)
        if ticket_id is not None:
            data["ticket_id"] = ticket_id

        def apply(s: Session) -> None:
            call = service.start_call(s, channel=channel, uniqueid=uniqueid, caller_number=caller,
                                      dialed_number=dialed, call_id=self.call_id)
            call.ticket_id = ticket_id

        self._write("start_call", data, apply)
        log.info("call %s started (uniqueid %s, caller %s)", self.call_id, uniqueid, mask_number(caller))

    def add_recording(self, *, turn: int, purpose: str, path: str) -> None:
        self._paths[turn] = path
        rec_id = self._write("add_recording", dict(turn=turn, purpose=purpose, path=path),
                             lambda s: service.add_recording(s, call_id=self.call_id, turn=turn, purpose=purpose,
                                                             path=path).id)
        if rec_id is not None:
            self._recording_ids[turn] = rec_id

    def finish_recording(self, *, turn: int, audio_seconds: float, speech_seconds: float, transcript: str,
                         ended_by: str) -> None:
        rec_id = self._recording_ids.get(turn)
        data = dict(turn=turn, path=self._paths.get(turn, ""), audio_seconds=audio_seconds,
                    speech_seconds=speech_seconds, transcript=transcript, ended_by=ended_by)
        if rec_id is None and not self.degraded:
            raise ValueError(f"call {self.call_id}: turn {turn} was never registered")
        self._write("finish_recording", data,
                    lambda s: service.finish_recording(s, recording_id=rec_id or 0, audio_seconds=audio_seconds,
                                                       speech_seconds=speech_seconds, transcript=transcript,
                                                       ended_by=ended_by))

    def open_ticket(self, *, draft: TicketDraft, actor: str) -> tuple[int, str] | None:
        """(id, number), or None when the ticket waits in the journal (opened when it is replayed)."""
        if self._ticket_journaled:
            return None  # one ticket per call: the first draft written wins, as in the database

        def apply(s: Session) -> tuple[int, str]:
            t = service.open_ticket(s, draft=draft, actor=actor)
            return t.id, t.number

        got = self._write("open_ticket", dict(draft=draft.model_dump(mode="json"), actor=actor), apply)
        if got is None:
            self._ticket_journaled = True
            log.warning("call %s: ticket kept in the local journal; it is opened when the database is back",
                        self.call_id)
        return got

    # -- the overflow leg (ivr_flows.overflow) ---------------------------------------------------------
    def store_overflow_request(self, *, ticket_id: int | None, caller: str, dialed: str,
                               request: OverflowRequest) -> int | None:
        """The ticket's id, or None when the request waits in the journal."""
        data = dict(ticket_id=ticket_id, caller=caller, dialed=dialed, request=request.model_dump(mode="json"))
        return self._write("overflow_request", data,
                           lambda s: missed.store_overflow_request(s, call_id=self.call_id, ticket_id=ticket_id,
                                                                   caller=caller, dialed=dialed, request=request))

    def mark_missed_callback(self, *, ticket_id: int | None, due_by: datetime, reason: str) -> None:
        """`ticket_id` None: the call's ticket, which is in the journal too (found when replayed)."""
        if ticket_id is None and not self.degraded:
            raise ValueError(f"call {self.call_id}: 待回拨 without a ticket")
        self._write("missed_callback", dict(ticket_id=ticket_id, due_by=due_by.isoformat(), reason=reason),
                    lambda s: missed.mark_missed_callback(s, ticket_id=ticket_id or 0, due_by=due_by, reason=reason))

    # -- the satisfaction survey (ivr_flows.survey): `channel_id` names the callback attempt ------------
    def note_survey_answer(self, *, channel_id: str, satisfaction: Satisfaction, answered_by: str) -> None:
        self._write("survey_answer", dict(channel_id=channel_id, satisfaction=str(satisfaction),
                                          answered_by=answered_by),
                    lambda s: outcomes.note_answer(s, channel_id=channel_id, satisfaction=satisfaction,
                                                   answered_by=answered_by, call_id=self.call_id))

    def note_survey_reason(self, *, channel_id: str, reason: str, recording_path: str) -> None:
        self._write("survey_reason", dict(channel_id=channel_id, reason=reason, recording_path=recording_path),
                    lambda s: outcomes.note_reason(s, channel_id=channel_id, reason=reason,
                                                   recording_path=recording_path))

    def complete_survey(self, *, channel_id: str, ticket_id: int, deps: WorkflowDeps) -> None:
        """Apply the answer to the ticket (once: the dialer may have applied it as the call ended)."""
        self._write("survey_complete", dict(channel_id=channel_id, ticket_id=ticket_id),
                    lambda s: outcomes.complete_call_survey(s, channel_id=channel_id, call_id=self.call_id,
                                                            ticket_id=ticket_id, now=utcnow(), deps=deps))

    def survey_to_operator(self, *, channel_id: str) -> None:
        self._write("survey_to_operator", dict(channel_id=channel_id),
                    lambda s: outcomes.to_operator(s, channel_id=channel_id, now=utcnow()))

    def fall_back(self, exc: BaseException) -> None:
        """The database failed before this leg wrote anything (its first read): journal from now on.
        Raises `exc` again when there is no journal to fall back to."""
        if self._journal is None:
            raise exc
        self._degrade(exc)

    def end_call(self, *, outcome: CallOutcome, reason: str) -> None:
        self._write("end_call", dict(outcome=str(outcome), reason=reason),
                    lambda s: service.end_call(s, call_id=self.call_id, outcome=outcome, reason=reason))

    @property
    def journal_path(self) -> Path | None:
        return self._journal.path if self._journal is not None else None

    def close(self, *, abandoned: bool = False) -> None:
        """End of the AGI part. `abandoned`: the flow failed unexpectedly; the journal is kept (even
        empty) so the replayer closes the call with what it saved."""
        if self._journal is None:
            return
        self._journal.close(keep=abandoned)

    # -- database first, journal second ------------------------------------------------------------
    def _write(self, op: str, data: dict[str, Any], apply: Callable[[Session], T]) -> T | None:
        if not self.degraded:
            try:
                with transaction(self._factory) as s:
                    return apply(s)
            except DB_UNAVAILABLE as exc:
                if self._journal is None:
                    raise
                self._degrade(exc)
        assert self._journal is not None  # degraded implies a journal
        try:
            self._journal.append(op, **data)
        except OSError as exc:
            # Database down and spool failing at once: serve the caller anyway, say what is lost.
            log.error("call %s: cannot write the local journal %s (%s): step %s is lost",
                      self.call_id, self._journal.path, exc, op)
        return None

    def _degrade(self, exc: BaseException) -> None:
        assert self._journal is not None
        self.degraded = True
        log.error("call %s: database unavailable (%s); the call goes on and its record is kept in %s",
                  self.call_id, db_error_text(exc), self._journal.path)
