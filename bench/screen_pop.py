"""Screen-pop latency on real Asterisk: operator pickup (AMI AgentConnect, Asterisk's own timestamp)
→ the ticket visible in the operator's browser page (headless Chromium, Debian's /usr/bin/chromium).

A whole stack runs (Asterisk, AGI server, API with its queue follower). Each call is a simulated
citizen (Local channel) sent straight to the operator extension of the 12345 dialplan with a ticket
already opened (TICKET_ID), as the intake bot leaves it; simulated operators (Local channels) answer
from the queue. One logged-in console page per station; a pop counts as visible when the page has
rendered it and the next animation frame has run. Target: p95 ≤ 1000 ms.

Last line: key=value figures."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from playwright.sync_api import Page, sync_playwright  # noqa: E402

from accounts import service as accounts  # noqa: E402
from accounts.roles import Role  # noqa: E402
from agi.ami import AmiClient, AmiTimeout  # noqa: E402
from foundation.asterisk_layout import AsteriskLayout  # noqa: E402
from foundation.db import open_database, transaction  # noqa: E402
from foundation.settings import Settings  # noqa: E402
from hotline.asterisk import ami_secret_for  # noqa: E402
from hotline.stack import Stack  # noqa: E402
from tests.e2e.conftest import free_port  # noqa: E402
from tickets import service as tickets  # noqa: E402
from tickets.schemas import DepartmentCandidate, TicketDraft  # noqa: E402

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-dev-shm-usage"]
PASSWORD = "bench-operator-1"


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def open_tickets(settings: Settings, n: int) -> list[int]:
    db = open_database(settings.db_url)
    ids = []
    with transaction(db.session_factory) as s:
        accounts.create_user(s, username="bench", password=PASSWORD, role=Role.OPERATOR)
        for i in range(n):
            caller = f"1390000{i % 5:04d}"  # a few repeat callers: earlier tickets are part of the pop
            draft = TicketDraft(caller_number=caller, transcript=f"龙华区金盘路{i + 1}号门口的路灯坏了好几天了晚上很黑",
                                summary=f"金盘路{i + 1}号路灯坏了", type="投诉", category="城乡建设",
                                place=f"龙华区金盘路{i + 1}号", confirmed_by_caller=True, router_source="keywords",
                                departments=[DepartmentCandidate(id="urban_mgmt", name="市城市管理和综合执法局",
                                                                 confidence=0.8)])
            ids.append(tickets.open_ticket(s, draft=draft, actor="ivr").id)
    db.engine.dispose()
    return ids


def login(page: Page, url: str, station: str) -> None:
    page.goto(f"{url}/console?station={station}")
    page.fill("input[name=username]", "bench")
    page.fill("input[name=password]", PASSWORD)
    page.click("#login button[type=submit]")
    page.wait_for_function(f"document.getElementById('link').textContent === '{station} 在线'", timeout=15_000)


def shown_at(pages: dict[str, Page], station: str, ticket_id: int, timeout_s: float) -> float | None:
    page = pages[station]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        pops = page.evaluate("window.consolePops")
        for p in pops:
            if p["ticket_id"] == ticket_id and p.get("painted_at_ms"):
                return float(p["painted_at_ms"])
        page.wait_for_timeout(20)
    return None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=20)
    ap.add_argument("--operators", type=int, default=3)
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-screen-pop-") as tmp:
        settings = Settings(home=Path(tmp), api_port=free_port(), agi_port=free_port(), ami_port=free_port(),
                            sip_port=free_port(), simulated_parties=True, operator_count=args.operators,
                            queue_timeout_s=60)
        stack = Stack(settings)
        stack.start()
        latencies: list[float] = []
        lost = 0
        try:
            ticket_ids = open_tickets(settings, args.calls)
            silence = AsteriskLayout(settings.asterisk_dir).sim_silence
            ami = AmiClient(settings.ami_host, settings.ami_port, settings.ami_user, ami_secret_for(settings))
            ami.connect(timeout=10)
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)
                pages = {}
                for i in range(1, args.operators + 1):
                    station = f"op{i}"
                    pages[station] = browser.new_page()
                    login(pages[station], stack.api_url, station)
                for ticket_id in ticket_ids:
                    chan_id = uuid.uuid4().hex
                    ami.originate("Local/s@citizen/n", context="ivr", exten="operator", caller_id='"" <13900000000>',
                                  variables={"TICKET_ID": ticket_id, "SIM_STEPS": "", "SIM_SILENCE": str(silence)},
                                  channel_id=chan_id)
                    def picked_up(e: dict[str, str], c: str = chan_id) -> bool:
                        return e.get("Event") == "AgentConnect" and e.get("Uniqueid") == c

                    try:
                        connect = ami.wait_for_event(picked_up, timeout=30)
                    except AmiTimeout:
                        lost += 1
                        continue
                    station = (connect.get("Interface", "").split("/")[1]).split("@")[0]
                    shown = shown_at(pages, station, ticket_id, timeout_s=10)
                    if shown is None:
                        lost += 1
                    else:
                        latencies.append(shown - float(connect["Timestamp"]) * 1000)
                    try:  # the simulated citizen leaves, so the next call finds a free operator
                        ami.action("Hangup", Channel=connect["Channel"])
                    except Exception:
                        pass
                    time.sleep(0.2)
                browser.close()
            ami.close()
        finally:
            stack.stop()
    print(json.dumps({"latencies_ms": [round(x, 1) for x in latencies]}))
    print(f"p50_ms={pct(latencies, 0.5):.0f} p95_ms={pct(latencies, 0.95):.0f} max_ms={max(latencies, default=0):.0f} "
          f"calls={args.calls} lost={lost} operators={args.operators} target_p95_ms=1000")
    return 0 if lost == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
