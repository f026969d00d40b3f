"""Text drawn on the pages of a PDF written by reportlab (Flate streams, literal strings; CID fonts
as UTF-16BE): enough to read back a slip without poppler."""

from __future__ import annotations

import base64
import re
import zlib

_STREAM = re.compile(rb"\bstream\r?\n(.*?)\r?\n?endstream", re.S)
_ESCAPES = {ord("n"): b"\n", ord("r"): b"\r", ord("t"): b"\t", ord("b"): b"\b", ord("f"): b"\f",
            ord("("): b"(", ord(")"): b")", ord("\\"): b"\\"}


def _literals(content: bytes) -> list[bytes]:
    """The (...) strings shown with Tj/TJ, unescaped."""
    out, i = [], 0
    while (start := content.find(b"(", i)) != -1:
        buf, depth, j = bytearray(), 1, start + 1
        while depth:
            c = content[j]
            if c == 0x5C:  # backslash
                nxt = content[j + 1]
                if 0x30 <= nxt <= 0x37:
                    digits = re.match(rb"[0-7]{1,3}", content[j + 1:j + 4])
                    assert digits is not None
                    buf.append(int(digits.group(0), 8) & 0xFF)
                    j += 1 + len(digits.group(0))
                    continue
                buf += _ESCAPES.get(nxt, bytes([nxt]))
                j += 2
                continue
            if c == 0x28:
                depth += 1
            elif c == 0x29:
                depth -= 1
                if not depth:
                    break
            buf.append(c)
            j += 1
        out.append(bytes(buf))
        i = j + 1
    return out


def _decode(raw: bytes) -> bytes:
    """reportlab writes [/ASCII85Decode /FlateDecode] streams; undo both when they apply."""
    data = raw.strip()
    if data.endswith(b"~>"):
        data = base64.a85decode(data.removeprefix(b"<~").removesuffix(b"~>"), ignorechars=b" \t\r\n")
    try:
        return zlib.decompress(data)
    except zlib.error:
        return data


def page_text(pdf: bytes, *, encoding: str = "utf-16-be") -> str:
    """Every shown string of every content stream, decoded, in drawing order."""
    parts = []
    for raw in _STREAM.findall(pdf):
        content = _decode(raw)
        if b"Tj" not in content and b"TJ" not in content:
            continue
        for lit in _literals(content):
            text = lit.decode(encoding, errors="ignore") if len(lit) % 2 == 0 else ""
            parts.append(text)
    return "".join(parts)
