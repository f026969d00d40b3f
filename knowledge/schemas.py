"""Knowledge-base API shapes."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class KbEntryIn(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    answer: str = Field(min_length=1)
    question: str = ""
    category: str = ""
    department_id: str = ""
    tags: str = ""
    active: bool = True


class KbEntryPatch(BaseModel):
    title: str | None = Field(default=None, min_length=1, max_length=200)
    answer: str | None = Field(default=None, min_length=1)
    question: str | None = None
    category: str | None = None
    department_id: str | None = None
    tags: str | None = None
    active: bool | None = None


class KbEntryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    slug: str | None
    title: str
    question: str
    answer: str
    category: str
    department_id: str
    tags: str
    active: bool
    created_at: datetime
    updated_at: datetime
    updated_by: str


class KbHit(BaseModel):
    entry: KbEntryRead
    score: float
    matched: list[str]


class KbList(BaseModel):
    items: list[KbEntryRead]
    total: int
