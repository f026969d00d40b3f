"""Why a turn has no text although the caller may have spoken: each one sends the call to a person
with its recording, and each is counted in /metrics under its `kind`."""

from __future__ import annotations


class RecognitionError(Exception):
    kind = "failed"


class RecognitionBusy(RecognitionError):
    """The decode queue would keep the caller waiting past its bound."""

    kind = "busy"


class RecognitionUnavailable(RecognitionError):
    """No recogniser is serving (service not running, no model could load)."""

    kind = "unavailable"


class RecognitionFailed(RecognitionError):
    """The recogniser died or broke the protocol mid-turn."""

    kind = "failed"


def error_of_kind(kind: str, message: str) -> RecognitionError:
    for cls in (RecognitionBusy, RecognitionUnavailable, RecognitionFailed):
        if cls.kind == kind:
            return cls(message)
    return RecognitionFailed(message)
