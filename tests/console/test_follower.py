"""The queue follower on literal AMI event sequences (as Asterisk 16 sends them), and its runner's
reconnects against a fake AMI server on a real socket."""

from __future__ import annotations

import threading
import time

from agi.ami import AmiClient
from agi.queue_feed import FollowerRunner
from console.follower import CallbackPending, CallEnded, Pickup, QueueFollower, channel_variables, station_of
from tests.agi.fakes import AmiSession, FakeAmi

CALLER = "Local/s@citizen-00000001;1"
MEMBER = "Local/op2@sim-answer-00000003;1"


def agent_connect(uniqueid: str = "1700000000.1", *, ticket: str | None = "42",
                  interface: str = "Local/op2@sim-answer/n", ts: str = "1700000100.250000") -> dict[str, str]:
    e = {"Event": "AgentConnect", "Privilege": "agent,all", "Timestamp": ts,
         "Channel": CALLER, "ChannelState": "6", "CallerIDNum": "13800000001", "CallerIDName": "<unknown>",
         "Context": "ivr", "Exten": "operator", "Priority": "3", "Uniqueid": uniqueid, "Linkedid": uniqueid,
         "DestChannel": MEMBER, "DestCallerIDNum": "<unknown>", "DestUniqueid": "1700000000.3",
         "DestLinkedid": uniqueid, "Queue": "operators", "MemberName": interface,
         "Interface": interface, "HoldTime": "4", "RingTime": "1"}
    if ticket is not None:
        e["ChanVariable"] = f"TICKET_ID={ticket}"
        e["DestChanVariable"] = "TICKET_ID="
    return e


class Recorder:
    def __init__(self) -> None:
        self.pickups: list[Pickup] = []
        self.ended: list[CallEnded] = []
        self.callbacks: list[CallbackPending] = []
        self.follower = QueueFollower(on_pickup=self.pickups.append, on_call_ended=self.ended.append,
                                      on_callback_pending=self.callbacks.append)


def test_station_of_operator_channels_and_interfaces() -> None:
    assert station_of("PJSIP/op1") == "op1"
    assert station_of("PJSIP/op12-0000002a") == "op12"
    assert station_of("Local/op3@sim-answer/n") == "op3"
    assert station_of("Local/op3@sim-answer-00000001;1") == "op3"
    assert station_of("PJSIP/trunk-00000001") is None
    assert station_of("Local/s@citizen-00000001;1") is None
    assert station_of("PJSIP/opx") is None


def test_channel_variables_of_repeated_headers() -> None:
    assert channel_variables("TICKET_ID=7\nTICKET_NUMBER=20261122-0001") == {
        "TICKET_ID": "7", "TICKET_NUMBER": "20261122-0001"}
    assert channel_variables("") == {}


def test_agent_connect_with_channel_variable_pops_the_ticket() -> None:
    r = Recorder()
    r.follower.feed({"Event": "QueueCallerJoin", "Channel": CALLER, "Uniqueid": "1700000000.1", "Queue": "operators"})
    r.follower.feed(agent_connect())
    assert r.pickups == [Pickup(station="op2", ticket_id=42, caller_uniqueid="1700000000.1", caller_channel=CALLER,
                                caller_number="13800000001", operator_channel=MEMBER, queue="operators",
                                hold_seconds=4, at=1700000100.25, via="AgentConnect")]


def test_ticket_id_from_the_transfer_user_event_when_no_channel_variable() -> None:
    r = Recorder()
    r.follower.feed({"Event": "UserEvent", "UserEvent": "HotlineTransfer", "Target": "operator",
                     "TicketId": "17", "Reason": "ticket_confirmed", "Uniqueid": "1700000000.1"})
    r.follower.feed(agent_connect(ticket=None, interface="PJSIP/op1"))
    assert [(p.station, p.ticket_id) for p in r.pickups] == [("op1", 17)]


def test_a_caller_without_ticket_still_pops_with_none() -> None:
    r = Recorder()
    r.follower.feed({"Event": "UserEvent", "UserEvent": "HotlineTransfer", "TicketId": "",
                     "Reason": "agi-FAILURE", "Uniqueid": "1700000000.1"})
    r.follower.feed(agent_connect(ticket=""))
    assert [(p.station, p.ticket_id) for p in r.pickups] == [("op2", None)]


def test_bridge_enter_after_agent_connect_does_not_pop_twice() -> None:
    r = Recorder()
    r.follower.feed(agent_connect())
    for uid, chan in (("1700000000.1", CALLER), ("1700000000.3", MEMBER)):
        r.follower.feed({"Event": "BridgeEnter", "BridgeUniqueid": "b1", "Channel": chan, "Uniqueid": uid})
    assert len(r.pickups) == 1


def test_bridge_enter_alone_pops_a_directly_dialled_operator() -> None:
    r = Recorder()
    r.follower.feed({"Event": "BridgeEnter", "BridgeUniqueid": "b9", "Channel": "PJSIP/trunk-00000007",
                     "Uniqueid": "9.1", "CallerIDNum": "13912345678", "ChanVariable": "TICKET_ID=5",
                     "Timestamp": "1700000200.0"})
    assert r.pickups == []
    r.follower.feed({"Event": "BridgeEnter", "BridgeUniqueid": "b9", "Channel": "PJSIP/op4-00000008",
                     "Uniqueid": "9.2", "Timestamp": "1700000200.5"})
    assert [(p.station, p.ticket_id, p.caller_number, p.via) for p in r.pickups] == [
        ("op4", 5, "13912345678", "BridgeEnter")]


def test_two_callers_two_operators_in_any_order() -> None:
    r = Recorder()
    r.follower.feed(agent_connect("u1", ticket="1", interface="PJSIP/op1"))
    r.follower.feed(agent_connect("u2", ticket="2", interface="PJSIP/op2"))
    r.follower.feed(agent_connect("u1", ticket="1", interface="PJSIP/op1"))  # duplicate event
    assert [(p.station, p.ticket_id) for p in r.pickups] == [("op1", 1), ("op2", 2)]


def test_agent_complete_reports_the_end_of_the_call() -> None:
    r = Recorder()
    r.follower.feed(agent_connect())
    r.follower.feed({"Event": "AgentComplete", "Uniqueid": "1700000000.1", "Interface": "Local/op2@sim-answer/n",
                     "DestChannel": MEMBER, "TalkTime": "30", "Reason": "agent", "Timestamp": "1700000130.0"})
    assert r.ended == [CallEnded("op2", "1700000000.1", 42, 1700000130.0)]


def test_callback_pending_user_event_is_reported() -> None:
    r = Recorder()
    r.follower.feed({"Event": "UserEvent", "UserEvent": "HotlineCallbackPending", "TicketId": "9",
                     "Timestamp": "1700000300.0"})
    assert r.callbacks == [CallbackPending(9, 1700000300.0)]


def test_odd_packets_are_ignored_and_the_follower_keeps_going() -> None:
    r = Recorder()
    r.follower.feed({"Event": "AgentConnect", "Interface": "PJSIP/trunk", "Uniqueid": "x"})  # not an operator
    r.follower.feed({"Event": "AgentConnect", "Interface": "PJSIP/op1", "HoldTime": "abc", "Timestamp": "bad"})
    r.follower.feed({"Event": "BridgeEnter"})
    r.follower.feed({"Response": "Success"})
    r.follower.feed(agent_connect())
    assert [p.station for p in r.pickups] == ["op1", "op2"]


def test_a_failing_callback_does_not_stop_the_follower() -> None:
    seen: list[Pickup] = []

    def flaky(p: Pickup) -> None:
        seen.append(p)
        if len(seen) == 1:
            raise RuntimeError("database down")

    f = QueueFollower(on_pickup=flaky)
    f.feed(agent_connect("u1", interface="PJSIP/op1"))
    f.feed(agent_connect("u2", interface="PJSIP/op2"))
    assert [p.station for p in seen] == ["op1", "op2"]


def test_catch_up_pops_calls_bridged_while_disconnected() -> None:
    r = Recorder()
    r.follower.feed(agent_connect("u1", ticket="1", interface="PJSIP/op1"))
    channels = [
        {"Event": "CoreShowChannel", "Channel": "PJSIP/trunk-1", "Uniqueid": "u1", "BridgeId": "b1"},
        {"Event": "CoreShowChannel", "Channel": "PJSIP/op1-1", "Uniqueid": "o1", "BridgeId": "b1"},
        {"Event": "CoreShowChannel", "Channel": "PJSIP/trunk-2", "Uniqueid": "u2", "BridgeId": "b2",
         "CallerIDNum": "13700000000"},
        {"Event": "CoreShowChannel", "Channel": "PJSIP/op3-2", "Uniqueid": "o3", "BridgeId": "b2"},
        {"Event": "CoreShowChannel", "Channel": "PJSIP/trunk-3", "Uniqueid": "u3", "BridgeId": ""},
    ]
    asked: list[str] = []

    def ticket_of(channel: str) -> int:
        asked.append(channel)
        return 77

    r.follower.catch_up(channels, ticket_of)
    assert [(p.station, p.ticket_id, p.via) for p in r.pickups] == [("op1", 1, "AgentConnect"),
                                                                     ("op3", 77, "catch-up")]
    assert asked == ["PJSIP/trunk-2"]


# -- the runner: a real socket, a fake Asterisk ------------------------------------------------------


class AmiScript:
    """CoreShowChannels answers with an empty list; Getvar with nothing."""

    def __call__(self, session: AmiSession, p: dict[str, str]) -> None:
        aid = p["ActionID"]
        if p["Action"] == "CoreShowChannels":
            session.send({"Response": "Success", "ActionID": aid, "EventList": "start"},
                         {"Event": "CoreShowChannelsComplete", "ActionID": aid, "EventList": "Complete",
                          "ListItems": "0"})
        else:
            session.send({"Response": "Error", "ActionID": aid, "Message": "no"})


def _wait(cond: threading.Event | None = None, pred: object = None, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (cond is not None and cond.is_set()) or (callable(pred) and pred()):
            return
        time.sleep(0.02)
    raise AssertionError("timed out")


def test_runner_follows_events_and_reconnects_after_a_drop() -> None:
    fake = FakeAmi(AmiScript())
    r = Recorder()
    runner = FollowerRunner(r.follower, lambda: AmiClient("127.0.0.1", fake.port, "hotline", "good"),
                            backoff_s=(0.05,))
    runner.start()
    try:
        _wait(runner.connected)
        _wait(pred=lambda: len(fake.received("CoreShowChannels")) == 1)
        fake.sessions[-1].send(agent_connect("u1", interface="PJSIP/op1"))
        _wait(pred=lambda: len(r.pickups) == 1)
        fake.drop_all()  # Asterisk restarted
        _wait(pred=lambda: runner.connections == 2 and runner.connected.is_set())
        _wait(pred=lambda: len(fake.received("CoreShowChannels")) == 2)  # caught up after reconnecting
        fake.sessions[-1].send(agent_connect("u1", interface="PJSIP/op1"),  # seen before: no second pop
                               agent_connect("u2", interface="PJSIP/op2"))
        _wait(pred=lambda: len(r.pickups) == 2)
        assert [p.station for p in r.pickups] == ["op1", "op2"]
    finally:
        runner.stop()
        fake.close()
    assert not runner.connected.is_set()


def test_runner_retries_while_asterisk_is_down() -> None:
    fake = FakeAmi(AmiScript())
    port = fake.port
    fake.close()  # nothing listens yet
    r = Recorder()
    runner = FollowerRunner(r.follower, lambda: AmiClient("127.0.0.1", port, "hotline", "good"), backoff_s=(0.05,))
    runner.start()
    try:
        time.sleep(0.3)
        assert not runner.connected.is_set() and runner.connections == 0
    finally:
        runner.stop()
