"""Asterisk Manager Interface wire format, as pure functions.

A packet is ``Key: value`` lines ending in CRLF, closed by an empty line. Keys may repeat
(``Variable:`` on Originate, ``Output:`` on Command); a repeated key is sent as separate
lines and, when received, joined with newlines into one dict value.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

EOL = "\r\n"

FieldValue = str | int | bool | Sequence[str]


def _field_text(value: str | int | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _check_line(text: str) -> str:
    if "\r" in text or "\n" in text:
        # A line break would let a value inject extra headers (or end the packet early).
        raise ValueError(f"AMI header text may not contain a line break: {text!r}")
    return text


def encode_action(name: str, action_id: str, fields: Mapping[str, FieldValue]) -> bytes:
    """``Action``, ``ActionID``, then each field; a list/tuple value becomes one line per item."""
    lines = [f"Action: {_check_line(name)}", f"ActionID: {_check_line(action_id)}"]
    for key, value in fields.items():
        _check_line(key)
        # str is itself a Sequence[str]: test the scalar types first.
        items: Iterable[str | int | bool] = [value] if isinstance(value, str | int | bool) else value
        lines.extend(f"{key}: {_check_line(_field_text(item))}" for item in items)
    return (EOL.join(lines) + EOL + EOL).encode("utf-8")


def escape_variable(text: str) -> str:
    """Escape one side of a ``Variable: name=value`` pair.

    Asterisk splits each Variable header on commas (AST_STANDARD_APP_ARGS), removing quotes and
    backslashes as it goes; a backslash keeps the next character literal.
    """
    return "".join("\\" + ch if ch in '\\",' else ch for ch in text)


def variable_lines(variables: Mapping[str, object]) -> list[str]:
    """``name=value`` items, one per ``Variable:`` header."""
    return [f"{escape_variable(str(k))}={escape_variable(str(v))}" for k, v in variables.items()]


def parse_packet(lines: Sequence[str]) -> dict[str, str]:
    """Header lines (without CRLF) -> dict. Lines that are not ``Key: value`` (the old
    ``Response: Follows`` command output) are collected under ``Output``."""
    packet: dict[str, str] = {}
    for line in lines:
        key, sep, value = line.partition(":")
        if not sep or not key or " " in key.strip():
            key, value = "Output", line
        else:
            key, value = key.strip(), value.strip()
        packet[key] = f"{packet[key]}\n{value}" if key in packet else value
    return packet


def is_list_complete(event: Mapping[str, str]) -> bool:
    """The event closing an event list (``EventList: Complete``, e.g. ``CoreShowChannelsComplete``)."""
    return event.get("EventList", "").lower() == "complete" or event.get("Event", "").endswith("Complete")
