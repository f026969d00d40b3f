"""Typed AGI errors.

Each one also derives from the matching pyst2 exception, so code written against pyst2
(``except AGIHangup``) keeps working on top of :class:`agi.channel.HotlineAGI`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from asterisk.agi import AGIAppError, AGIHangup, AGIInvalidCommand, AGIUnknownError, AGIUsageError

if TYPE_CHECKING:
    from agi.replies import AgiReply


class AgiError(Exception):
    """Base of every error raised by the ``agi`` package."""


class AgiHangup(AgiError, AGIHangup):
    """The channel is gone: a bare ``HANGUP`` line, EOF on the socket, or a ``511`` reply."""


class AgiInvalidCommand(AgiError, AGIInvalidCommand):
    """``510 Invalid or unknown command``."""


class AgiUsageError(AgiError, AGIUsageError):
    """``520``: Asterisk rejected the syntax; ``usage`` holds the usage text it sent back."""

    def __init__(self, usage: str) -> None:
        super().__init__(usage)
        self.usage = usage


class AgiUnexpectedReply(AgiError, AGIUnknownError):
    """A reply line that is not part of the AGI protocol as we know it."""


class AgiBadRequest(AgiError):
    """The FastAGI request header is malformed or over the limits (agi.request): the connection is refused."""


class AgiCommandFailed(AgiError, AGIAppError):
    """``200 result=-1`` from a pyst2-style command method (pyst2 raised AGIAppError here)."""

    def __init__(self, message: str, reply: AgiReply | None = None) -> None:
        super().__init__(message)
        self.reply = reply
