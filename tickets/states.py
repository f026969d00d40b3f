"""The states a ticket moves through (shared by the tables and the state machine)."""

from __future__ import annotations

import enum


class TicketStatus(enum.StrEnum):
    ACCEPTED = "accepted"  # 受理
    DISPATCHED = "dispatched"  # 派单
    SIGNED = "signed"  # 签收
    IN_PROGRESS = "in_progress"  # 办理
    RESULT_REPORTED = "result_reported"  # 反馈
    CALLBACK_PENDING = "callback_pending"  # 回访
    CLOSED = "closed"  # 办结
    RETURNED_PENDING_REVIEW = "returned_pending_review"  # 退单, awaiting the center's review
