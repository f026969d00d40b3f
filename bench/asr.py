"""Recognition on real Mandarin (../shared/audio/mandarin-real), in process and through real Asterisk.

    .venv/bin/python bench/asr.py [--clips DIR] [--model DIR] [--no-asterisk]

In process (the engine the stack would serve with: Whisper base unless --model names another):
  cer_16k        CER on the clips as recorded (16 kHz), punctuation removed
  cer_8k         the same clips as a phone line carries them (8 kHz µ-law), through the product's path
  finish_*_ms    the recording is closed → text ready (voice gate, queue, decode), per request clip
  confirm_*_ms   the same for short answers (clips ≤ 2 s, as a 对 / 不对 turn)
  rtf            decode time / audio time;  utt_per_s: utterances per second with all clips queued at once
Through Asterisk (a whole stack with its recognition service; each clip is a caller's request):
  cer_asterisk                the request turn's text against the reference
  speech_end_to_sound_*_ms    last voiced frame in the caller's recording → the bot's next sound
  readback_*_ms               last voiced frame → the read-back's own content starts
Last line: key=value figures.
"""

from __future__ import annotations

import argparse
import csv
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CLIPS = ROOT.parent / "shared" / "audio" / "mandarin-real"
SHORT_S = 2.0


def _use_project_packages() -> None:
    # Run as `python bench/asr.py`, this file's folder comes first on sys.path and would shadow `asr`.
    here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]
    sys.path.insert(0, str(ROOT))


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def read_16k(path: Path) -> Any:
    import numpy as np

    raw = subprocess.run(["sox", "-V1", str(path), "-t", "raw", "-e", "float", "-b", "32", "-c", "1", "-r", "16000",
                          "-"], check=True, capture_output=True).stdout
    return np.frombuffer(raw, dtype=np.float32)


def in_process(engine: Any, rows: list[dict[str, str]], clips: Path, tmp: Path) -> dict[str, float]:
    from asr.audio import pcm_seconds, read_wav_pcm8k, telephone_copy
    from asr.metrics import cer_counts

    e16 = n16 = e8 = n8 = 0
    finish: list[float] = []
    confirm: list[float] = []
    decode_s = audio_s = 0.0
    phone: list[bytes] = []
    for row in rows:
        d16 = engine.model.decode([read_16k(clips / row["file"])])[0]
        e, n = cer_counts(row["transcript"], d16.raw_text)
        e16, n16 = e16 + e, n16 + n
        copy = tmp / row["file"]
        telephone_copy(clips / row["file"], copy)
        pcm = read_wav_pcm8k(copy)
        phone.append(pcm)
        t0 = time.perf_counter()
        d8 = engine.transcribe(pcm)
        took = (time.perf_counter() - t0) * 1000
        seconds = pcm_seconds(pcm)
        (confirm if seconds <= SHORT_S else finish).append(took)
        decode_s += took / 1000
        audio_s += seconds
        e, n = cer_counts(row["transcript"], d8.text)
        e8, n8 = e8 + e, n8 + n
        print(f"{row['file']:52s} {seconds:5.1f} s  {took:6.0f} ms  cer8k {e}/{n}  {d8.rejected or ''} {d8.text}",
              flush=True)
    # Short answers: the first 1.5 s of each clip stands in for a 对 / 不对 turn (its decode cost, not its text).
    for pcm in phone[:8]:
        t0 = time.perf_counter()
        engine.transcribe(pcm[: int(1.5 * 16000)])
        confirm.append((time.perf_counter() - t0) * 1000)
    engine.batcher.max_wait_s = float("inf")  # throughput: everything queued at once, nothing refused
    t0 = time.perf_counter()
    futures = [engine.batcher.submit((pcm, 1.0)) for pcm in phone]
    for f in futures:
        f.result(120)
    utt_per_s = len(phone) / (time.perf_counter() - t0)
    return {"cer_16k": e16 / n16, "cer_8k": e8 / n8, "finish_p50_ms": pct(finish, 0.5),
            "finish_p95_ms": pct(finish, 0.95), "confirm_finish_p50_ms": pct(confirm, 0.5),
            "confirm_finish_p95_ms": pct(confirm, 0.95), "rtf": decode_s / audio_s, "utt_per_s": utt_per_s}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def last_voiced_s(wav: Path) -> float | None:
    """Seconds from the start of a recording to the end of its last voiced 20 ms frame."""
    import webrtcvad

    from asr.audio import FRAME_MS, RATE, SAMPLE_WIDTH, read_wav_pcm8k

    pcm = read_wav_pcm8k(wav)
    vad, step, last = webrtcvad.Vad(2), RATE * FRAME_MS // 1000 * SAMPLE_WIDTH, None
    for i in range(0, len(pcm) - step + 1, step):
        if vad.is_speech(pcm[i:i + step], RATE):
            last = (i + step) / (RATE * SAMPLE_WIDTH)
    return last


def turn_gaps(events: list[dict[str, str]], ack: str, intro: str,
              fixed: set[str]) -> list[tuple[str, float, float | None]]:
    """(recording path, speech end → next sound s, speech end → read-back content s or None) per turn.

    The read-back's content is the first sound after the turn rendered for this call (not a fixed prompt),
    after nothing but the acknowledgement and the read-back's intro."""
    out: list[tuple[str, float, float | None]] = []
    turn: dict[str, Any] | None = None

    def close() -> None:
        if turn is not None and turn["sound"] is not None:
            content = None if turn["content"] is None else turn["content"] - turn["end"]
            out.append((turn["path"], turn["sound"] - turn["end"], content))

    for e in events:
        kind, command = e.get("Event"), e.get("Command", "")
        ts = float(e.get("Timestamp", "0") or 0)
        if kind != "AGIExecStart":
            continue
        if command.upper().startswith("RECORD FILE"):
            close()
            path = command.split()[2].strip('"') + ".wav"
            voiced = last_voiced_s(Path(path))
            turn = None if voiced is None else {"path": path, "end": ts + voiced, "sound": None, "content": None,
                                                "open": True}
        elif command.upper().startswith("STREAM FILE") and turn is not None:
            sound = command.split()[2].strip('"')
            if turn["sound"] is None:
                turn["sound"] = ts
            if turn["open"] and sound not in fixed:
                turn["content"], turn["open"] = ts, False
            elif sound not in (ack, intro):
                turn["open"] = False  # another prompt came first (ask_place, repeat …): no read-back here
    close()
    return out


def through_asterisk(model_dir: Path, rows: list[dict[str, str]], clips: Path) -> dict[str, float]:
    from asr.metrics import cer_counts
    from foundation.settings import Settings
    from hotline.simcall import place_call
    from hotline.stack import Stack
    from prompts.render import PromptStore

    # Each simulated caller plays one step per recording the bot makes: 1 s of silence first (it closes a
    # request the bot holds open after a pause, or is a window before an answer), then 1.5 s of real
    # speech for each answer (a confirmation's decode cost; it is not a yes), then 1 on the keypad.
    short = next(r["file"] for r in rows if r["file"].startswith("aishell2"))
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(home=Path(tmp), api_port=free_port(), agi_port=free_port(), ami_port=free_port(),
                            sip_port=free_port(), simulated_parties=True, queue_timeout_s=10, asr_engine="whisper",
                            whisper_model_path=model_dir)
        stack = Stack(settings)
        stack.start()
        prompts = PromptStore(settings.prompts_dir)
        fixed = set(prompts.render_all().values())
        ack, intro = prompts.path("ack"), prompts.path("readback_intro")
        edits = chars = 0
        gaps: dict[str, list[float]] = {"request": [], "confirm": [], "place": []}
        readback: list[float] = []
        try:
            for row in rows:
                r = place_call(settings, clips / row["file"], caller="13900000000",
                               then=["silence:1", str(clips / short), str(clips / short), "dtmf:1"],
                               until="transfer")
                # All of the request's recordings: a slow start or a pause mid-sentence makes more than one.
                text = "".join(x.transcript for x in r.ticket.recordings if x.purpose == "request") if r.ticket else ""
                e, n = cer_counts(row["transcript"], text)
                edits, chars = edits + e, chars + n
                for path, gap, content in turn_gaps(r.events, ack, intro, fixed):
                    purpose = Path(path).stem.split("-", 1)[1]
                    gaps.setdefault(purpose, []).append(gap * 1000)
                    if purpose == "request" and content is not None:
                        readback.append(content * 1000)
                print(f"asterisk {row['file']:44s} cer {e}/{n}  {r.transfer_reason:28s} {text}", flush=True)
        finally:
            stack.stop()
    return {"cer_asterisk": edits / chars,
            "speech_end_to_sound_p50_ms": pct(gaps["request"], 0.5),
            "speech_end_to_sound_p95_ms": pct(gaps["request"], 0.95),
            "readback_p50_ms": pct(readback, 0.5), "readback_p95_ms": pct(readback, 0.95),
            "confirm_speech_end_to_sound_p50_ms": pct(gaps["confirm"], 0.5),
            "confirm_speech_end_to_sound_p95_ms": pct(gaps["confirm"], 0.95)}


def main(argv: list[str] | None = None) -> int:
    _use_project_packages()
    from asr.whisper import WhisperOptions
    from asr.whisper_engine import WhisperEngine
    from asr.whisper_install import ensure_whisper_base
    from foundation.settings import Settings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=Path, default=CLIPS, help="folder with manifest.csv")
    parser.add_argument("--model", type=Path, default=None, help="a CTranslate2 Whisper dir (default: base)")
    parser.add_argument("--prompt", default="", help="initial prompt (domain biasing) to measure")
    parser.add_argument("--beam", type=int, default=Settings().whisper_beam_size, help="beam size")
    parser.add_argument("--no-asterisk", action="store_true")
    args = parser.parse_args(argv)
    if not (args.clips / "manifest.csv").is_file():
        print(f"no real clips at {args.clips}")
        print("engine=whisper clips=0")
        return 0
    model_dir = args.model or ensure_whisper_base(Settings().whisper_model_dir)
    with open(args.clips / "manifest.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    t0 = time.perf_counter()
    engine = WhisperEngine(WhisperOptions(model_dir=model_dir, initial_prompt=args.prompt, beam_size=args.beam))
    print(f"{engine.status}; loaded in {time.perf_counter() - t0:.1f} s", flush=True)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            figures = in_process(engine, rows, args.clips, Path(tmp))
    finally:
        engine.close()
    if not args.no_asterisk:
        figures |= through_asterisk(model_dir, rows, args.clips)
    line = " ".join(f"{k}={v:.3f}" if k.startswith(("cer", "rtf", "utt")) else f"{k}={v:.0f}"
                    for k, v in figures.items())
    print(f"engine=whisper model={model_dir.name} beam={args.beam} prompt={'yes' if args.prompt else 'no'} {line} "
          f"clips={len(rows)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
