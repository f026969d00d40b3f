"""Fake Asterisk ends for tests: a FastAGI caller and an AMI server, both on real TCP sockets."""

from __future__ import annotations

import io
import socket
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from agi.channel import HotlineAGI

CALLER = "13812345678"


def agi_env(path: str, port: int = 4573, **extra: str) -> dict[str, str]:
    """The header res_agi sends for ``AGI(agi://127.0.0.1:PORT/path)`` (Asterisk 16 field set)."""
    env = {
        "agi_network": "yes",
        "agi_network_script": path.lstrip("/"),
        "agi_request": f"agi://127.0.0.1:{port}{path}",
        "agi_channel": "PJSIP/trunk-00000001",
        "agi_language": "zh",
        "agi_type": "PJSIP",
        "agi_uniqueid": "1700000000.1",
        "agi_version": "16.28.0",
        "agi_callerid": CALLER,
        "agi_calleridname": "unknown",
        "agi_callingpres": "0",
        "agi_dnid": "12345",
        "agi_rdnis": "unknown",
        "agi_context": "ivr",
        "agi_extension": "12345",
        "agi_priority": "2",
        "agi_enhanced": "0.0",
        "agi_accountcode": "",
        "agi_threadid": "140000000000000",
    }
    env.update(extra)
    return env


def env_text(env: dict[str, str]) -> str:
    return "".join(f"{k}: {v}\n" for k, v in env.items()) + "\n"


def memory_agi(replies: Sequence[str], env: dict[str, str] | None = None, **kw: object) -> HotlineAGI:
    """A HotlineAGI reading ``env`` then ``replies`` from memory; commands land in ``agi.stdout``."""
    text = env_text(env if env is not None else agi_env("/intake"))
    text += "".join(r if r.endswith("\n") else r + "\n" for r in replies)
    return HotlineAGI(io.StringIO(text), io.StringIO(), **kw)  # type: ignore[arg-type]


def sent(agi: HotlineAGI) -> list[str]:
    """The command lines a memory_agi wrote."""
    out = agi.stdout
    assert isinstance(out, io.StringIO)
    return out.getvalue().splitlines()


# -- FastAGI caller -------------------------------------------------------------------------------

Reply = str | Callable[[str], str | None] | None


@dataclass
class CallLog:
    commands: list[str] = field(default_factory=list)
    closed_by_server: bool = False


def fake_call(
    port: int,
    path: str,
    replies: Sequence[Reply],
    *,
    env: dict[str, str] | None = None,
    timeout: float = 10.0,
) -> CallLog:
    """Play Asterisk for one FastAGI call: send the header, then answer each command line with the
    next scripted reply. A reply may be a function of the command; ``None``, or running out of
    replies, closes the socket. A ``FAILURE`` line is recorded, then reading goes on to EOF."""
    log = CallLog()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        rfile = sock.makefile("r", encoding="utf-8", newline="\n")
        sock.sendall(env_text(env or agi_env(path, port)).encode())
        script = list(replies)
        while True:
            line = rfile.readline()
            if line == "":
                log.closed_by_server = True
                return log
            command = line.rstrip("\n")
            log.commands.append(command)
            if command.upper().startswith("FAILURE"):
                continue
            if not script:
                return log  # out of script: the caller goes away, the handler sees EOF
            reply = script.pop(0)
            if callable(reply):
                reply = reply(command)
            if reply is None:
                return log
            sock.sendall((reply + "\n").encode())


# -- AMI server -----------------------------------------------------------------------------------

AmiScript = Callable[["AmiSession", dict[str, str]], None]


class AmiSession:
    """One client connection on the fake AMI server."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.rfile = sock.makefile("rb")
        self.lock = threading.Lock()

    def send(self, *packets: dict[str, str]) -> None:
        with self.lock:
            for packet in packets:
                text = "".join(f"{k}: {v}\r\n" for k, v in packet.items()) + "\r\n"
                self.sock.sendall(text.encode())

    def read_packet(self) -> list[str] | None:
        lines: list[str] = []
        for raw in self.rfile:
            line = raw.decode().rstrip("\r\n")
            if line:
                lines.append(line)
            elif lines:
                return lines
        return None


class FakeAmi:
    """Accepts connections, sends the banner, answers Login (secret 'good'), hands every other
    action to ``script``. Records each received packet as raw lines (duplicates kept)."""

    def __init__(self, script: AmiScript, banner: str = "Asterisk Call Manager/5.0.1") -> None:
        self.script = script
        self.banner = banner
        self.packets: list[list[str]] = []
        self.sessions: list[AmiSession] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)
        self._thread.start()

    def _accept_loop(self) -> None:
        while True:
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            session = AmiSession(sock)
            self.sessions.append(session)
            threading.Thread(target=self._serve, args=(session,), daemon=True).start()

    def _serve(self, session: AmiSession) -> None:
        try:
            session.sock.sendall(f"{self.banner}\r\n".encode())
            while (lines := session.read_packet()) is not None:
                self.packets.append(lines)
                packet = dict(line.split(": ", 1) for line in lines)
                if packet["Action"] == "Login":
                    ok = packet.get("Secret") == "good"
                    session.send({
                        "Response": "Success" if ok else "Error",
                        "ActionID": packet["ActionID"],
                        "Message": "Authentication accepted" if ok else "Authentication failed",
                    })
                elif packet["Action"] == "Logoff":
                    session.send({"Response": "Goodbye", "ActionID": packet["ActionID"],
                                  "Message": "Thanks for all the fish."})
                    break
                else:
                    self.script(session, packet)
        except OSError:
            pass
        finally:
            session.sock.close()

    def drop_all(self) -> None:
        for session in self.sessions:
            try:
                session.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self) -> None:
        try:
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        except OSError:
            pass
        self.listener.close()
        self.drop_all()

    def received(self, action: str) -> list[list[str]]:
        return [p for p in self.packets if f"Action: {action}" in p]
