"""Screen pops across API instances (console.relay) on a real PostgreSQL: LISTEN/NOTIFY, one delivery
per page however many followers saw the event, and a listener that comes back after losing its
connection. The once-per-key rule and SQLite (no relay) on their own."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from console import service
from console.desk import Desk
from console.follower import CallbackPending, CallEnded, Pickup
from console.hub import Message, PushHub, Subscription
from console.relay import DEDUP_S, NotifyListener, Relay
from foundation import migrate
from foundation.db import Database, libpq_dsn, open_database, transaction
from foundation.settings import Settings
from hotline.roots import build_api
from tests.pg import PostgresServer
from tickets import service as tickets
from tickets.schemas import TicketDraft

CALLER = "13800000001"


@dataclass
class Instance:
    """One API instance's console parts: its pages' hub, its relay, its listener and its desk."""

    hub: PushHub
    relay: Relay
    listener: NotifyListener
    desk: Desk


@pytest.fixture
def pg(postgres: PostgresServer) -> Iterator[Database]:
    url = postgres.create_database(f"r{uuid.uuid4().hex[:12]}")
    migrate.upgrade(url)
    db = open_database(url)
    yield db
    db.engine.dispose()


@pytest.fixture
def instances(pg: Database) -> Iterator[Callable[[], Instance]]:
    made: list[Instance] = []

    def make() -> Instance:
        dsn = libpq_dsn(pg.engine)
        assert dsn is not None
        hub = PushHub()
        relay = Relay(hub, pg.session_factory, notify=True)
        listener = NotifyListener(dsn, relay.receive, backoff_s=(0.1,))
        listener.start()
        assert listener.listening.wait(10)
        made.append(Instance(hub, relay, listener, Desk(pg.session_factory, relay)))
        return made[-1]

    yield make
    for i in made:
        i.listener.stop()


def _ticket(factory: sessionmaker[Session]) -> int:
    with transaction(factory) as s:
        draft = TicketDraft(caller_number=CALLER, transcript="金盘路的路灯坏了", summary="路灯坏了", type="投诉",
                            category="城乡建设", confirmed_by_caller=True)
        return tickets.open_ticket(s, draft=draft, actor="ivr").id


def _pickup(ticket_id: int | None, uniqueid: str = "u1", station: str = "op1") -> Pickup:
    return Pickup(station=station, ticket_id=ticket_id, caller_uniqueid=uniqueid, caller_channel="Local/s@citizen;1",
                  caller_number=CALLER, operator_channel="PJSIP/op1-1", queue="operators", hold_seconds=3,
                  at=datetime.now(UTC).timestamp(), via="AgentConnect")


async def _drain(sub: Subscription, quiet_s: float = 1.0) -> list[Message]:
    """Everything the page gets until nothing more comes for `quiet_s`."""
    got: list[Message] = []
    while True:
        try:
            got.append(await asyncio.wait_for(sub.get(), timeout=quiet_s))
        except TimeoutError:
            return got


def _pages(stations: list[tuple[PushHub, str]], action: Callable[[], object]) -> list[list[Message]]:
    """Open one page per (hub, station), run `action` in a worker thread (as the follower would), and
    return what each page received."""

    async def main() -> list[list[Message]]:
        subs = [hub.subscribe(station) for hub, station in stations]
        await asyncio.to_thread(action)
        return list(await asyncio.gather(*(_drain(s) for s in subs)))

    return asyncio.run(main())


def test_a_pop_reaches_a_page_connected_to_another_instance(pg: Database,
                                                            instances: Callable[[], Instance]) -> None:
    a, b = instances(), instances()
    tid = _ticket(pg.session_factory)
    on_a, on_b, other_station = _pages([(a.hub, "op1"), (b.hub, "op1"), (b.hub, "op2")],
                                       lambda: a.desk.on_pickup(_pickup(tid)))
    assert len(on_a) == 1 and on_b == on_a  # the same pop, built from the database over there
    assert on_b[0]["ticket"]["id"] == tid and on_b[0]["caller_number"] == CALLER and other_station == []
    assert (a.relay.relayed, b.relay.relayed) == (0, 1)


def test_a_call_without_a_ticket_pops_with_its_number_everywhere(pg: Database,
                                                                  instances: Callable[[], Instance]) -> None:
    """AGI server down: only AMI knew the number; the other instance and a page opened late show it too."""
    a, b = instances(), instances()
    on_a, on_b = _pages([(a.hub, "op1"), (b.hub, "op1")], lambda: a.desk.on_pickup(_pickup(None)))
    assert on_a == on_b and on_b[0]["ticket"] is None and on_b[0]["caller_number"] == CALLER
    with pg.session_factory() as s:
        late = service.current_pop(s, station="op1")
    assert late is not None and late.caller_number == CALLER


def test_the_same_pickup_seen_by_two_followers_reaches_each_page_once(
        pg: Database, instances: Callable[[], Instance]) -> None:
    a, b = instances(), instances()
    tid = _ticket(pg.session_factory)

    def both() -> None:
        a.desk.on_pickup(_pickup(tid))
        b.desk.on_pickup(_pickup(tid))

    on_a, on_b = _pages([(a.hub, "op1"), (b.hub, "op1")], both)
    assert len(on_a) == 1 and len(on_b) == 1 and on_a == on_b


def test_call_end_and_callbacks_news_are_relayed(pg: Database, instances: Callable[[], Instance]) -> None:
    a, b = instances(), instances()
    tid = _ticket(pg.session_factory)
    a.desk.on_pickup(_pickup(tid))
    deadline = time.monotonic() + 10
    while b.relay.relayed == 0:  # the pop has reached b before its pages open
        assert time.monotonic() < deadline
        time.sleep(0.05)

    def news() -> None:
        a.desk.on_call_ended(CallEnded(station="op1", caller_uniqueid="u1", ticket_id=tid, at=time.time()))
        a.desk.on_callback_pending(CallbackPending(ticket_id=tid, at=time.time()))

    op1, op2 = _pages([(b.hub, "op1"), (b.hub, "op2")], news)
    ended = {"kind": "call_ended", "caller_uniqueid": "u1", "ticket_id": tid}
    assert op1 == [ended, {"kind": "callbacks", "ticket_id": tid}]
    assert op2 == [{"kind": "callbacks", "ticket_id": tid}]  # callbacks news reaches every page


def test_the_listener_comes_back_after_its_connection_is_killed(
        pg: Database, instances: Callable[[], Instance]) -> None:
    a, b = instances(), instances()
    with pg.engine.connect() as c:
        killed = c.execute(text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                "WHERE datname = current_database() AND query LIKE 'LISTEN%'")).scalar_one()
    assert killed == 2
    deadline = time.monotonic() + 10
    while not (b.listener.connections == 2 and b.listener.listening.is_set()):
        assert time.monotonic() < deadline, "the listener did not reconnect"
        time.sleep(0.05)
    [on_b] = _pages([(b.hub, "op1")], lambda: a.relay.publish("op1", {"kind": "x"}, key="after"))
    assert on_b == [{"kind": "x"}]


def test_an_api_instance_on_postgresql_listens_while_it_serves(pg: Database, tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home", database_url=pg.engine.url.render_as_string(hide_password=False),
                        console_follow_ami=False)
    settings.ensure_dirs()
    app = build_api(settings)
    relay: Relay = app.state.console_relay
    assert relay.notify
    other = Relay(PushHub(), pg.session_factory, notify=True)
    with TestClient(app):
        deadline = time.monotonic() + 10
        while relay.relayed == 0:  # the listener may still be connecting: announce until it hears one
            assert time.monotonic() < deadline, "the API instance never received the announcement"
            other.publish(None, {"kind": "callbacks", "ticket_id": 1}, key=f"k{time.monotonic()}")
            time.sleep(0.2)


# -- without PostgreSQL ---------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_key_is_delivered_once_within_the_window(session_factory: sessionmaker[Session]) -> None:
    clock = Clock()
    relay = Relay(PushHub(), session_factory, notify=False, clock=clock)

    async def main() -> list[Message]:
        sub = relay.hub.subscribe("op1")
        assert relay.publish("op1", {"n": 1}, key="k") == 1
        assert relay.publish("op1", {"n": 2}, key="k") == 0  # the same event from a second follower
        clock.now += DEDUP_S
        assert relay.publish("op1", {"n": 3}, key="k") == 1  # later: news again
        assert relay.receive('{"origin": "other", "station": "op1", "key": "k", "message": {"n": 4}}') == 0
        assert relay.receive("not json") == 0 and relay.receive('{"origin": "x"}') == 0
        assert relay.receive(f'{{"origin": "{relay.origin}", "station": "op1", "key": "o", "message": {{}}}}') == 0
        return await _drain(sub, quiet_s=0.2)

    assert asyncio.run(main()) == [{"n": 1}, {"n": 3}]


def test_sqlite_has_no_relay_listener(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home", console_follow_ami=False)
    settings.ensure_dirs()
    migrate.upgrade(settings.db_url)
    app = build_api(settings)
    assert app.state.console_relay.notify is False
    db = open_database(settings.db_url)
    try:
        assert libpq_dsn(db.engine) is None
    finally:
        db.engine.dispose()


def test_a_message_too_large_to_announce_still_reaches_local_pages(pg: Database) -> None:
    relay = Relay(PushHub(), pg.session_factory, notify=True)

    async def main() -> list[Message]:
        sub = relay.hub.subscribe("op1")
        assert relay.publish("op1", {"text": "路" * 4000}, key="big") == 1
        return await _drain(sub, quiet_s=0.2)

    assert len(asyncio.run(main())) == 1  # other instances' pages see it when they reload
