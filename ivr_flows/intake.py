"""Intake: one open question, a read-back, a ticket, a person. No menus, no loops.

Every exit hands the caller to a person (or an emergency line) unless the call simply ended; the
dialplan treats anything but an explicit emergency or 'done' as 'operator'."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from agi.errors import AgiHangup
from foundation import logs
from ivr_flows.callstore import CallStore
from ivr_flows.dialogue import CallState, Dialogue, Heard
from ivr_flows.escapes import (
    CONFIRM_GRAMMAR,
    EMERGENCY_LINES,
    OPERATOR_WORDS,
    Escape,
    escape_of,
    yes_no,
)
from ivr_flows.ports import CallServices, Channel, ClassificationLike
from ivr_flows.replay import replay_file
from routing.gist import gist_of
from tickets.models import CallOutcome
from tickets.schemas import DepartmentCandidate, TicketDraft

log = logging.getLogger(__name__)

CALL_ID_VAR = "HOTLINE_CALL_ID"

MAX_FAILURES = 2  # failed recognitions in a row before a person takes over
MAX_REJECTIONS = 2  # "不对" to the read-back before a person takes over
MIN_SPEECH_S = 0.3
FILLERS = ("喂", "你好", "您好", "我要", "我想", "请", "帮我", "给我", "转", "服务", "一下",
           "吧", "啊", "呢", "，", "。")


@dataclass
class Understood:
    """What the bot has understood so far; becomes the ticket draft."""

    request: str = ""
    place: str = ""
    classification: ClassificationLike | None = None
    confirmed: bool = False
    emergency: str = ""


class Transfer(Exception):
    """Leave the conversation for a person or an emergency line."""

    def __init__(self, escape: Escape) -> None:
        super().__init__(escape.reason)
        self.escape = escape


class IntakeFlow:
    def __init__(self, channel: Channel, services: CallServices, dialogue: Dialogue) -> None:
        self.channel = channel
        self.services = services
        self.d = dialogue
        self.state = dialogue.state
        self.store = dialogue.store
        self.u = Understood()
        self.ticket_id: int | None = None
        self.ticket_number = ""

    # -- entry point ---------------------------------------------------------------------------
    def run(self) -> None:
        try:
            try:
                self._converse()
                self._finish(Escape("operator", "ticket_confirmed"))
            except Transfer as t:
                self._finish(t.escape)
        except AgiHangup:
            self._on_hangup()
            raise

    # -- the conversation ----------------------------------------------------------------------
    def _check(self, heard: Heard | None = None, digit: str = "") -> None:
        if heard is not None and heard.ended_by == "error":
            # Asterisk could not record (spool full, unwritable): a person listens instead of a loop.
            log.error("call %s: recording failed (is the spool full? see Asterisk's log); to a person",
                      self.state.call_id)
            raise Transfer(Escape("operator", "recording_failed"))
        esc = escape_of(heard.text if heard else "", heard.digit if heard else digit)
        if esc:
            raise Transfer(esc)
        if heard is not None and heard.asr_failure and not heard.text and heard.speech_seconds >= MIN_SPEECH_S:
            # The caller spoke but the recogniser could not answer in time (busy, down, died mid-turn): a
            # person listens to the recording instead of the caller being asked to repeat into the same fault.
            raise Transfer(Escape("operator", f"asr_{heard.asr_failure}"))

    def _converse(self) -> None:
        cfg = self.services.settings
        self._check(digit=self.d.say("greeting"))
        rejections = 0
        while True:
            heard = self._listen_request()
            self.u.request = heard.text
            self.u.classification = self.services.router.classify(
                heard.text, dialed_number=self.state.dialed or None)
            self.u.place = self.u.classification.place or ""
            if not self.u.place:
                self._check(digit=self.d.say("ask_place"))
                place = self._hear("place", max_s=cfg.place_max_s)
                self._check(place)
                self.u.place = place.text
            answer = self._confirm()
            if answer:
                self.u.confirmed = True
                return
            rejections += 1
            if rejections >= MAX_REJECTIONS:
                raise Transfer(Escape("operator", "caller_rejected_readback"))
            self._check(digit=self.d.say("retry_request"))

    def _listen_request(self) -> Heard:
        cfg = self.services.settings
        failures = 0
        while True:
            heard = self._hear("request", max_s=cfg.request_max_s)
            self._check(heard)
            if heard.text:
                return heard
            if heard.speech_seconds >= MIN_SPEECH_S and not self.services.asr.available:
                # The caller spoke but nothing here can transcribe it: a person listens instead.
                raise Transfer(Escape("operator", "asr_unavailable"))
            failures += 1
            if failures >= MAX_FAILURES:
                raise Transfer(Escape("operator", "not_recognised"))
            self._check(digit=self.d.say("repeat"))

    def _hear(self, purpose: str, *, max_s: int) -> Heard:
        """Free speech: 1 s windows and a slow start waited out. A short first fragment of the request is
        joined with what follows (a pause mid-sentence); a place is short by nature and is not held."""
        cfg = self.services.settings
        hold = cfg.request_hold_below_s if purpose == "request" else 0.0
        return self.d.hear(purpose, silence_s=cfg.request_silence_s, max_s=max_s, start_wait_s=cfg.request_start_wait_s,
                           hold_below_s=hold, ack="ack")

    def _confirm(self) -> bool:
        cfg = self.services.settings
        c = self.u.classification
        summary = c.summary if c and c.summary else self.u.request
        text = gist_of(self.u.request, category=c.category if c else "", type_=c.type if c else "",
                       place=self.u.place, summary=summary) + "。"
        failures = 0
        # Where an acknowledgement already filled the wait for the text, the read-back follows it as one
        # sentence: the intro prompt exists to hide the rendering, which is not needed twice.
        acknowledged = bool(self.state.turns) and self.state.turns[-1].acknowledged
        while True:
            if acknowledged:
                digit = self.d.say_text(self.services.prompts.text("readback_intro") + text, escape_digits="012")
                acknowledged = False  # a read-back asked again gets the intro
            else:
                digit = self.d.say_then_text("readback_intro", text, escape_digits="012")
            digit = digit or self.d.say("confirm_question", escape_digits="012")
            if digit:
                self._check(digit=digit)
                return digit == "1"
            heard = self.d.hear("confirm", silence_s=cfg.answer_silence_s, max_s=cfg.answer_max_s,
                                start_wait_s=cfg.answer_start_wait_s, grammar=CONFIRM_GRAMMAR, escape_digits="012",
                                ack="ack")
            self._check(heard)
            answer = yes_no(heard.text, heard.digit)
            if answer is not None:
                return answer
            failures += 1
            if failures >= MAX_FAILURES:
                raise Transfer(Escape("operator", "confirmation_not_understood"))

    # -- endings -------------------------------------------------------------------------------
    def _draft(self, *, incomplete: bool) -> TicketDraft:
        heard_speech = self.state.said_something
        transcript = "\n".join(t.text for t in self.state.turns if t.text and t.purpose != "confirm")
        c = self.u.classification
        if c is None and transcript:  # left before the bot classified (人工, emergency, hangup)
            c = self.services.router.classify(transcript, dialed_number=self.state.dialed or None)
        return TicketDraft(
            call_id=self.state.call_id,
            caller_number=self.state.caller,
            dialed_number=self.state.dialed,
            transcript=transcript,
            summary=c.summary if c else "",
            type=c.type if c else "",
            category=c.category if c else "",
            departments=[DepartmentCandidate(id=d.id, name=d.name, confidence=d.confidence)
                         for d in (c.departments if c else [])],
            place=self.u.place,
            emergency=self.u.emergency or ((c.emergency or "") if c else ""),
            confirmed_by_caller=self.u.confirmed,
            incomplete=incomplete,
            needs_transcription=heard_speech and not transcript,
            router_source=c.source if c else "",
        )

    def _meaningful(self) -> bool:
        """Whether the caller said more than a request for a person: worth a ticket."""
        for t in self.state.turns:
            if t.purpose == "confirm":
                continue
            if not t.text and t.speech_seconds >= MIN_SPEECH_S:
                return True  # speech nobody transcribed yet: the recording is the content
            rest = t.text
            for w in (*OPERATOR_WORDS, *FILLERS):
                rest = rest.replace(w, "")
            if len(rest) >= 2:
                return True
        return False

    def _open_ticket(self, *, incomplete: bool) -> None:
        if self.ticket_id is not None or not self._meaningful():
            return
        opened = self.store.open_ticket(draft=self._draft(incomplete=incomplete), actor="ivr")
        if opened is not None:  # else kept in the journal while the database is down
            self.ticket_id, self.ticket_number = opened
            logs.bind(ticket_id=self.ticket_id)
            log.info("call %s opened ticket %s", self.state.call_id, self.ticket_number)

    def _finish(self, escape: Escape) -> None:
        if escape.target == "emergency":
            self.u.emergency = escape.reason.removeprefix("emergency_")
        self._open_ticket(incomplete=False)
        if self.ticket_id is not None:
            self.channel.set_var("TICKET_ID", str(self.ticket_id))
            self.channel.set_var("TICKET_NUMBER", self.ticket_number)
        self.channel.set_var("HOTLINE_REASON", escape.reason)
        if escape.target == "emergency":
            kind = self.u.emergency
            self.channel.set_var("HOTLINE_EMERGENCY", escape.line)
            self.channel.set_var("HOTLINE_NEXT", "emergency")
            self._end(CallOutcome.EMERGENCY, escape.reason)
            self.d.say(EMERGENCY_LINES[kind][1], escape_digits="")
            return
        self.channel.set_var("HOTLINE_NEXT", "operator")
        self._end(CallOutcome.OPERATOR, escape.reason)
        if self.u.confirmed and self.ticket_number:
            self.d.say_digits("ticket_number_intro", self.ticket_number, escape_digits="0")
        key = "to_operator_unrecognised" if escape.reason == "not_recognised" or escape.reason.startswith("asr_") \
            else "to_operator"
        self.d.say(key, escape_digits="0")

    def _end(self, outcome: CallOutcome, reason: str) -> None:
        self.store.end_call(outcome=outcome, reason=reason)

    def _on_hangup(self) -> None:
        self.d.complete_pending()  # a held fragment's text is what the caller said: keep it
        log.info("call %s: caller hung up after %d turns", self.state.call_id, len(self.state.turns))
        self._open_ticket(incomplete=True)
        self._end(CallOutcome.HANGUP, "caller_hung_up")


def run_intake(channel: Channel, services: CallServices, *, channel_name: str, uniqueid: str,
               caller: str, dialed: str) -> None:
    """Serve one intake call from start to hand-over; returns when the AGI part is over. Writes go
    to the database, or to the call's local journal while the database is unavailable."""
    store = CallStore.open(services.session_factory, services.settings.journal_dir)
    call_id = store.call_id
    logs.bind(call_id=call_id)  # every log line of this call carries it (log_format=json)
    state = CallState(call_id=call_id, caller=caller, dialed=dialed, channel_name=channel_name)
    abandoned = True
    try:
        store.start_call(channel=channel_name, uniqueid=uniqueid, caller=caller, dialed=dialed)
        # A later leg of this call (overflow) finds it by this id even when the database cannot tell.
        channel.set_var(CALL_ID_VAR, call_id)
        flow = IntakeFlow(channel, services, Dialogue(channel, services, state, store=store))
        try:
            flow.run()
        except AgiHangup:
            pass  # normal end of a call; what was said is saved by the flow
        abandoned = False
    finally:
        store.close(abandoned=abandoned)  # a flow that failed leaves its journal for the replayer
        if store.degraded and store.journal_path is not None:
            # The database may be back already (a lock that timed out, a short outage): write the
            # call in now, so the operator sees the ticket while still talking to the caller.
            replay_file(services.session_factory, store.journal_path, router=services.router)
        if state.latencies_ms:
            log.info("call %s turn latency ms: %s", call_id,
                     " ".join(f"{ms:.0f}" for ms in state.latencies_ms))
