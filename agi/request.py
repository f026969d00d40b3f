"""AgiRequest: what a FastAGI connection asks for, read from the ``agi_*`` environment header."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

from agi.errors import AgiBadRequest

# Limits on the header a FastAGI peer sends before anything else. Asterisk sends about 20 lines plus
# one per AGI argument (res_agi allows at most 128), each well under a kilobyte; anything beyond
# these is not Asterisk, and must not cost a call process unbounded memory or time.
MAX_HEADER_LINES = 256
MAX_HEADER_LINE_CHARS = 16 * 1024
HEADER_TIMEOUT_S = 10.0  # Asterisk writes the whole header at once, right after connecting


@dataclass(frozen=True)
class AgiRequest:
    """The routing facts of one call. ``path`` is normalised: ``/intake`` for ``agi://h:4573/intake/``."""

    path: str
    query: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    args: tuple[str, ...] = ()
    channel: str = ""
    uniqueid: str = ""
    callerid: str = ""
    calleridname: str = ""
    dnid: str = ""
    extension: str = ""
    context: str = ""

    @classmethod
    def from_env(cls, env: dict[str, str]) -> AgiRequest:
        """Raises AgiBadRequest when ``agi_request`` looks like a URL but cannot be parsed as one."""
        path, query = _script_of(env)
        # AGI(agi://host/intake,a,b) arrives as agi_arg_1, agi_arg_2, ...
        args: list[str] = []
        while f"agi_arg_{len(args) + 1}" in env:
            args.append(env[f"agi_arg_{len(args) + 1}"])
        return cls(
            path=path,
            query=query,
            env=dict(env),
            args=tuple(args),
            channel=env.get("agi_channel", ""),
            uniqueid=env.get("agi_uniqueid", ""),
            callerid=_known(env.get("agi_callerid", "")),
            calleridname=_known(env.get("agi_calleridname", "")),
            dnid=_known(env.get("agi_dnid", "")),
            extension=env.get("agi_extension", ""),
            context=env.get("agi_context", ""),
        )


def _known(value: str) -> str:
    # Asterisk writes the literal word "unknown" for absent caller id / dnid.
    return "" if value == "unknown" else value


def _script_of(env: dict[str, str]) -> tuple[str, dict[str, str]]:
    """Path and query of the script: from ``agi_request`` (``agi://host:4573/intake?x=1``) when it is
    a URL, else from ``agi_network_script`` (``intake?x=1``, Asterisk drops the leading slash)."""
    request = env.get("agi_request", "")
    if "://" in request:
        try:
            parts = urlsplit(request)
        except ValueError as exc:  # e.g. an unbalanced '[' in the host part
            raise AgiBadRequest(f"agi_request is not a URL: {exc}") from exc
        raw_path, raw_query = parts.path, parts.query
    else:
        script = env.get("agi_network_script", request)
        raw_path, _, raw_query = script.partition("?")
    path = "/" + raw_path.strip("/")
    return path, dict(parse_qsl(raw_query, keep_blank_values=True))
