"""The console over real HTTP: the API process built by its composition root (hotline.roots.build_api)
with the queue follower inside, a fake Asterisk AMI on a real socket, uvicorn, and SSE read by httpx.
Then the one-click confirm, recordings, 待回拨 and the knowledge-base API with their permissions."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from accounts import service as accounts
from accounts.models import ReadAudit
from accounts.roles import Role
from console import missed
from foundation.db import transaction
from foundation.settings import Settings
from hotline.roots import build_api
from routing.catalog import load_catalog
from routing.models import RoutingCorrection
from tests.agi.fakes import AmiSession, FakeAmi
from tests.console.test_follower import agent_connect
from tickets import service as tickets
from tickets.schemas import DepartmentCandidate, TicketDraft

PASSWORD = "console-pass-1"
USERS = {"op": (Role.OPERATOR, None), "boss": (Role.DISPATCHER, None), "lh": (Role.DEPARTMENT, "longhua")}


class NoActions:
    def __call__(self, session: AmiSession, p: dict[str, str]) -> None:
        aid = p["ActionID"]
        if p["Action"] == "CoreShowChannels":
            session.send({"Response": "Success", "ActionID": aid, "EventList": "start"},
                         {"Event": "CoreShowChannelsComplete", "ActionID": aid, "EventList": "Complete"})
        else:
            session.send({"Response": "Error", "ActionID": aid, "Message": "no"})


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Api:
    url: str
    ami: FakeAmi
    tokens: dict[str, str]
    factory: sessionmaker[Session]
    settings: Settings

    def h(self, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[user]}"}

    def get(self, path: str, user: str | None = "op", **kw: object) -> httpx.Response:
        return httpx.get(self.url + path, headers=self.h(user) if user else {}, timeout=10, **kw)  # type: ignore[arg-type]

    def post(self, path: str, body: object, user: str = "op") -> httpx.Response:
        return httpx.post(self.url + path, headers=self.h(user), json=body, timeout=10)


@pytest.fixture
def api(settings: Settings, session_factory: sessionmaker[Session]) -> Iterator[Api]:
    ami = FakeAmi(NoActions())
    s = settings.model_copy(update={"api_port": _free_port(), "ami_port": ami.port, "ami_secret": "good",
                                    "anonymous_reads": False})
    with transaction(session_factory) as sess:
        accounts.load_units(sess, catalog=load_catalog())
        for name, (role, dept) in USERS.items():
            accounts.create_user(sess, username=name, password=PASSWORD, role=role, department=dept)
    server = uvicorn.Server(uvicorn.Config(build_api(s), host="127.0.0.1", port=s.api_port, log_level="warning",
                                           timeout_graceful_shutdown=2))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{s.api_port}"
    deadline = time.monotonic() + 20
    while not (server.started and ami.sessions):
        assert time.monotonic() < deadline, "API or its AMI follower did not start"
        time.sleep(0.05)
    tokens = {n: httpx.post(f"{url}/api/auth/login", json={"username": n, "password": PASSWORD}).json()["token"]
              for n in USERS}
    try:
        yield Api(url, ami, tokens, session_factory, s)
    finally:
        server.should_exit = True
        thread.join(10)
        ami.close()


def _ticket(factory: sessionmaker[Session], caller: str = "13800000001") -> int:
    with transaction(factory) as s:
        return tickets.open_ticket(s, actor="ivr", draft=TicketDraft(
            caller_number=caller, transcript="龙华区金盘路的路灯坏了好几天了晚上很黑", summary="路灯坏了",
            type="投诉", category="城乡建设", place="龙华区金盘路", router_source="keywords",
            departments=[DepartmentCandidate(id="urban_mgmt", name="市城市管理和综合执法局", confidence=0.8)])).id


class Stream:
    """An SSE reader on its own thread: messages land in a list as they arrive."""

    def __init__(self, url: str) -> None:
        self.messages: list[dict[str, object]] = []
        self.arrived: list[float] = []
        self.opened = threading.Event()
        self._client = httpx.Client(timeout=httpx.Timeout(10, read=None))
        self._thread = threading.Thread(target=self._read, args=(url,), daemon=True)
        self._thread.start()
        assert self.opened.wait(10)

    def _read(self, url: str) -> None:
        try:
            with self._client.stream("GET", url) as r:
                self.status = r.status_code
                self.opened.set()
                for line in r.iter_lines():
                    if line.startswith("data: "):
                        self.messages.append(json.loads(line[6:]))
                        self.arrived.append(time.time())
        except httpx.HTTPError:
            pass

    def wait(self, n: int, timeout: float = 5.0) -> list[dict[str, object]]:
        deadline = time.monotonic() + timeout
        while len(self.messages) < n:
            assert time.monotonic() < deadline, f"only {len(self.messages)} SSE message(s)"
            time.sleep(0.01)
        return self.messages

    def close(self) -> None:
        self._client.close()


def test_pickup_on_ami_reaches_the_station_page_over_sse(api: Api) -> None:
    tid = _ticket(api.factory)
    older = _ticket(api.factory)
    op1 = Stream(f"{api.url}/api/console/stream?station=op1&token={api.tokens['op']}")
    op2 = Stream(f"{api.url}/api/console/stream?station=op2&token={api.tokens['op']}")
    try:
        assert op1.status == 200
        time.sleep(0.2)  # both subscribed
        sent = time.time()
        api.ami.sessions[-1].send(agent_connect("1700000000.9", ticket=str(tid), interface="PJSIP/op1",
                                                ts=f"{sent:.6f}"))
        pop = op1.wait(1)[0]
        assert pop["kind"] == "pop" and pop["station"] == "op1"
        ticket = pop["ticket"]
        assert isinstance(ticket, dict) and ticket["id"] == tid and ticket["caller_number"] == "13800000001"
        assert [e["id"] for e in pop["earlier"]] == [older]  # type: ignore[attr-defined]
        assert pop["kb"] and pop["kb"][0]["title"] == "路灯不亮怎么报修"  # type: ignore[index]
        assert op1.arrived[0] - sent < 1.0
        time.sleep(0.2)
        assert op2.messages == []  # another station sees nothing
        # A page opened later gets the current pop at once.
        late = Stream(f"{api.url}/api/console/stream?station=op1&token={api.tokens['op']}")
        assert late.wait(1)[0]["ticket"]["id"] == tid  # type: ignore[index]
        late.close()
    finally:
        op1.close()
        op2.close()
    with transaction(api.factory) as s:
        audits = s.scalars(select(ReadAudit).where(ReadAudit.what == "screen_pop")).all()
        assert len(audits) >= 2 and all(a.ticket_ids == [tid] for a in audits)


def test_stream_needs_a_desk_login_and_a_known_station(api: Api) -> None:
    r = api.get("/api/console/stream?station=op1", user=None)
    assert (r.status_code, r.json()["error"]["id"]) == (401, "auth.required")
    r = api.get("/api/console/stream?station=op1", user="lh")
    assert (r.status_code, r.json()["error"]["id"]) == (403, "auth.forbidden")
    r = api.get("/api/console/stream?station=op99")
    assert (r.status_code, r.json()["error"]["id"]) == (422, "console.unknown_station")


def test_page_and_assets_are_served(api: Api) -> None:
    page = httpx.get(f"{api.url}/console")
    assert page.status_code == 200 and "话务员工作台" in page.text and "/console/console.js" in page.text
    js = httpx.get(f"{api.url}/console/console.js")
    assert js.status_code == 200 and "EventSource" in js.text and "javascript" in js.headers["content-type"]
    assert httpx.get(f"{api.url}/console/secrets.txt").status_code == 404
    opts = api.get("/api/console/options").json()
    assert opts["stations"] == [f"op{i}" for i in range(1, api.settings.operator_count + 1)]
    assert "咨询" in opts["types"] and {"id": "hrss", "name": "市人力资源和社会保障局"} in opts["departments"]


def test_one_click_confirm_over_http(api: Api) -> None:
    tid = _ticket(api.factory)
    form = {"transcript": "金盘路路灯坏了", "summary": "路灯坏了", "type": "投诉", "category": "城乡建设",
            "department_id": "power", "place": "龙华区金盘路"}
    r = api.post(f"/api/console/tickets/{tid}/confirm", form)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "dispatched" and r.json()["changed"]
    again = api.post(f"/api/console/tickets/{tid}/confirm", form)
    assert (again.status_code, again.json()["error"]["id"]) == (409, "ticket.invalid_transition")
    bad = api.post(f"/api/console/tickets/{_ticket(api.factory)}/confirm", {**form, "type": "闲聊"})
    assert (bad.status_code, bad.json()["error"]["id"]) == (422, "console.invalid_form")
    assert api.post(f"/api/console/tickets/{tid}/confirm", form, user="lh").status_code == 403
    new = api.post("/api/console/tickets", {**form, "caller_number": "13700000000"})
    assert new.status_code == 201 and new.json()["status"] == "dispatched"
    with transaction(api.factory) as s:
        assert len(s.scalars(select(RoutingCorrection)).all()) == 2


def test_recording_is_served_to_the_center_only_and_audited(api: Api) -> None:
    tid = _ticket(api.factory)
    wav = api.settings.recordings_dir / "20260101" / "c1" / "01-request.wav"
    wav.parent.mkdir(parents=True)
    wav.write_bytes(b"RIFF0000WAVEfmt fake")
    outside = Path(api.settings.home) / "elsewhere.wav"
    outside.write_bytes(b"RIFF")
    with transaction(api.factory) as s:
        call = tickets.start_call(s, channel="c", uniqueid="u", caller_number="1", dialed_number="12345")
        rec = tickets.add_recording(s, call_id=call.id, turn=1, purpose="request", path=str(wav))
        rec.ticket_id = tid
        bad = tickets.add_recording(s, call_id=call.id, turn=2, purpose="x", path=str(outside))
        rec_id, bad_id = rec.id, bad.id
    r = httpx.get(f"{api.url}/api/console/recordings/{rec_id}?token={api.tokens['op']}")
    assert r.status_code == 200 and r.content == wav.read_bytes() and r.headers["content-type"] == "audio/wav"
    assert api.get(f"/api/console/recordings/{rec_id}", user="lh").status_code == 403
    assert api.get(f"/api/console/recordings/{bad_id}").status_code == 404  # outside the recordings dir
    with transaction(api.factory) as s:
        assert s.scalars(select(ReadAudit).where(ReadAudit.what == "recording")).one().ticket_ids == [tid]


def test_callbacks_list_and_done(api: Api) -> None:
    tid = _ticket(api.factory)
    with transaction(api.factory) as s:
        from foundation.db import utcnow
        missed.mark_missed_callback(s, ticket_id=tid, due_by=utcnow(), reason="queue TIMEOUT")
    items = api.get("/api/console/callbacks").json()
    assert [i["id"] for i in items] == [tid] and items[0]["caller_number"] == "13800000001"
    assert api.post(f"/api/console/callbacks/{tid}/done", {"note": "已回电"}).status_code == 204
    assert api.get("/api/console/callbacks").json() == []
    r = api.post(f"/api/console/callbacks/{tid}/done", {})
    assert (r.status_code, r.json()["error"]["id"]) == (422, "invalid_input")


def test_knowledge_base_api(api: Api) -> None:
    hits = api.get("/api/kb/search", params={"q": "社保卡丢了怎么办"}).json()
    assert hits[0]["entry"]["slug"] == "social-security-card-lost"
    body = {"title": "燃气报修", "answer": "燃气泄漏请立即开窗并拨打燃气公司抢修电话", "tags": "燃气 漏气",
            "department_id": "gas", "category": "城乡建设"}
    assert api.post("/api/kb", body, user="op").status_code == 403  # operators read, supervisors edit
    created = api.post("/api/kb", body, user="boss")
    assert created.status_code == 201, created.text
    eid = created.json()["id"]
    patched = httpx.patch(f"{api.url}/api/kb/{eid}", headers=api.h("boss"), json={"answer": "新答案"})
    assert patched.json()["answer"] == "新答案" and patched.json()["updated_by"] == "dispatcher:boss"
    bad = api.post("/api/kb", {**body, "department_id": "nasa"}, user="boss")
    assert (bad.status_code, bad.json()["error"]["id"]) == (422, "kb.invalid")
    assert api.post("/api/kb", {"title": "", "answer": "x"}, user="boss").status_code == 422
    assert httpx.delete(f"{api.url}/api/kb/{eid}", headers=api.h("boss")).status_code == 204
    assert api.get(f"/api/kb/{eid}").json()["error"]["id"] == "kb.not_found"
    assert api.get("/api/kb", user="lh").status_code == 403
