"""Render the project's asterisk-conf/ into a private directory and run Asterisk on it."""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
import time
import wave
from collections.abc import Mapping
from pathlib import Path

from foundation import secrets
from foundation.asterisk_layout import AsteriskLayout
from foundation.settings import Settings

log = logging.getLogger(__name__)

CONF_SOURCE = Path(__file__).resolve().parents[1] / "asterisk-conf"
MODULES_DIR = Path("/usr/lib/asterisk/modules")
DATA_DIR = Path("/usr/share/asterisk")
PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")
PJSIP_MODULES = (
    "res_pjproject.so", "res_sorcery_config.so", "res_sorcery_memory.so", "res_sorcery_astdb.so",
    "res_pjsip.so", "res_pjsip_session.so", "res_pjsip_authenticator_digest.so",
    "res_pjsip_endpoint_identifier_ip.so", "res_pjsip_endpoint_identifier_user.so",
    "res_pjsip_pubsub.so", "res_pjsip_registrar.so", "res_pjsip_sdp_rtp.so", "res_rtp_asterisk.so",
    "res_pjsip_caller_id.so",
    "res_pjsip_dtmf_info.so", "res_pjsip_nat.so", "res_pjsip_outbound_authenticator_digest.so",
    "chan_pjsip.so",
)
SIM_SILENCE_SECONDS = 90


class ConfigError(RuntimeError):
    """A template could not be rendered (a placeholder without a value)."""


def render_template(text: str, values: Mapping[str, str], *, name: str = "template") -> str:
    missing = sorted({m for m in PLACEHOLDER.findall(text) if m not in values})
    if missing:
        raise ConfigError(f"{name}: no value for {', '.join(missing)}")
    return PLACEHOLDER.sub(lambda m: values[m.group(1)], text)


def config_values(settings: Settings, layout: AsteriskLayout, *, ami_secret: str) -> dict[str, str]:
    ops = [f"op{i}" for i in range(1, settings.operator_count + 1)]
    if settings.simulated_parties:
        members = [f"member => Local/{op}@sim-answer/n" for op in ops]
        dial = {n: f"Local/{n}@sim-answer/n" for n in ("110", "119", "120")}
    else:
        members = [f"member => PJSIP/{op}" for op in ops]
        dial = {
            "110": f"PJSIP/{settings.emergency_police}@trunk",
            "119": f"PJSIP/{settings.emergency_fire}@trunk",
            "120": f"PJSIP/{settings.emergency_medical}@trunk",
        }
    endpoints = []
    for op in ops:
        secret = secrets.get_or_create(settings.secrets_dir, f"sip_{op}")
        endpoints.append(
            f"[{op}](operator-template)\nauth = {op}\naors = {op}\n\n"
            f"[{op}](operator-auth)\nusername = {op}\npassword = {secret}\n\n[{op}](operator-aor)\n"
        )
    return {
        "etc_dir": str(layout.etc),
        "modules_dir": str(MODULES_DIR),
        "var_dir": str(layout.var),
        "data_dir": str(DATA_DIR),
        "spool_dir": str(layout.spool),
        "run_dir": str(layout.run),
        "log_dir": str(layout.log),
        "ami_port": str(settings.ami_port),
        "ami_bind": settings.ami_host,
        "ami_user": settings.ami_user,
        "ami_secret": ami_secret,
        "agi_host": settings.agi_host,
        "agi_port": str(settings.agi_port),
        "queue_name": settings.operator_queue,
        "queue_timeout": str(settings.queue_timeout_s),
        "queue_member_lines": "\n".join(members),
        "operator_members": ", ".join(ops),
        "dial_110": dial["110"],
        "dial_119": dial["119"],
        "dial_120": dial["120"],
        "prompts_dir": str(settings.prompts_dir),
        "moh_dir": str(layout.var / "moh"),
        "sip_bind": "127.0.0.1" if settings.simulated_parties else "0.0.0.0",
        "sip_port": str(settings.sip_port),
        "trunk_host": "127.0.0.1",
        "operator_endpoints": "\n".join(endpoints),
        "pjsip_modules": "\n".join(f"load = {m}" for m in PJSIP_MODULES),
    }


def ami_secret_for(settings: Settings) -> str:
    return settings.ami_secret or secrets.get_or_create(settings.secrets_dir, "ami_secret")


def render_config(settings: Settings, root: Path | None = None) -> AsteriskLayout:
    """Write asterisk-conf/ with this installation's values into root (default: home/asterisk)."""
    layout = AsteriskLayout(root or settings.asterisk_dir)
    for d in (layout.etc, layout.var / "agi-bin", layout.var / "moh", layout.var / "sim", layout.run,
              layout.log, layout.log / "cdr-csv", layout.spool):
        d.mkdir(parents=True, exist_ok=True)
    values = config_values(settings, layout, ami_secret=ami_secret_for(settings))
    for src in sorted(CONF_SOURCE.glob("*.conf")):
        out = render_template(src.read_text(encoding="utf-8"), values, name=src.name)
        (layout.etc / src.name).write_text(out, encoding="utf-8")
    _write_silence(layout.sim_silence.with_suffix(".wav"), SIM_SILENCE_SECONDS)
    return layout


def _write_silence(path: Path, seconds: float) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x00\x00" * int(8000 * seconds))


class AsteriskError(RuntimeError):
    pass


class AsteriskProcess:
    """One Asterisk in the foreground (-f) on a rendered layout; stopped cleanly on exit."""

    def __init__(self, layout: AsteriskLayout, binary: str = "asterisk") -> None:
        self.layout = layout
        self.binary = shutil.which(binary) or binary
        self._proc: subprocess.Popen[bytes] | None = None

    def cli(self, command: str, timeout: float = 10) -> str:
        """Run one CLI command on this Asterisk (remote console, -rx)."""
        res = subprocess.run(
            [self.binary, "-C", str(self.layout.conf_file), "-rx", command],
            capture_output=True, timeout=timeout, check=False,
        )
        if res.returncode != 0:
            raise AsteriskError(f"asterisk -rx {command!r}: {res.stderr.decode(errors='replace').strip()}")
        return res.stdout.decode(errors="replace")

    def start(self, timeout: float = 30) -> None:
        out = (self.layout.log / "console.log").open("ab")
        self._proc = subprocess.Popen(
            [self.binary, "-C", str(self.layout.conf_file), "-f"],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise AsteriskError(f"asterisk exited with {self._proc.returncode}; see {self.layout.log}")
            try:
                self.cli("core waitfullybooted", timeout=5)
                return
            except (AsteriskError, subprocess.TimeoutExpired):
                time.sleep(0.2)
        self.stop()
        raise AsteriskError(f"asterisk did not boot within {timeout:.0f} s; see {self.layout.log}")

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def stop(self, timeout: float = 15) -> None:
        if self._proc is None:
            return
        if self._proc.poll() is None:
            try:
                self.cli("core stop now", timeout=5)
            except (AsteriskError, subprocess.TimeoutExpired):
                self._proc.terminate()
            try:
                self._proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc = None
