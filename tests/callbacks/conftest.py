"""Tickets brought to 反馈 (result reported), and the rules the callback service runs on."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session, sessionmaker

from asr.audio import read_wav_pcm8k
from callbacks.hours import CallingHours, parse_hours
from callbacks.rules import CallbackRules, WorkflowDeps
from hotline.db import transaction
from prompts.render import PromptStore
from tickets import service
from tickets.models import Ticket
from tickets.schemas import TicketDraft
from tickets.workflow import apply_action

SH = ZoneInfo("Asia/Shanghai")
MONDAY_10 = datetime(2025, 11, 24, 10, 0, tzinfo=SH)
CITIZEN = "13800138000"


@pytest.fixture(scope="session")
def deps() -> WorkflowDeps:
    return WorkflowDeps.load()


@pytest.fixture
def rules() -> CallbackRules:
    return CallbackRules(hours=CallingHours(parse_hours("09:00-12:00,14:00-20:00")), delay=timedelta(hours=1),
                         max_attempts=3, backoff_s=(1800, 7200), lease=timedelta(seconds=120))


def report_ticket(factory: sessionmaker[Session], deps: WorkflowDeps, *, caller: str = CITIZEN,
                  at: datetime = MONDAY_10, summary: str = "金盘路路灯不亮", **flags: bool) -> int:
    """A ticket dispatched, signed, worked and answered by the department: ready for 回访."""
    draft = TicketDraft(caller_number=caller, transcript="龙华区金盘路的路灯坏了", summary=summary,
                        type="投诉", category="城乡建设")
    with transaction(factory) as s:
        tid = service.open_ticket(s, draft=draft, actor="ivr").id
        for name, value in flags.items():
            setattr(s.get_one(Ticket, tid), name, value)
    steps = [("dispatch", "dispatcher", {"department_id": "urban_mgmt"}), ("sign", "department", {}),
             ("start", "department", {}), ("report_result", "department", {})]
    for action, role, params in steps:
        with transaction(factory) as s:
            apply_action(s, ticket_id=tid, action=action, role=role, actor=role, now=at, policy=deps.policy,
                         catalog=deps.catalog, params=params)
    return tid


@pytest.fixture
def reported_ticket(session_factory: sessionmaker[Session], deps: WorkflowDeps) -> Callable[..., int]:
    return lambda **kw: report_ticket(session_factory, deps, **kw)


@pytest.fixture(scope="session")
def speech(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], bytes]:
    """Real synthesised Mandarin (espeak-ng), 8 kHz PCM, as a citizen's line would carry it."""
    store = PromptStore(tmp_path_factory.mktemp("citizen-voice"))
    return lambda text: read_wav_pcm8k(Path(store.text_path(text) + ".wav"))
