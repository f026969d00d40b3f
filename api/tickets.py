"""Ticket views: the list and the ticket for every role (scoped and masked), and the desk's actions."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from accounts import service as accounts
from api.deps import CatalogDep, PolicyDep, PrincipalDep, SessionDep, UserDep
from foundation.db import utcnow
from tickets import access, service, workflow
from tickets.filters import TicketFilter
from tickets.lifecycle import allowed_actions
from tickets.schemas import ActionRequest, ActionResult, TicketDetail, TicketList, TicketRead

router = APIRouter(prefix="/api/tickets", tags=["tickets"])


@router.get("", response_model=TicketList)
def list_tickets(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    filters: Annotated[TicketFilter, Query()],
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> TicketList:
    items, total = service.list_tickets(session, filters=filters, scope=access.visible(principal),
                                        limit=limit, offset=offset)
    accounts.audit_read(session, principal=principal, ticket_ids=[t.id for t in items], what="ticket_list",
                        via=str(request.url.path))
    rows = [TicketRead.model_validate(access.masked(principal, TicketRead.model_validate(t).model_dump()))
            for t in items]
    return TicketList(items=rows, total=total, limit=limit, offset=offset)


@router.get("/{ticket_id}", response_model=TicketDetail)
def get_ticket(request: Request, session: SessionDep, principal: PrincipalDep, ticket_id: int) -> TicketDetail:
    ticket = service.get_ticket(session, ticket_id=ticket_id)
    access.require_visible(principal, ticket)
    accounts.audit_read(session, principal=principal, ticket_ids=[ticket.id], what="ticket_detail",
                        via=str(request.url.path))
    detail = TicketDetail.model_validate(ticket).model_dump()
    role = str(principal.role) if principal.role else ""
    detail["allowed_actions"] = allowed_actions(ticket.status, role) if role else []
    return TicketDetail.model_validate(access.masked(principal, detail))


@router.post("/{ticket_id}/actions", response_model=ActionResult)
def act(session: SessionDep, policy: PolicyDep, catalog: CatalogDep, principal: UserDep, ticket_id: int,
        body: ActionRequest) -> ActionResult:
    """Every desk action (签收 sign, 办理 start, note, 反馈 report_result, 退单 return, 延期
    request_extension / decide_extension, 督办 supervise, 并单 merge, 派单 dispatch, 下派 assign ...):
    an illegal one gets 409 with a stable error id and changes nothing."""
    ticket = service.get_ticket(session, ticket_id=ticket_id)
    access.require_can_act(principal, ticket, body.action)
    params: dict[str, Any] = dict(body.params)
    ticket = workflow.apply_action(
        session, ticket_id=ticket_id, action=body.action, role=str(principal.role), actor=principal.actor,
        now=utcnow(), policy=policy, catalog=catalog,
        reason=body.reason, params=params)
    return ActionResult(id=ticket.id, number=ticket.number, status=ticket.status,
                        allowed_actions=allowed_actions(ticket.status, str(principal.role)))
