"""All configuration in one place, read once per process from the environment (prefix HOTLINE_)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

VOSK_MODEL_NAME = "vosk-model-small-cn-0.22"
VOSK_MODEL_URL = f"https://alphacephei.com/vosk/models/{VOSK_MODEL_NAME}.zip"
VOSK_MODEL_SHA256 = "3af8b0e7e0f835ae9d414ce5df580237a3cfb08d586c9fbbb0f7ff29ad5b14ba"
VOSK_MODEL_SIZE = 43_898_754


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

    # ASR: "vosk" or "module:factory" (another engine behind the same protocol).
    asr_engine: str = "vosk"
    asr_engine_options: str = ""
    vosk_model_path: Path | None = None  # default: home/models/vosk-model-small-cn-0.22
    vosk_model_url: str = VOSK_MODEL_URL  # a mirror may serve the same file; the SHA-256 is checked

    # Turn taking. RECORD FILE's silence argument is whole seconds.
    request_silence_s: int = 2
    request_max_s: int = 60
    answer_silence_s: int = 2  # callers pause before answering; the pause counts as silence
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

    log_level: str = "INFO"

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'hotline.db'}"

    @property
    def recordings_dir(self) -> Path:
        return self.home / "spool" / "recordings"

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
    def router_model_file(self) -> Path:
        return self.router_model_path or self.models_dir / "router.joblib"

    def ensure_dirs(self) -> None:
        for d in (self.home, self.recordings_dir, self.prompts_dir, self.models_dir, self.logs_dir):
            d.mkdir(parents=True, exist_ok=True)
