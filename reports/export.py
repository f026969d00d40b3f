"""Ticket lists as CSV (UTF-8 with BOM, so Excel opens Chinese text right) and .xlsx, with the same
filters as GET /api/tickets (tickets.filters.TicketFilter) and the viewer's visibility scope.

Cells that a spreadsheet would run as a formula (starting with = + - @) are neutralised: a leading
apostrophe in CSV (OWASP's advice), an explicit string cell type in .xlsx."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from foundation.masking import mask_phone
from reports.periods import SHANGHAI
from tickets.filters import TicketFilter
from tickets.models import Ticket
from tickets.states import TicketStatus

STATUS_NAMES: dict[str, str] = {
    TicketStatus.ACCEPTED: "受理", TicketStatus.DISPATCHED: "派单", TicketStatus.SIGNED: "签收",
    TicketStatus.IN_PROGRESS: "办理", TicketStatus.RESULT_REPORTED: "反馈", TicketStatus.CALLBACK_PENDING: "回访",
    TicketStatus.CLOSED: "办结", TicketStatus.RETURNED_PENDING_REVIEW: "退单待审",
}
SATISFACTION_NAMES: dict[str, str] = {"satisfied": "满意", "basically_satisfied": "基本满意", "dissatisfied": "不满意"}
HEADER = ("工单编号", "受理时间", "渠道", "来电号码", "类型", "分类", "承办部门", "地点", "状态", "摘要", "诉求内容",
          "派单时间", "签收时间", "办理时限", "办结时间", "督办级别", "满意度")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _when(moment: datetime | None) -> str:
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S") if moment else ""


def rows(session: Session, *, filters: TicketFilter, scope: ColumnElement[bool] | None, now: datetime,
         full_numbers: bool, seen: list[int] | None = None, batch: int = 1000) -> Iterator[tuple[str, ...]]:
    """Every matching ticket, oldest first, read in batches (an export is not paginated). The ids
    go to `seen`, for the read audit."""
    query = filters.apply(select(Ticket), now=now)
    if scope is not None:
        query = query.where(scope)
    last = 0
    while True:
        chunk = session.scalars(query.where(Ticket.id > last).order_by(Ticket.id).limit(batch)).all()
        if not chunk:
            return
        for t in chunk:
            if seen is not None:
                seen.append(t.id)
            number = t.caller_number if full_numbers else (mask_phone(t.caller_number) if t.caller_number else "")
            yield (t.number, _when(t.created_at), t.channel, number, t.type, t.category, t.department_name,
                   t.place, STATUS_NAMES.get(t.status, t.status), t.summary, t.transcript, _when(t.dispatched_at),
                   _when(t.signed_at), _when(t.resolve_by), _when(t.closed_at), str(t.supervision_level),
                   SATISFACTION_NAMES.get(t.satisfaction, t.satisfaction))
        last = chunk[-1].id


def _safe(cell: str) -> str:
    return "'" + cell if cell.startswith(_FORMULA_START) else cell


def to_csv(records: Iterator[tuple[str, ...]]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(HEADER)
    for r in records:
        writer.writerow([_safe(c) for c in r])
    return "\ufeff".encode() + buf.getvalue().encode("utf-8")


def to_xlsx(records: Iterator[tuple[str, ...]]) -> bytes:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("工单")
    ws.append(list(HEADER))
    for r in records:
        cells = []
        for value in r:
            cell = WriteOnlyCell(ws, value=value)
            cell.data_type = "s"  # never a formula, whatever the citizen typed
            cells.append(cell)
        ws.append(cells)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
