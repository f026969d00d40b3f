"""AmiClient against a fake AMI server on a real socket."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from agi.ami import AmiAuthError, AmiClient, AmiConnectionError, AmiError, AmiTimeout
from agi.ami_codec import FieldValue, encode_action, escape_variable, parse_packet
from tests.agi.fakes import AmiSession, FakeAmi


class Script:
    """The fake server's behaviour for every action other than Login/Logoff."""

    def __init__(self) -> None:
        self.held: list[dict[str, str]] = []

    def __call__(self, session: AmiSession, p: dict[str, str]) -> None:
        aid = p["ActionID"]
        action = p["Action"]
        if action == "Ping":
            session.send({"Event": "Newchannel", "Channel": "PJSIP/a-1", "Uniqueid": "1.1"},
                         {"Response": "Success", "ActionID": aid, "Ping": "Pong"})
        elif action == "Slow":
            self.held.append(p)  # answered only after a Fast one
        elif action == "Fast":
            session.send({"Response": "Success", "ActionID": aid, "Marker": p["Marker"]},
                         {"Event": "VarSet", "Variable": "X", "Value": "1"})
            for held in self.held:
                session.send({"Response": "Success", "ActionID": held["ActionID"], "Marker": held["Marker"]})
            self.held.clear()
        elif action == "CoreShowChannels":
            session.send(
                {"Response": "Success", "ActionID": aid, "EventList": "start",
                 "Message": "Channels will follow"},
                {"Event": "CoreShowChannel", "ActionID": aid, "Channel": "PJSIP/a-1"},
                {"Event": "Hangup", "Channel": "PJSIP/z-9", "Uniqueid": "9.9"},
                {"Event": "CoreShowChannel", "ActionID": aid, "Channel": "PJSIP/b-2"},
                {"Event": "CoreShowChannelsComplete", "ActionID": aid, "EventList": "Complete",
                 "ListItems": "2"},
            )
        elif action == "Originate":
            session.send({"Response": "Success", "ActionID": aid, "Message": "Originate successfully queued"})
            time.sleep(0.05)
            session.send({"Event": "OriginateResponse", "ActionID": aid, "Response": "Success",
                          "Channel": p["Channel"], "Reason": "4", "Uniqueid": p.get("ChannelId", "1.2")})
        elif action == "Command":
            session.send({"Response": "Success", "ActionID": aid, "Output": "line one"})
        elif action == "Drop":
            session.sock.shutdown(2)
        elif action == "Silent":
            pass
        else:
            session.send({"Response": "Error", "ActionID": aid, "Message": "Invalid/unknown command"})


@pytest.fixture
def fake() -> Iterator[FakeAmi]:
    server = FakeAmi(Script())
    yield server
    server.close()


@pytest.fixture
def ami(fake: FakeAmi) -> Iterator[AmiClient]:
    client = AmiClient("127.0.0.1", fake.port, "hotline", "good")
    client.connect(timeout=5)
    yield client
    client.close()


def test_login_sends_credentials_and_reads_banner(ami: AmiClient, fake: FakeAmi) -> None:
    assert ami.banner == "Asterisk Call Manager/5.0.1"
    login = fake.received("Login")[0]
    assert "Username: hotline" in login and "Secret: good" in login and "Events: on" in login


def test_bad_secret(fake: FakeAmi) -> None:
    client = AmiClient("127.0.0.1", fake.port, "hotline", "bad")
    with pytest.raises(AmiAuthError):
        client.connect(timeout=5)
    assert not client.connected
    client.close()  # harmless


def test_not_an_ami_banner() -> None:
    server = FakeAmi(Script(), banner="SSH-2.0-OpenSSH")
    try:
        with pytest.raises(AmiError, match="banner"):
            AmiClient("127.0.0.1", server.port, "u", "good").connect(timeout=5)
    finally:
        server.close()


def test_action_returns_its_response_and_events_go_to_the_queue(ami: AmiClient) -> None:
    resp = ami.action("Ping")
    assert resp["Ping"] == "Pong"
    event = ami.wait_for_event(lambda e: e.get("Event") == "Newchannel", timeout=2)
    assert event["Uniqueid"] == "1.1"


def test_responses_are_matched_by_action_id_not_arrival_order(ami: AmiClient) -> None:
    results: dict[str, dict[str, str]] = {}
    slow = threading.Thread(target=lambda: results.update(slow=ami.action("Slow", Marker="slow")))
    slow.start()
    time.sleep(0.2)
    results["fast"] = ami.action("Fast", Marker="fast")
    slow.join(5)
    assert results["fast"]["Marker"] == "fast"
    assert results["slow"]["Marker"] == "slow"
    assert ami.wait_for_event(lambda e: e.get("Event") == "VarSet", timeout=2)["Value"] == "1"


def test_response_error_raises(ami: AmiClient) -> None:
    with pytest.raises(AmiError, match="Invalid/unknown command") as info:
        ami.action("Bogus")
    assert info.value.packet["Response"] == "Error"


def test_action_list_collects_its_events_only(ami: AmiClient) -> None:
    items = ami.action_list("CoreShowChannels")
    assert [i["Channel"] for i in items] == ["PJSIP/a-1", "PJSIP/b-2"]
    # the unrelated event interleaved in the list still reaches the event queue
    assert ami.wait_for_event(lambda e: e.get("Event") == "Hangup", timeout=2)["Uniqueid"] == "9.9"


def test_originate_sends_variables_as_separate_lines_and_event_is_awaitable(
    ami: AmiClient, fake: FakeAmi
) -> None:
    resp = ami.originate(
        "Local/s@citizen/n", context="ivr", exten="12345", caller_id='"" <13800138000>',
        variables={"SIM_STEPS": "a.wav^dtmf:1", "NOTE": 'x,y "z"'}, channel_id="call-1",
    )
    packet = fake.received("Originate")[0]
    assert "Variable: SIM_STEPS=a.wav^dtmf:1" in packet
    assert 'Variable: NOTE=x\\,y \\"z\\"' in packet
    for line in ("Channel: Local/s@citizen/n", "Context: ivr", "Exten: 12345", "Priority: 1",
                 "Timeout: 30000", "Async: true", "ChannelId: call-1", 'CallerID: "" <13800138000>'):
        assert line in packet
    # the event may arrive before we start waiting: it is queued
    time.sleep(0.2)
    done = ami.wait_for_event(
        lambda e: e.get("Event") == "OriginateResponse" and e.get("ActionID") == resp["ActionID"], timeout=2
    )
    assert (done["Response"], done["Uniqueid"]) == ("Success", "call-1")


def test_originate_application(ami: AmiClient, fake: FakeAmi) -> None:
    ami.originate("Local/1@x", application="Playback", data="hello", async_=True)
    packet = fake.received("Originate")[0]
    assert "Application: Playback" in packet and "Data: hello" in packet
    assert not any(line.startswith("Exten") for line in packet)
    with pytest.raises(ValueError):
        ami.originate("Local/1@x")


def test_subscribers_may_run_actions(ami: AmiClient) -> None:
    got: list[str] = []
    pongs: list[str] = []
    done = threading.Event()

    def on_event(event: dict[str, str]) -> None:
        got.append(event["Event"])
        if event["Event"] == "Newchannel" and not pongs:
            pongs.append(ami.action("Fast", Marker="from-callback")["Marker"])  # no deadlock
            done.set()

    unsubscribe = ami.subscribe(on_event)
    ami.action("Ping")
    assert done.wait(5)
    assert pongs == ["from-callback"]
    unsubscribe()
    got.clear()
    ami.action("Ping")
    time.sleep(0.2)
    assert got == []


def test_wait_for_event_times_out(ami: AmiClient) -> None:
    with pytest.raises(AmiTimeout):
        ami.wait_for_event(lambda e: False, timeout=0.2)


def test_action_timeout(ami: AmiClient) -> None:
    with pytest.raises(AmiTimeout):
        ami.action("Silent", response_timeout=0.2)
    assert ami.action("Ping")["Ping"] == "Pong"  # still usable


def test_dropped_connection_fails_pending_and_reconnect_works(ami: AmiClient, fake: FakeAmi) -> None:
    started = time.monotonic()
    with pytest.raises(AmiConnectionError):
        ami.action("Drop", response_timeout=5)
    assert time.monotonic() - started < 2
    assert not ami.connected
    with pytest.raises(AmiConnectionError):
        ami.action("Ping")
    with pytest.raises(AmiConnectionError):
        ami.wait_for_event(lambda e: True, timeout=1)
    ami.close()
    ami.close()
    ami.connect(timeout=5)
    assert ami.action("Ping")["Ping"] == "Pong"


def test_close_logs_off(fake: FakeAmi) -> None:
    client = AmiClient("127.0.0.1", fake.port, "hotline", "good")
    client.connect(timeout=5)
    client.close()
    assert fake.received("Logoff")
    assert not client.connected


def test_connect_refused() -> None:
    with socket.socket() as unused:  # bound, never listening: connections are refused
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    with pytest.raises(AmiConnectionError):
        AmiClient("127.0.0.1", port).connect(timeout=2)


def test_codec() -> None:
    fields: dict[str, FieldValue] = {"Channel": "Local/1@x", "Variable": ["A=1", "B=2"], "Async": True}
    raw = encode_action("Originate", "id-1", fields)
    assert raw == (
        b"Action: Originate\r\nActionID: id-1\r\nChannel: Local/1@x\r\n"
        b"Variable: A=1\r\nVariable: B=2\r\nAsync: true\r\n\r\n"
    )
    with pytest.raises(ValueError):
        encode_action("Command", "id-2", {"Command": "core show channels\r\nAction: Logoff"})
    assert escape_variable('a,b"c\\d') == 'a\\,b\\"c\\\\d'
    assert parse_packet(["Response: Success", "Output: one", "Output: two", "Message: a: b"]) == {
        "Response": "Success", "Output": "one\ntwo", "Message": "a: b",
    }
