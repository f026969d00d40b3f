"""The operator desk end to end: real Asterisk, a citizen call through the intake bot into the operator
queue, a simulated operator (Local channel) picks up, and headless Chromium (Playwright, Debian's
/usr/bin/chromium) logged in at that station sees the screen pop, edits it and dispatches. Then the
overflow: nobody answers in time, the ticket is marked 待回拨 and shows up in the page.

Screenshot: artifacts/console.png (gitignored)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from sqlalchemy import select

from accounts import service as accounts
from accounts.roles import Role
from agi.ami import AmiClient
from console.models import OperatorPickup
from foundation.db import open_database, transaction
from foundation.settings import Settings
from hotline.asterisk import ami_secret_for
from hotline.simcall import place_call
from hotline.stack import Stack
from routing.models import RoutingCorrection
from tests.conftest import REPO
from tests.e2e.conftest import SCRIPTS, _run_stack
from tickets.models import Ticket

pytestmark = pytest.mark.asterisk

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-dev-shm-usage"]
PASSWORD = "operator-pass-1"
ARTIFACTS = REPO / "artifacts"
QUEUE_TIMEOUT_S = 6


@pytest.fixture(scope="module")
def desk_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """One operator station (op1), a short queue timeout for the overflow, scripted recognition."""
    home = tmp_path_factory.mktemp("desk-home")
    script = home / "asr-script.json"
    script.write_text(json.dumps(SCRIPTS, ensure_ascii=False), encoding="utf-8")
    for st in _run_stack(home, operator_count=1, queue_timeout_s=QUEUE_TIMEOUT_S, overflow_callback_minutes=20,
                         asr_engine="tests.doubles.scripted_asr:scripted_engine", asr_engine_options=str(script)):
        db = open_database(st.settings.db_url)
        with transaction(db.session_factory) as s:
            accounts.create_user(s, username="zhang", password=PASSWORD, role=Role.OPERATOR, display_name="张")
        db.engine.dispose()
        yield st


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Browser, desk_stack: Stack) -> Iterator[Page]:
    pg = browser.new_page(viewport={"width": 1400, "height": 1000})
    pg.goto(f"{desk_stack.api_url}/console?station=op1")
    pg.fill("input[name=username]", "zhang")
    pg.fill("input[name=password]", PASSWORD)
    pg.click("#login button[type=submit]")
    expect(pg.get_by_test_id("link")).to_have_text("op1 在线", timeout=10_000)
    yield pg
    pg.close()


def _ami(settings: Settings) -> AmiClient:
    ami = AmiClient(settings.ami_host, settings.ami_port, settings.ami_user, ami_secret_for(settings))
    ami.connect(timeout=10)
    return ami


def test_screen_pop_edit_and_dispatch(desk_stack: Stack, page: Page, voice: Callable[[str], Path]) -> None:
    settings = desk_stack.settings
    ami = _ami(settings)
    try:
        r = place_call(settings, voice("龙华区金盘路的路灯坏了好几天了，晚上很黑。"), caller="13800000001",
                       then=[str(voice("对。"))])
        assert r.ticket is not None and r.transfer["TicketId"] == str(r.ticket.id)
        connect = ami.wait_for_event(lambda e: e.get("Event") == "AgentConnect", timeout=30)
    finally:
        ami.close()
    ticket = r.ticket
    assert "TICKET_ID=" + str(ticket.id) in connect.get("ChanVariable", "")  # manager.conf channelvars
    expect(page.get_by_test_id("ticket-number")).to_have_text(ticket.number, timeout=5_000)
    pops = page.evaluate("window.consolePops")
    pop = next(p for p in pops if p["ticket_id"] == ticket.id)
    # Shown after the pickup it belongs to (how soon after is bench/screen_pop.py's business).
    assert pop["shown_at_ms"] >= float(connect["Timestamp"]) * 1000 - 50
    # Pre-filled: transcript, type, category, top-3 departments, place, recordings, KB answers.
    expect(page.get_by_test_id("transcript")).to_have_value(ticket.transcript)
    expect(page.get_by_test_id("type")).to_have_value(ticket.type)
    expect(page.get_by_test_id("place")).to_have_value(ticket.place)
    expect(page.get_by_test_id("department")).to_have_value("urban_mgmt")
    assert page.locator("input[name=cand]").count() == len(ticket.department_candidates)
    assert page.get_by_test_id("recording").count() == 2
    src = page.get_by_test_id("recording").first.get_attribute("src")
    assert src is not None
    wav = page.request.get(f"{desk_stack.api_url}{src}")
    assert wav.status == 200 and wav.body()[:4] == b"RIFF"  # playable in the browser, behind the login
    expect(page.get_by_test_id("kb")).to_contain_text("路灯不亮怎么报修")
    # The simulated operator hangs up after 2 s: AgentComplete reaches the page too.
    expect(page.get_by_test_id("call-state")).to_have_text("已挂断", timeout=10_000)
    # A page that reconnects (reload, network blip) gets the pop again and still sees the call is over.
    page.reload()
    expect(page.get_by_test_id("ticket-number")).to_have_text(ticket.number, timeout=10_000)
    expect(page.get_by_test_id("call-state")).to_have_text("已挂断", timeout=5_000)
    # The operator corrects the transcript and the department, then one click.
    page.get_by_test_id("transcript").fill("龙华区金盘路18号门口路灯坏了好几天，晚上很黑")
    page.get_by_test_id("type").select_option("求助")
    page.get_by_test_id("department").select_option("power")
    page.get_by_test_id("dispatch").click()
    expect(page.get_by_test_id("result")).to_contain_text("已派单", timeout=5_000)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "console.png"), full_page=True)

    db = open_database(settings.db_url)
    try:
        with transaction(db.session_factory) as s:
            t = s.get_one(Ticket, ticket.id)
            assert (t.status, t.department_id, t.type) == ("dispatched", "power", "求助")
            assert t.transcript.startswith("龙华区金盘路18号")
            c = s.scalars(select(RoutingCorrection).where(RoutingCorrection.ticket_id == t.id)).one()
            assert (c.original_department_id, c.department_id, c.original_type, c.type) == (
                "urban_mgmt", "power", ticket.type, "求助")
            pickup = s.scalars(select(OperatorPickup).where(OperatorPickup.ticket_id == t.id)).one()
            assert pickup.station == "op1" and pickup.handled
    finally:
        db.engine.dispose()


def test_overflow_marks_callback_and_the_page_lists_it(desk_stack: Stack, page: Page,
                                                       voice: Callable[[str], Path]) -> None:
    settings = desk_stack.settings
    ami = _ami(settings)
    member = "Local/op1@sim-answer/n"
    ami.action("QueuePause", Queue=settings.operator_queue, Interface=member, Paused="true", Reason="test")
    try:
        started = time.monotonic()
        r = place_call(settings, voice("小区门口垃圾堆了好几天没人清理。"), caller="13800000002",
                       then=[str(voice("我要转人工。"))], until="hangup", timeout_s=120)
    finally:
        ami.action("QueuePause", Queue=settings.operator_queue, Interface=member, Paused="false")
        ami.close()
    assert r.ticket is not None
    assert time.monotonic() - started >= QUEUE_TIMEOUT_S
    exits = [e for e in r.events if e.get("UserEvent") == "HotlineQueueExit"]
    assert exits and exits[0]["QueueStatus"] == "TIMEOUT"
    assert any(e.get("UserEvent") == "HotlineCallbackPending" and e.get("TicketId") == str(r.ticket.id)
               for e in r.events)
    assert not any(e.get("Event") == "AgentConnect" for e in r.events)
    db = open_database(settings.db_url)
    try:
        with transaction(db.session_factory) as s:
            t = s.get_one(Ticket, r.ticket.id)
            assert t.missed_callback and t.callback_due_by is not None
            assert "missed_callback" in [e.kind for e in t.events]
    finally:
        db.engine.dispose()
    # Pushed to the page (the dialplan's HotlineCallbackPending → follower → SSE → list refresh).
    expect(page.get_by_test_id("callbacks")).to_contain_text(r.ticket.number, timeout=5_000)
    page.screenshot(path=str(ARTIFACTS / "console-callbacks.png"), full_page=True)
