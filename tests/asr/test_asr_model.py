from __future__ import annotations

import functools
import hashlib
import http.server
import io
import socket
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from asr.model import ModelUnavailable, ensure_model, model_files_present

MODEL_FILES = ("am/final.mdl", "conf/model.conf", "conf/mfcc.conf", "graph/HCLr.fst", "graph/Gr.fst")


def _model_zip(top: str = "vosk-model-small-cn-0.22", files: tuple[str, ...] = MODEL_FILES) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for rel in files:
            zf.writestr(f"{top}/{rel}", f"content of {rel}")
    return buf.getvalue()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A local HTTP server on 127.0.0.1 serving a directory."""
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(QuietHandler, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", root
    httpd.shutdown()
    httpd.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def _leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith("."))


def test_download_verify_and_install(server: tuple[str, Path], tmp_path: Path) -> None:
    url, root = server
    blob = _model_zip()
    (root / "model.zip").write_bytes(blob)
    dest = tmp_path / "models" / "vosk-model-small-cn-0.22"
    seen: list[tuple[int, int]] = []

    def progress(done: int, total: int) -> None:
        seen.append((done, total))

    got = ensure_model(dest, f"{url}/model.zip", hashlib.sha256(blob).hexdigest(), len(blob), progress)
    assert got == dest and model_files_present(dest)
    assert (dest / "am" / "final.mdl").read_text() == "content of am/final.mdl"
    assert seen[-1] == (len(blob), len(blob))
    assert _leftovers(dest.parent) == []
    # Already installed: no download at all (the URL is unreachable).
    assert ensure_model(dest, "http://127.0.0.1:9/none.zip", "0" * 64, 1, progress) == dest


def test_zip_without_top_folder(server: tuple[str, Path], tmp_path: Path) -> None:
    url, root = server
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for rel in MODEL_FILES:
            zf.writestr(rel, "x")
    blob = buf.getvalue()
    (root / "flat.zip").write_bytes(blob)
    dest = tmp_path / "m"
    ensure_model(dest, f"{url}/flat.zip", hashlib.sha256(blob).hexdigest(), len(blob))
    assert model_files_present(dest)


def test_wrong_checksum_installs_nothing(server: tuple[str, Path], tmp_path: Path) -> None:
    url, root = server
    blob = _model_zip()
    (root / "model.zip").write_bytes(blob)
    dest = tmp_path / "models" / "m"
    with pytest.raises(ModelUnavailable, match="SHA-256"):
        ensure_model(dest, f"{url}/model.zip", "ab" * 32, len(blob))
    assert not dest.exists()
    assert _leftovers(dest.parent) == []


def test_wrong_size_installs_nothing(server: tuple[str, Path], tmp_path: Path) -> None:
    url, root = server
    blob = _model_zip()
    (root / "model.zip").write_bytes(blob)
    dest = tmp_path / "m"
    with pytest.raises(ModelUnavailable, match="bytes, expected"):
        ensure_model(dest, f"{url}/model.zip", hashlib.sha256(blob).hexdigest(), len(blob) + 1)
    assert not dest.exists()


def test_archive_without_model(server: tuple[str, Path], tmp_path: Path) -> None:
    url, root = server
    blob = _model_zip(files=("README",))
    (root / "model.zip").write_bytes(blob)
    dest = tmp_path / "m"
    with pytest.raises(ModelUnavailable, match="does not contain"):
        ensure_model(dest, f"{url}/model.zip", hashlib.sha256(blob).hexdigest(), len(blob))
    assert not dest.exists()
    assert _leftovers(tmp_path) == []


def test_not_found_is_one_line(server: tuple[str, Path], tmp_path: Path) -> None:
    url, _ = server
    with pytest.raises(ModelUnavailable) as err:
        ensure_model(tmp_path / "m", f"{url}/missing.zip", "0" * 64, 10)
    assert "404" in str(err.value) and "\n" not in str(err.value)
    assert err.value.__cause__ is None and err.value.__suppress_context__


def test_network_failure_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/model.zip"
    with pytest.raises(ModelUnavailable) as err:
        ensure_model(tmp_path / "m", url, "0" * 64, 10)
    assert str(err.value).startswith(f"cannot download {url}: ")
    assert "\n" not in str(err.value)
    assert not (tmp_path / "m").exists() and _leftovers(tmp_path) == []
