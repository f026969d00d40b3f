"""`hotline call`: a simulated citizen call into a running stack, through real Asterisk.

The citizen is a Local channel running the [citizen] context of extensions_sim.conf: it waits for
each prompt to finish, then plays the next step (speech, DTMF or hangup)."""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from sqlalchemy.exc import OperationalError

from agi.ami import AmiClient, AmiError
from asr.audio import read_wav_pcm8k, telephone_copy, write_wav
from foundation.asterisk_layout import AsteriskLayout
from foundation.db import open_database
from foundation.errors import InvalidInput
from foundation.settings import Settings
from hotline.asterisk import ami_secret_for
from tickets import service
from tickets.models import CallOutcome
from tickets.schemas import TicketDetail


@dataclass(frozen=True)
class CallResult:
    uniqueid: str
    outcome: str
    transfer_reason: str
    ticket: TicketDetail | None
    # What Asterisk itself reported: the dialplan's HotlineTransfer event (target, TicketId from the
    # channel variable) and every AMI event of the call, for tests and benchmarks.
    transfer: dict[str, str] = field(default_factory=dict)
    events: list[dict[str, str]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        call = {"uniqueid": self.uniqueid, "outcome": self.outcome, "transfer_reason": self.transfer_reason,
                "transferred_to": self.transfer.get("Target", "")}
        if self.ticket is None:
            return {"id": None, "call": call}
        return {**self.ticket.model_dump(mode="json"), "call": call}


def prepare_steps(settings: Settings, audio: Path, then: list[str]) -> list[str]:
    """Turn CLI steps into dialplan steps, converting speech to 8 kHz files Asterisk can play."""
    work = settings.home / "spool" / "sim" / uuid.uuid4().hex
    work.mkdir(parents=True, exist_ok=True)
    steps: list[str] = []
    for i, step in enumerate([str(audio), *then]):
        if step == "hangup":
            steps.append("hangup")
        elif step.startswith("dtmf:"):
            digits = step[5:]
            if not digits or any(c not in "0123456789*#" for c in digits):
                raise InvalidInput(f"bad DTMF step {step!r}: digits 0-9 * # only")
            steps.append(step)
        elif step.startswith("silence:"):
            try:
                seconds = float(step[8:])
            except ValueError:
                raise InvalidInput(f"bad silence step {step!r}: use silence:SECONDS") from None
            out = work / f"{i:02d}-silence"
            write_wav(out.with_suffix(".wav"), b"\x00\x00" * int(8000 * seconds))
            steps.append(f"play:{out}")
        else:
            src = Path(step)
            if not src.is_file():
                raise InvalidInput(f"no such audio file: {src}")
            out = work / f"{i:02d}-speech"
            line = work / f"{i:02d}-ulaw.wav"
            telephone_copy(src, line)  # through G.711 µ-law, as a phone line carries it
            write_wav(out.with_suffix(".wav"), read_wav_pcm8k(line))
            steps.append(f"play:{out}")
    if any("^" in s for s in steps):
        raise InvalidInput("paths must not contain '^'")
    return steps


def place_call(settings: Settings, audio: Path, *, caller: str = "13800138000", dialed: str = "12345",
               then: list[str] | None = None, timeout_s: float = 180,
               until: str = "transfer", reaction_s: float = 0.3) -> CallResult:
    """Place the call and wait until the bot hands it over (until='transfer') or it ends ('hangup')."""
    steps = prepare_steps(settings, audio, then or [])
    layout = AsteriskLayout(settings.asterisk_dir)
    chan_id = uuid.uuid4().hex
    events: list[dict[str, str]] = []
    transfer: dict[str, str] = {}
    finished = threading.Event()

    speak = threading.Semaphore(0)  # one release per time the bot starts listening
    citizen: list[str] = []

    def on_event(e: dict[str, str]) -> None:
        if chan_id not in (e.get("Uniqueid"), e.get("Linkedid")):
            return
        events.append(e)
        if (e.get("Event") == "AGIExecStart" and e.get("Uniqueid") == chan_id
                and e.get("Command", "").upper().startswith("RECORD FILE")):
            # The bot side is Local/...;1; the citizen speaking into it is its ;2 half.
            citizen[:] = [e["Channel"].rsplit(";", 1)[0] + ";2"]
            speak.release()
        if e.get("Event") == "UserEvent" and e.get("UserEvent") == "HotlineTransfer":
            transfer.update(e)
            if until == "transfer":
                finished.set()
        if e.get("Event") == "Hangup" and e.get("Uniqueid") == chan_id:
            finished.set()

    ami = AmiClient(settings.ami_host, settings.ami_port, settings.ami_user, ami_secret_for(settings))
    ami.connect(timeout=10)
    try:
        ami.subscribe(on_event)
        ami.originate(
            "Local/s@citizen/n", context="ivr", exten=dialed, priority=1, caller_id=f'"" <{caller}>',
            variables={"SIM_STEPS": "^".join(steps), "SIM_SILENCE": str(layout.sim_silence)},
            timeout_ms=30000, async_=True, channel_id=chan_id,
        )
        deadline = time.monotonic() + timeout_s
        while not finished.is_set():
            if time.monotonic() > deadline:
                raise TimeoutError(f"simulated call {chan_id} did not finish within {timeout_s:.0f} s")
            if speak.acquire(timeout=0.05) and not finished.is_set():
                time.sleep(reaction_s)  # a caller starts talking a moment after the prompt
                try:
                    ami.action("Redirect", Channel=citizen[0], Context="citizen", Exten="next", Priority=1)
                except AmiError:
                    pass  # the citizen already hung up
    finally:
        ami.close()
    result = _result(settings, chan_id, deadline=time.monotonic() + 15)
    return replace(result, transfer=dict(transfer), events=list(events))


def _result(settings: Settings, uniqueid: str, *, deadline: float) -> CallResult:
    db = open_database(settings.db_url)
    try:
        while True:
            try:
                with db.session_factory() as s:
                    call = service.find_call(s, uniqueid=uniqueid)
                    done = call is not None and call.outcome != CallOutcome.IN_PROGRESS
                    if done or time.monotonic() > deadline:
                        if call is None:
                            return CallResult(uniqueid, "no_call", "", None)
                        ticket = (TicketDetail.model_validate(service.get_ticket(s, ticket_id=call.ticket_id))
                                  if call.ticket_id is not None else None)
                        return CallResult(uniqueid, call.outcome, call.transfer_reason, ticket)
            except OperationalError:
                # The database is down (fault tests): the call itself was served; say so, no ticket.
                if time.monotonic() > deadline:
                    return CallResult(uniqueid, "database_unavailable", "", None)
            time.sleep(0.1)
    finally:
        db.engine.dispose()
