"""Secrets generated once per installation and kept under HOTLINE_HOME/secrets (mode 0600)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def get_or_create(secrets_dir: Path, name: str) -> str:
    """Return the secret called `name`, generating it on first use."""
    secrets_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = secrets_dir / name
    if path.exists():
        return path.read_text().strip()
    value = secrets.token_urlsafe(24)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(value)
    try:
        os.link(tmp, path)  # first writer wins when several processes start at once
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
    return path.read_text().strip()
