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
    created_at: datetime
    updated_at: datetime


class TicketDetail(TicketRead):
    recordings: list[RecordingRead]
    events: list[TicketEventRead]


class TicketList(BaseModel):
    items: list[TicketRead]
    total: int
    limit: int
    offset: int
