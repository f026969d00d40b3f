"""Vosk on real Mandarin clips heard through a phone line (8 kHz µ-law): CER and real-time factor.

    .venv/bin/python bench/asr.py [--model DIR] [--clips DIR]

Prints one line per clip, then `cer=0.XXX rtf=0.XXX clips=N` (character error rate over all clips,
punctuation removed; decode time / audio time). Without the model: `model=missing clips=0`, exit 0.
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLIPS = ROOT.parent / "shared" / "audio" / "mandarin-real"
CHUNK = 4000  # 0.25 s of 8 kHz 16-bit audio per accept(), like a streaming call


def _use_project_packages() -> None:
    # Run as `python bench/asr.py`, this file's folder comes first on sys.path and would shadow `asr`.
    here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]
    sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    _use_project_packages()
    from asr.audio import pcm_seconds, read_wav_pcm8k, telephone_copy
    from asr.engine import CallInfo, VoskEngine
    from asr.metrics import cer_counts
    from asr.model import model_files_present
    from hotline.settings import Settings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=None, help="Vosk model dir (default: from settings)")
    parser.add_argument("--clips", type=Path, default=CLIPS, help="folder with manifest.csv")
    args = parser.parse_args(argv)
    model_dir = args.model or Settings().vosk_model_dir

    if not model_files_present(model_dir):
        print(f"Vosk model not found at {model_dir}; run 'hotline setup' where the network allows.")
        print("model=missing clips=0")
        return 0

    t0 = time.perf_counter()
    engine = VoskEngine(model_dir)
    print(f"model {model_dir} loaded in {time.perf_counter() - t0:.1f} s")
    call = CallInfo(call_id="bench", caller="bench", turn=1, purpose="request")

    edits = ref_chars = 0
    decode_s = audio_s = 0.0
    with open(args.clips / "manifest.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    with tempfile.TemporaryDirectory() as tmp:
        for row in rows:
            phone = Path(tmp) / row["file"]
            telephone_copy(args.clips / row["file"], phone)
            pcm = read_wav_pcm8k(phone)
            t0 = time.perf_counter()
            rec = engine.recognizer(grammar=None, call=call)
            for i in range(0, len(pcm), CHUNK):
                rec.accept(pcm[i : i + CHUNK])
            hyp = rec.result()
            spent, seconds = time.perf_counter() - t0, pcm_seconds(pcm)
            e, n = cer_counts(row["transcript"], hyp)
            edits, ref_chars = edits + e, ref_chars + n
            decode_s, audio_s = decode_s + spent, audio_s + seconds
            ref = row["transcript"]
            print(f"{row['file']}: cer={e / n:.3f} rtf={spent / seconds:.3f} ref={ref} hyp={hyp}")

    print(f"cer={edits / ref_chars:.3f} rtf={decode_s / audio_s:.3f} clips={len(rows)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
