"""The `hotline` command, run as a person would run it (a subprocess with its own HOTLINE_HOME)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path


def _hotline(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "HOTLINE_HOME": str(home), **env}
    return subprocess.run([sys.executable, "-m", "hotline.cli", *args], capture_output=True, text=True,
                          env=full_env, timeout=120, check=False)


def test_setup_without_network_says_so_and_keeps_working(tmp_path: Path) -> None:
    with socket.socket() as s:  # a port nobody listens on: the download fails at once
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    home = tmp_path / "home"
    # A city's own Whisper directory that is not there: nothing is installed for it, and nothing loads.
    r = _hotline(home, "setup", HOTLINE_VOSK_MODEL_URL=f"http://127.0.0.1:{port}/model.zip",
                 HOTLINE_WHISPER_MODEL_PATH=str(tmp_path / "no-whisper"))
    assert r.returncode == 0, r.stderr
    assert "Vosk model not installed" in r.stdout
    assert "speech recognition: ASR unavailable" in r.stdout and "operator transcription" in r.stdout
    assert (home / "hotline.db").exists()
    assert list((home / "prompts" / "cache").glob("*.wav"))
    assert (home / "asterisk" / "etc" / "extensions.conf").exists()
    assert not (home / "models" / "vosk-model-small-cn-0.22").exists()


def test_rendered_config_has_no_placeholders_and_secrets_stay_out_of_the_repo(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert _hotline(home, "setup", "--skip-model").returncode == 0
    etc = home / "asterisk" / "etc"
    for conf in etc.glob("*.conf"):
        assert "{{" not in conf.read_text(encoding="utf-8"), conf
    secret = (home / "secrets" / "ami_secret").read_text().strip()
    assert secret in (etc / "manager.conf").read_text()
    assert oct((home / "secrets" / "ami_secret").stat().st_mode & 0o777) == "0o600"
    repo = Path(__file__).resolve().parents[2]
    assert secret not in (repo / "asterisk-conf" / "manager.conf").read_text()


def test_bad_call_input_is_a_clear_error(tmp_path: Path) -> None:
    r = _hotline(tmp_path / "home", "call", str(tmp_path / "missing.wav"))
    assert r.returncode == 2
    assert "no such audio file" in r.stderr
    assert "Traceback" not in r.stderr
