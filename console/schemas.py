"""What the console page receives (screen pops, lists) and submits (the confirmed form)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from tickets.schemas import DepartmentCandidate, TicketRead


class RecordingLink(BaseModel):
    id: int
    turn: int
    purpose: str
    audio_seconds: float
    transcript: str
    url: str  # authenticated WAV endpoint; the page adds its token


class EarlierTicket(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    number: str
    created_at: datetime
    type: str
    category: str
    summary: str
    status: str
    department_name: str


class KbMatch(BaseModel):
    id: int
    title: str
    answer: str
    department_id: str
    score: float
    matched: list[str]


class ScreenPop(BaseModel):
    """Everything the operator needs on screen at pickup, in one message."""

    kind: Literal["pop"] = "pop"
    station: str
    pickup_id: int | None
    picked_up_at: float  # epoch seconds, Asterisk's AgentConnect time (latency is measured from it)
    hold_seconds: int
    caller_uniqueid: str
    caller_number: str
    ticket: TicketRead | None  # None: the caller reached the queue without a ticket (the form opens one)
    recordings: list[RecordingLink] = Field(default_factory=list)
    earlier: list[EarlierTicket] = Field(default_factory=list)
    kb: list[KbMatch] = Field(default_factory=list)
    missed_callback: bool = False
    call_ended: bool = False  # the caller has hung up (a pop sent again to a page that reconnected)


class ConfirmForm(BaseModel):
    """The operator's one click: the (corrected) ticket and what to do with it."""

    transcript: str
    summary: str = ""
    type: str
    category: str
    department_id: str
    place: str = ""
    action: Literal["dispatch", "close_on_call"] = "dispatch"
    kb_entry_id: int | None = None  # 即办件: the knowledge-base answer read to the caller
    note: str = Field(default="", max_length=2000)
    # Only for a pop without a ticket: the form opens one for this caller.
    caller_number: str = ""
    caller_uniqueid: str = ""


class ConfirmResult(BaseModel):
    ticket_id: int
    number: str
    status: str
    department_id: str
    changed: bool
    correction_id: int


class CallbackItem(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    number: str
    caller_number: str
    summary: str
    transcript: str
    type: str
    department_name: str
    created_at: datetime
    callback_due_by: datetime | None
    incomplete: bool


class OverflowRequest(BaseModel):
    """What the caller told the overflow leg, as the router classified it (journaled as it is)."""

    text: str = ""
    speech_s: float = 0.0
    summary: str = ""
    type: str = ""
    category: str = ""
    departments: list[DepartmentCandidate] = Field(default_factory=list)
    place: str = ""
    router_source: str = ""
