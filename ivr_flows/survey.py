"""Satisfaction callback (回访): who is calling and about which request, 满意 / 基本满意 / 不满意 by voice
(grammar-restricted) or DTMF 1/2/3, the reason when dissatisfied, thanks, goodbye.

A 即办件 (closed during the call) is read back as answered on the call.
"人工" or 0 reaches a person here too. The answer is stored the moment it is heard and applied to
the ticket at once (callbacks.outcomes); the dialer only closes the attempt when the call ends.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from agi.errors import AgiHangup
from callbacks import outcomes
from callbacks.outcomes import SurveyTarget
from callbacks.rules import WorkflowDeps
from foundation import logs
from foundation.db import transaction
from ivr_flows.callstore import DB_UNAVAILABLE, CallStore, db_error_text
from ivr_flows.dialogue import CallState, Dialogue, Heard
from ivr_flows.escapes import EMERGENCY_LINES, Escape, escape_of
from ivr_flows.ports import CallServices, Channel
from ivr_flows.replay import replay_file
from tickets.lifecycle import Satisfaction
from tickets.models import CallOutcome

log = logging.getLogger(__name__)

SATISFACTION_GRAMMAR = ["满意", "非常满意", "很满意", "基本满意", "还可以", "一般", "不满意", "不太满意",
                        "人工", "转人工"]
ANSWER_DIGITS = "1230"
DIGITS = {"1": Satisfaction.SATISFIED, "2": Satisfaction.BASICALLY_SATISFIED, "3": Satisfaction.DISSATISFIED}
REASON_SILENCE_S = 2
REASON_MAX_S = 30
CALLBACK_DIALED = "callback"  # calls.dialed_number of survey calls: outbound, not a citizen's call in


def satisfaction_of(text: str, digit: str = "") -> Satisfaction | None:
    """The citizen's verdict from a key or words; None when it cannot be told. 不满意 is tested first:
    it contains 满意."""
    if digit in DIGITS:
        return DIGITS[digit]
    plain = "".join(text.split())
    if not plain:
        return None
    if any(w in plain for w in ("不满意", "不太满意", "不行", "没解决", "没有解决")):
        return Satisfaction.DISSATISFIED
    if any(w in plain for w in ("基本", "还可以", "一般", "还行")):
        return Satisfaction.BASICALLY_SATISFIED
    if "满意" in plain:
        return Satisfaction.SATISFIED
    return None


@dataclass(frozen=True)
class SurveyServices:
    calls: CallServices
    deps: WorkflowDeps


class Transfer(Exception):
    def __init__(self, escape: Escape) -> None:
        super().__init__(escape.reason)
        self.escape = escape


def _now() -> datetime:
    return datetime.now(UTC)


class SurveyFlow:
    def __init__(self, channel: Channel, services: SurveyServices, dialogue: Dialogue, target: SurveyTarget,
                 channel_id: str) -> None:
        self.channel, self.services, self.d, self.target = channel, services, dialogue, target
        self.channel_id = channel_id
        self.state = dialogue.state
        self.store = dialogue.store  # the database, or the call's journal while it is unavailable
        self.answer: Satisfaction | None = None
        self.reason_noted = False

    def run(self) -> None:
        try:
            try:
                self._converse()
            except Transfer as t:
                self._transfer(t.escape)
        except AgiHangup:
            self._on_hangup()
            raise

    def _check(self, heard: Heard | None = None, digit: str = "") -> None:
        esc = escape_of(heard.text if heard else "", heard.digit if heard else digit)
        if esc:
            raise Transfer(esc)

    def _converse(self) -> None:
        t = self.target
        about = f"您反映的{t.summary.rstrip('。')}"
        if t.on_call:  # 即办件: answered by the operator during the call, no department worked on it
            about += "，已在来电时答复。"
        else:
            about += f"，已由{t.department_name}办理。" if t.department_name else "，已办理。"
        self._check(digit=self.d.say_then_text("survey_greeting", about))
        found = self._ask()
        if found is None:
            log.info("survey %s: no answer from the citizen", self.state.call_id)
            self.d.say("survey_no_answer", escape_digits="")
            self._end(CallOutcome.DONE, "no_answer")
            return
        self.answer, by = found
        self.store.note_survey_answer(channel_id=self.channel_id, satisfaction=self.answer, answered_by=by)
        if self.answer == Satisfaction.DISSATISFIED:
            self._check(digit=self.d.say("survey_ask_reason"))
            heard = self.d.listen("reason", silence_s=REASON_SILENCE_S, max_s=REASON_MAX_S)
            self._note_reason(heard.text)
            self._complete()
            self._check(heard)  # the reason ended in 人工 / 0: a person after the answer is saved
            self.d.say("survey_thanks_reopened", escape_digits="")
        else:
            self._complete()
            self.d.say("survey_thanks", escape_digits="")
        self._end(CallOutcome.DONE, f"answered_{self.answer}")

    def _ask(self) -> tuple[Satisfaction, str] | None:
        cfg = self.services.calls.settings
        first = "survey_question_on_call" if self.target.on_call else "survey_question"
        for prompt in (first, "survey_question_dtmf"):
            digit = self.d.say(prompt, escape_digits=ANSWER_DIGITS)
            self._check(digit=digit)
            if digit:
                found = satisfaction_of("", digit)
                if found:
                    return found, "dtmf"
            heard = self.d.hear("satisfaction", silence_s=cfg.answer_silence_s, max_s=cfg.answer_max_s,
                                start_wait_s=cfg.answer_start_wait_s,
                                grammar=SATISFACTION_GRAMMAR, escape_digits=ANSWER_DIGITS)
            self._check(heard)
            found = satisfaction_of(heard.text, heard.digit)
            if found:
                return found, "dtmf" if heard.digit else "voice"
        return None

    def _note_reason(self, text: str) -> None:
        rec = self.d.recording_dir / f"{self.state.turn:02d}-reason.wav"
        self.store.note_survey_reason(channel_id=self.channel_id, reason=text, recording_path=str(rec))
        self.reason_noted = True

    def _complete(self) -> None:
        self.store.complete_survey(channel_id=self.channel_id, ticket_id=self.target.ticket_id,
                                   deps=self.services.deps)

    def _transfer(self, escape: Escape) -> None:
        if self.answer is None:
            self.store.survey_to_operator(channel_id=self.channel_id)
        self.channel.set_var("TICKET_ID", str(self.target.ticket_id))
        self.channel.set_var("HOTLINE_REASON", escape.reason)
        if escape.target == "emergency":
            self.channel.set_var("HOTLINE_EMERGENCY", escape.line)
            self.channel.set_var("HOTLINE_NEXT", "emergency")
            self._end(CallOutcome.EMERGENCY, escape.reason)
            self.d.say(EMERGENCY_LINES[escape.reason.removeprefix("emergency_")][1], escape_digits="")
            return
        self.channel.set_var("HOTLINE_NEXT", "operator")
        self._end(CallOutcome.OPERATOR, escape.reason)
        self.d.say("to_operator", escape_digits="")

    def _end(self, outcome: CallOutcome, reason: str) -> None:
        if outcome == CallOutcome.DONE:
            self.channel.set_var("HOTLINE_NEXT", "done")
        self.store.end_call(outcome=outcome, reason=reason)

    def _on_hangup(self) -> None:
        """The citizen hung up: what they said is kept; an answer given is applied now."""
        if self.answer == Satisfaction.DISSATISFIED and not self.reason_noted:
            said = [t.text for t in self.state.turns if t.purpose == "reason" and t.text]
            self._note_reason("".join(said))
        if self.answer is not None:
            self._complete()
        self._end(CallOutcome.HANGUP, "callee_hung_up")


def run_survey(channel: Channel, services: SurveyServices, *, channel_name: str, uniqueid: str) -> None:
    """Serve one answered callback. The channel's Uniqueid is the ChannelId the dialer originated with.
    Once the survey has begun, its writes fall back to the call's journal if the database goes away."""
    calls = services.calls
    try:
        with transaction(calls.session_factory) as s:
            target = outcomes.start_survey(s, channel_id=uniqueid, now=_now())
    except DB_UNAVAILABLE as exc:
        # Without the ticket there is nothing to ask about. The attempt stays unanswered, so the dialer
        # calls again later (callbacks.outcomes.finish_attempt).
        log.error("survey on channel %s: database unavailable (%s); the citizen will be called again",
                  uniqueid, db_error_text(exc))
        channel.set_var("HOTLINE_NEXT", "done")
        channel.play(calls.prompts.path("survey_unavailable"), "")
        return
    if target is None:
        channel.set_var("HOTLINE_NEXT", "done")  # not a survey we are running: hang up, say nothing
        return
    store = CallStore.open(calls.session_factory, calls.settings.journal_dir)
    logs.bind(call_id=store.call_id)
    state = CallState(call_id=store.call_id, caller=target.number, dialed=CALLBACK_DIALED, channel_name=channel_name)
    abandoned = True
    try:
        store.start_call(channel=channel_name, uniqueid=uniqueid, caller=target.number, dialed=CALLBACK_DIALED,
                         ticket_id=target.ticket_id)
        flow = SurveyFlow(channel, services, Dialogue(channel, calls, state, store=store), target, uniqueid)
        try:
            flow.run()
        except AgiHangup:
            pass  # the citizen hung up; what was said is saved by the flow
        abandoned = False
    finally:
        store.close(abandoned=abandoned)
        if store.degraded and store.journal_path is not None:
            replay_file(calls.session_factory, store.journal_path, router=calls.router,
                        deps=lambda: services.deps)
