"""Tickets brought to 反馈 (result reported) or closed on the call (即办件), and the rules the callback
service runs on."""

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
from foundation.db import transaction
from prompts.render import PromptStore
from tickets import service
from tickets.models import Ticket
from tickets.schemas import DepartmentCandidate, TicketDraft
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


def close_on_call_ticket(factory: sessionmaker[Session], deps: WorkflowDeps, *, caller: str = CITIZEN,
                         at: datetime = MONDAY_10, summary: str = "公积金提取需要什么材料",
                         departments: list[DepartmentCandidate] | None = None, category: str = "劳动和社会保障",
                         **fields: object) -> int:
    """A 即办件: the operator answered during the call and closed the ticket (受理 → 办结). `fields` are set
    on the ticket before it is closed (anonymous, no_callback, department_id ...)."""
    cands = [DepartmentCandidate(id="housing_fund", name="市住房公积金管理中心", confidence=0.8)] \
        if departments is None else departments
    draft = TicketDraft(caller_number=caller, transcript="我想问一下公积金提取需要什么材料", summary=summary,
                        type="咨询", category=category, departments=cands)
    with transaction(factory) as s:
        t = service.open_ticket(s, draft=draft, actor="ivr")
        for name, value in fields.items():
            setattr(t, name, value)
        tid = t.id
    with transaction(factory) as s:
        apply_action(s, ticket_id=tid, action="close_on_call", role="operator", actor="op1", now=at,
                     policy=deps.policy, catalog=deps.catalog, reason="即办件：当场答复")
    return tid


@pytest.fixture
def on_call_ticket(session_factory: sessionmaker[Session], deps: WorkflowDeps) -> Callable[..., int]:
    return lambda **kw: close_on_call_ticket(session_factory, deps, **kw)


@pytest.fixture
def reported_ticket(session_factory: sessionmaker[Session], deps: WorkflowDeps) -> Callable[..., int]:
    return lambda **kw: report_ticket(session_factory, deps, **kw)


@pytest.fixture(scope="session")
def speech(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], bytes]:
    """Real synthesised Mandarin (espeak-ng), 8 kHz PCM, as a citizen's line would carry it."""
    store = PromptStore(tmp_path_factory.mktemp("citizen-voice"))
    return lambda text: read_wav_pcm8k(Path(store.text_path(text) + ".wav"))
