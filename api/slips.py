"""Dispatch slips (交办单): the PDF of a ticket and the check of a slip's verification code."""

from __future__ import annotations

import dataclasses

from fastapi import APIRouter, Response

from accounts import service as accounts
from api.deps import SessionDep, SettingsDep, UserDep
from foundation.db import utcnow
from tickets import access, service
from tickets.schemas import SlipVerifyRequest, SlipVerifyResult
from tickets.slip import render_slip, slip_key, verify_slip

router = APIRouter(prefix="/api", tags=["slips"])


@router.get("/tickets/{ticket_id}/slip.pdf", response_class=Response,
            responses={200: {"content": {"application/pdf": {}}}})
def slip_pdf(session: SessionDep, settings: SettingsDep, principal: UserDep, ticket_id: int) -> Response:
    ticket = service.get_ticket(session, ticket_id=ticket_id)
    access.require_visible(principal, ticket)
    accounts.audit_read(session, principal=principal, ticket_ids=[ticket.id], what="slip",
                        via=f"/api/tickets/{ticket.id}/slip.pdf")
    pdf = render_slip(ticket, key=slip_key(settings.secrets_dir), printed_at=utcnow())
    return Response(pdf, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="slip-{ticket.number}.pdf"'})


@router.post("/slips/verify", response_model=SlipVerifyResult)
def verify(session: SessionDep, settings: SettingsDep, principal: UserDep, body: SlipVerifyRequest) -> SlipVerifyResult:
    """Any signed-in user may check a slip; the answer names changed fields, never their values."""
    check = verify_slip(session, key=slip_key(settings.secrets_dir), ticket_number=body.ticket_number,
                        code=body.code, fields=body.fields)
    return SlipVerifyResult(**dataclasses.asdict(check))
