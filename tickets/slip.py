"""The dispatch slip (交办单): a PDF per ticket for the department, caller details masked, carrying a
verification code (a truncated HMAC-SHA256 over the slip's printed fields, keyed by an installation
secret) so that a forged slip or one with altered fields is caught by POST /api/slips/verify."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from sqlalchemy import select
from sqlalchemy.orm import Session

from foundation import secrets
from foundation.errors import InvalidInput
from foundation.masking import mask_name, mask_phone
from tickets.models import Ticket

CHINA = ZoneInfo("Asia/Shanghai")
FONT = "STSong-Light"  # Adobe's built-in CID font: every PDF reader has it, no font file is embedded
KEY_NAME = "slip-hmac-key"
VERSION = "v1"
CODE_BYTES = 10  # 80 bits: 16 base32 characters, short enough to read out over the phone

# The printed fields, in print order: (key, label). The code covers exactly these.
FIELDS: tuple[tuple[str, str], ...] = (
    ("number", "工单编号"),
    ("accepted_at", "受理时间"),
    ("dispatched_at", "派单时间"),
    ("sign_by", "签收时限"),
    ("resolve_by", "办结时限"),
    ("channel", "受理渠道"),
    ("type", "诉求类型"),
    ("category", "问题分类"),
    ("department", "承办单位"),
    ("place", "事发地点"),
    ("summary", "诉求摘要"),
    ("caller", "诉求人"),
    ("caller_number", "联系电话"),
)
FIELD_KEYS = tuple(k for k, _ in FIELDS)
_CHANNELS = {"phone": "电话", "open311": "Open311", "web": "网站", "mailbox": "市长信箱", "wechat": "微信"}
_CODE_CHARS = re.compile(r"[^A-Z2-7]")


class SlipFieldsInvalid(InvalidInput):
    error_id = "slip.fields_invalid"


def slip_key(secrets_dir: Path) -> bytes:
    return secrets.get_or_create(secrets_dir, KEY_NAME).encode()


def _local(value: datetime | None) -> str:
    return value.astimezone(CHINA).strftime("%Y-%m-%d %H:%M") if value is not None else ""


def slip_fields(ticket: Ticket) -> dict[str, str]:
    """What the slip prints, as text; personal data already masked."""
    return {
        "number": ticket.number,
        "accepted_at": _local(ticket.created_at),
        "dispatched_at": _local(ticket.dispatched_at),
        "sign_by": _local(ticket.sign_by),
        "resolve_by": _local(ticket.resolve_by),
        "channel": _CHANNELS.get(ticket.channel, ticket.channel),
        "type": ticket.type,
        "category": ticket.category,
        "department": ticket.department_name,
        "place": ticket.place,
        "summary": ticket.summary,
        "caller": mask_name(ticket.caller_name) if ticket.caller_name else "",
        "caller_number": mask_phone(ticket.caller_number) if ticket.caller_number else "",
    }


def verification_code(key: bytes, fields: Mapping[str, str]) -> str:
    """XXXX-XXXX-XXXX-XXXX over the canonical form of the fields (sorted keys, exact text)."""
    canonical = json.dumps({k: fields[k] for k in FIELD_KEYS}, ensure_ascii=False, sort_keys=True,
                           separators=(",", ":"))
    digest = hmac.new(key, f"hotline-slip-{VERSION}\n{canonical}".encode(), hashlib.sha256).digest()
    text = base64.b32encode(digest[:CODE_BYTES]).decode()
    return "-".join(text[i:i + 4] for i in range(0, len(text), 4))


def normalize_code(code: str) -> str:
    """Case, spaces and dashes do not matter when a code is typed in; 0/1/8 read as O/I/B."""
    text = _CODE_CHARS.sub("", code.upper().translate(str.maketrans("018", "OIB")))
    return "-".join(text[i:i + 4] for i in range(0, len(text), 4))


@dataclass(frozen=True)
class SlipCheck:
    valid: bool  # the code was issued by this installation for exactly these fields
    reason: str
    current: bool = False  # the fields are what the ticket says now (not an older, superseded slip)
    changed: list[str] = field(default_factory=list)  # fields that differ from the ticket now


def verify_slip(session: Session, *, key: bytes, ticket_number: str, code: str,
                fields: Mapping[str, str] | None = None) -> SlipCheck:
    """With `fields` (as printed on the slip): is the code genuine for them? Without: is it the code
    of the ticket's current slip?"""
    ticket = session.scalars(select(Ticket).where(Ticket.number == ticket_number.strip())).first()
    if ticket is None:
        return SlipCheck(False, "no ticket has this number")
    now = slip_fields(ticket)
    given = dict(now) if fields is None else _complete(fields)
    if given["number"] != ticket.number:
        return SlipCheck(False, "the slip's ticket number differs from the one checked")
    if not hmac.compare_digest(normalize_code(code), verification_code(key, given)):
        reason = ("the code does not match these fields: the slip was altered or forged" if fields is not None
                  else "the code is not that of the ticket's current slip")
        return SlipCheck(False, reason)
    changed = [k for k in FIELD_KEYS if given[k] != now[k]]
    if changed:
        return SlipCheck(True, "genuine, but superseded: the ticket has changed since it was printed",
                         current=False, changed=changed)
    return SlipCheck(True, "genuine and current", current=True)


def _complete(fields: Mapping[str, str]) -> dict[str, str]:
    missing = [k for k in FIELD_KEYS if k not in fields]
    unknown = sorted(set(fields) - set(FIELD_KEYS))
    if missing or unknown:
        raise SlipFieldsInvalid("send exactly the slip's fields"
                                + (f"; missing: {', '.join(missing)}" if missing else "")
                                + (f"; unknown: {', '.join(unknown)}" if unknown else ""),
                                missing=missing, unknown=unknown)
    return {k: str(fields[k]) for k in FIELD_KEYS}


def _register_font() -> None:
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))


def render_slip(ticket: Ticket, *, key: bytes, printed_at: datetime) -> bytes:
    """The slip as a one-page A4 PDF."""
    _register_font()
    fields = slip_fields(ticket)
    code = verification_code(key, fields)
    body = ParagraphStyle("body", fontName=FONT, fontSize=10.5, leading=15, wordWrap="CJK")
    label = ParagraphStyle("label", parent=body, textColor=colors.HexColor("#333333"))
    title = ParagraphStyle("title", parent=body, fontSize=18, leading=24, alignment=1)
    small = ParagraphStyle("small", parent=body, fontSize=8.5, leading=12, textColor=colors.HexColor("#555555"))

    rows = [[Paragraph(text, label), Paragraph(_escape(fields[k]) or "—", body)] for k, text in FIELDS]
    table = Table(rows, colWidths=[28 * mm, 142 * mm])
    table.setStyle(TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
        ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#f0f0f0")),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
    ]))
    qr = QrCodeWidget(f"12345SLIP|{VERSION}|{ticket.number}|{code}")
    x0, y0, x1, y1 = qr.getBounds()
    size = 30 * mm
    drawing = Drawing(size, size, transform=[size / (x1 - x0), 0, 0, size / (y1 - y0), 0, 0])
    drawing.add(qr)
    check = Table([[Paragraph(f"核验码：{code}<br/>承办单位可通过 POST /api/slips/verify 提交工单编号、"
                              "核验码及单上各项内容核验本单真伪；内容被改动或核验码伪造的交办单核验不通过。", body),
                    drawing]], colWidths=[138 * mm, 32 * mm])
    check.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "MIDDLE")]))

    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=A4, leftMargin=20 * mm, rightMargin=20 * mm, topMargin=18 * mm,
                            bottomMargin=18 * mm, title=f"交办单 {ticket.number}", author="12345")
    doc.build([
        Paragraph("12345政务服务便民热线 交办单", title), Spacer(1, 6 * mm), table, Spacer(1, 6 * mm), check,
        Spacer(1, 4 * mm),
        Paragraph(f"打印时间：{_local(printed_at)}。诉求人信息已脱敏；完整信息仅限热线中心按规定查阅。", small),
    ])
    return out.getvalue()


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
