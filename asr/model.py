"""Fetch, verify and install the Vosk model (done by `hotline setup`, never during a call)."""

from __future__ import annotations

import hashlib
import http.client
import os
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import BinaryIO

CHUNK = 256 * 1024
DOWNLOAD_TIMEOUT_S = 30

Progress = Callable[[int, int], None]


class ModelUnavailable(Exception):
    """The model cannot be installed here; str() is a one-line reason fit for the user."""


def model_files_present(model_dir: Path) -> bool:
    """A Vosk model directory: acoustic model, its config and a decoding graph (full or lookahead)."""
    graph = model_dir / "graph"
    return (
        (model_dir / "am" / "final.mdl").is_file()
        and (model_dir / "conf" / "model.conf").is_file()
        and ((graph / "HCLG.fst").is_file() or (graph / "HCLr.fst").is_file())
    )


def ensure_model(
    dest_dir: str | Path, url: str, sha256: str, size: int, progress: Progress | None = None
) -> Path:
    """Install the model zip at `url` as `dest_dir` unless a model is already there."""
    dest = Path(dest_dir)
    if model_files_present(dest):
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, part = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".zip.part")
    try:
        with os.fdopen(fd, "wb") as out:
            digest, got = _download(url, out, size, progress)
        if got != size:
            raise ModelUnavailable(f"download from {url} has {got} bytes, expected {size}")
        if digest != sha256.lower():
            raise ModelUnavailable(f"download from {url} failed its SHA-256 check (got {digest})")
        _install(Path(part), dest)
    finally:
        Path(part).unlink(missing_ok=True)
    return dest


def _download(url: str, out: BinaryIO, size: int, progress: Progress | None) -> tuple[str, int]:
    digest, got = hashlib.sha256(), 0
    try:
        with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as resp:
            total = int(resp.headers.get("Content-Length") or size)
            while chunk := resp.read(CHUNK):
                out.write(chunk)
                digest.update(chunk)
                got += len(chunk)
                if progress:
                    progress(got, total)
    except urllib.error.HTTPError as exc:
        raise ModelUnavailable(f"cannot download {url}: HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        raise ModelUnavailable(f"cannot download {url}: {exc.reason}") from None
    except (OSError, http.client.HTTPException) as exc:
        raise ModelUnavailable(f"cannot download {url}: {exc or type(exc).__name__}") from None
    return digest.hexdigest(), got


def _install(archive: Path, dest: Path) -> None:
    """Unzip beside `dest`, then rename into place so no reader ever sees half a model."""
    work = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}.unzip."))
    trash = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}.old."))
    try:
        try:
            with zipfile.ZipFile(archive) as zf:
                for name in zf.namelist():
                    p = PurePosixPath(name)
                    if p.is_absolute() or ".." in p.parts:
                        raise ModelUnavailable(f"model archive has an unsafe path: {name}")
                zf.extractall(work)
        except zipfile.BadZipFile as exc:
            raise ModelUnavailable(f"model archive is not a valid zip: {exc}") from None
        entries = list(work.iterdir())
        root = entries[0] if len(entries) == 1 and entries[0].is_dir() else work
        if not model_files_present(root):
            raise ModelUnavailable("model archive does not contain a Vosk model")
        if dest.exists():  # an earlier, incomplete install: move it aside first
            dest.rename(trash / dest.name)
        try:
            root.rename(dest)
        except OSError:
            if not model_files_present(dest):  # else another process installed it meanwhile
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(trash, ignore_errors=True)
