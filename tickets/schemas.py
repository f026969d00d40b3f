"""Pydantic schemas of the tickets domain: what the API returns and what intake submits."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class DepartmentCandidate(BaseModel):
    id: str
    name: str
    confidence: float


class TicketDraft(BaseModel):
    """What intake (or any channel) knows when it opens a ticket."""

    channel: str = "phone"
    call_id: str | None = None
    caller_number: str = ""
    dialed_number: str = ""
    transcript: str = ""
    summary: str = ""
    type: str = ""
    category: str = ""
    departments: list[DepartmentCandidate] = Field(default_factory=list)
    place: str = ""
    emergency: str = ""
    confirmed_by_caller: bool = False
    incomplete: bool = False
    needs_transcription: bool = False
    router_source: str = ""


class RecordingRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    turn: int
    purpose: str
    path: str
    audio_seconds: float
    speech_seconds: float
    transcript: str
    ended_by: str
    created_at: datetime


class TicketEventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    actor: str
    kind: str
    reason: str
    data: dict[str, Any]


class TicketRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    number: str
    channel: str
    caller_number: str
    dialed_number: str
    call_id: str | None
    transcript: str
    summary: str
    type: str
    category: str
    department_id: str
    department_name: str
    department_candidates: list[DepartmentCandidate]
    place: str
    emergency: str
    status: str
    confirmed_by_caller: bool
    incomplete: bool
    needs_transcription: bool
    router_source: str
    dispatched_at: datetime | None = None
    signed_at: datetime | None = None
    closed_at: datetime | None = None
    sign_by: datetime | None = None
    resolve_by: datetime | None = None
    deadline_rule: str = ""
    supervision_level: int = 0
    extension_pending: bool = False
    extension_days: int = 0
    merged_into_id: int | None = None
    assigned_unit: str | None = None
    satisfaction: str = ""
    anonymous: bool = False
    no_callback: bool = False  # 不回访
    missed_callback: bool = False  # 待回拨: nobody answered in the queue
    callback_due_by: datetime | None = None
    created_at: datetime
    updated_at: datetime


class TicketDetail(TicketRead):
    recordings: list[RecordingRead]
    events: list[TicketEventRead]
    allowed_actions: list[str] = Field(default_factory=list, description="what the reader may do next")


class ActionRequest(BaseModel):
    action: str = Field(description="a tickets.lifecycle.Action value, e.g. sign, note, return")
    reason: str = Field(default="", max_length=4000, description="why; the note or result text")
    params: dict[str, Any] = Field(default_factory=dict, description="e.g. {department_id}, {days}, {level}")


class ActionResult(BaseModel):
    id: int
    number: str
    status: str
    allowed_actions: list[str]


class TicketList(BaseModel):
    items: list[TicketRead]
    total: int
    limit: int
    offset: int


class WrittenRequest(BaseModel):
    """A request from a written channel (web form, mailbox letter, WeChat message), filed through
    tickets.intake.file_request like Open311's."""

    channel: str = Field(description="web, mailbox or wechat")
    text: str = Field(description="the citizen's words, as written")
    caller_number: str | None = None
    caller_name: str | None = None
    caller_email: str | None = None
    place: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    service_code: str | None = Field(default=None, description="a department id; empty: the router decides")
    media_url: str | None = None
    meta: dict[str, Any] = Field(default_factory=dict, description="channel extras kept verbatim, e.g. openid")


class FiledRequest(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    number: str
    channel: str
    status: str
    type: str
    category: str
    department_id: str
    department_name: str
    place: str
    summary: str
    emergency: str


class SlipVerifyRequest(BaseModel):
    ticket_number: str
    code: str = Field(description="the verification code printed on the slip, e.g. ABCD-EFGH-IJKL-MNOP")
    fields: dict[str, str] | None = Field(
        default=None, description="the slip's printed fields (tickets.slip.FIELD_KEYS); omitted: check the code "
                                  "against the ticket's current slip")


class SlipVerifyResult(BaseModel):
    valid: bool
    reason: str
    current: bool
    changed: list[str]
