"""`hotline demo`: the whole stack on embedded defaults, one simulated citizen call, its ticket."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from foundation.settings import Settings
from hotline.simcall import place_call
from hotline.stack import Stack
from prompts.render import PromptStore

DEMO_REQUEST = "龙华区金盘路幸福小区门口的路灯坏了好几天了，晚上特别黑，老人出门很不安全。"
DEMO_YES = "对。"
# Real speech for the recogniser to hear: the project's evaluation clips, read in place beside the repository
# (never copied into it). Synthesised speech is fine for the bot's prompts, but Whisper hears it as nothing.
SHARED_SPEECH = Path(__file__).resolve().parents[2] / "shared" / "audio" / "mandarin-real" / "paddlespeech_zh.wav"


def demo_speech(speech: Path | None) -> Path | None:
    """The recording the simulated citizen speaks: the one given, else the shared real clip, else None."""
    if speech is not None:
        if not speech.is_file():
            raise FileNotFoundError(f"demo speech {speech} not found")
        return speech
    return SHARED_SPEECH if SHARED_SPEECH.is_file() else None


def run_demo(settings: Settings, *, keep_running: bool, speech: Path | None = None) -> int:
    recording = demo_speech(speech)
    stack = Stack(settings)
    print("starting the stack (Asterisk, recognition service, FastAGI, API) ...", flush=True)
    stack.start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            if recording is not None:
                # A real recording, then no place (2 s of silence if asked), then 1 on the keypad for 对.
                print(f"simulated citizen calls 12345 and plays a real recording: {recording}", flush=True)
                result = place_call(settings, recording, caller="13800138000", then=["silence:2", "dtmf:1"])
            else:
                voice = PromptStore(Path(tmp))  # the same offline TTS speaks the citizen's part
                request = Path(voice.text_path(DEMO_REQUEST) + ".wav")
                yes = Path(voice.text_path(DEMO_YES) + ".wav")
                print(f"simulated citizen calls 12345 and says (synthesised): {DEMO_REQUEST}\n"
                      "No real recording was given (make demo SPEECH=your.wav): a recogniser cannot understand "
                      "synthesised speech, so expect the ticket to be marked for operator transcription.", flush=True)
                result = place_call(settings, request, caller="13800138000", then=[str(yes)])
        print(json.dumps(result.as_json(), ensure_ascii=False, indent=2))
        if result.ticket and not result.ticket.needs_transcription and result.ticket.transcript:
            print(f"\nThe recogniser heard: {result.ticket.transcript}")
        elif result.ticket and result.ticket.needs_transcription:
            print("The ticket carries the recording and is marked for operator transcription "
                  f"({result.transfer_reason}). 'hotline setup' installs the speech model.")
        password_file = settings.secrets_dir / "admin_password"
        print(f"\nOperator console: {stack.api_url}/console   (log in as 'admin', password in {password_file};"
              " add operators with 'hotline user add NAME --role operator')")
        print(f"Tickets: {stack.api_url}/api/tickets   Reports: {stack.api_url}/reports/dashboard   "
              f"OpenAPI: {stack.api_url}/docs")
        if keep_running:
            print("The stack keeps running; Ctrl-C stops it.", flush=True)
            return stack.wait()
        return 0
    finally:
        stack.stop()
