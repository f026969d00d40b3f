"""A recognition service whose decoding never ends (TEST DOUBLE engine), for killing mid-turn.

    python -m tests.asr.stuck_service SOCKET_PATH
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from asr.engine import CallInfo, Recognizer
from asr.service import RecognitionService


class StuckRecognizerDouble:
    def accept(self, pcm: bytes) -> None:
        pass

    def result(self) -> str:
        threading.Event().wait(60)
        return ""


class StuckEngineDouble:
    available = True
    status = "stuck TEST DOUBLE"

    def recognizer(self, *, grammar: Sequence[str] | None, call: CallInfo) -> Recognizer:
        return StuckRecognizerDouble()


if __name__ == "__main__":
    RecognitionService(StuckEngineDouble(), Path(sys.argv[1])).serve_forever()
