"""`hotline demo`: the whole stack on embedded defaults, one simulated citizen call, its ticket."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hotline.settings import Settings
from hotline.simcall import place_call
from hotline.stack import Stack
from prompts.render import PromptStore

DEMO_REQUEST = "龙华区金盘路幸福小区门口的路灯坏了好几天了，晚上特别黑，老人出门很不安全。"
DEMO_YES = "对。"


def run_demo(settings: Settings, *, keep_running: bool) -> int:
    stack = Stack(settings)
    print("starting the stack (Asterisk, FastAGI, API) ...", flush=True)
    stack.start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            voice = PromptStore(Path(tmp))  # the same offline TTS speaks the citizen's part
            request = Path(voice.text_path(DEMO_REQUEST) + ".wav")
            yes = Path(voice.text_path(DEMO_YES) + ".wav")
            print(f"simulated citizen calls 12345 and says: {DEMO_REQUEST}", flush=True)
            result = place_call(settings, request, caller="13800138000", then=[str(yes)])
        print(json.dumps(result.as_json(), ensure_ascii=False, indent=2))
        if result.ticket and result.ticket.needs_transcription:
            print("No Vosk model here, so the ticket carries the recording and is marked for operator "
                  "transcription. Run 'hotline setup' where the network allows to install the model.")
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
