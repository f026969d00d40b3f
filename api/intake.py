"""Written channels other than Open311 (web form, mailbox, WeChat): POST /api/requests."""

from __future__ import annotations

from fastapi import APIRouter

from api.classifier import RouterDep
from api.deps import CenterDep, SessionDep
from tickets.intake import UnknownChannel, file_request
from tickets.schemas import FiledRequest, WrittenRequest

WRITTEN_CHANNELS = ("web", "mailbox", "wechat")  # phone comes from the IVR, open311 from /open311/v2

router = APIRouter(prefix="/api/requests", tags=["intake"])


@router.post("", response_model=FiledRequest, status_code=201)
def file_written_request(session: SessionDep, router: RouterDep, principal: CenterDep,
                         body: WrittenRequest) -> FiledRequest:
    """The gateway of each channel (or an operator typing a letter in) files as a center user."""
    if body.channel not in WRITTEN_CHANNELS:
        raise UnknownChannel(f"channel must be one of {', '.join(WRITTEN_CHANNELS)}, got {body.channel!r}",
                             channel=body.channel)
    ticket = file_request(
        session, channel=body.channel, text=body.text, router=router, actor=principal.actor,
        caller_number=body.caller_number, caller_name=body.caller_name, caller_email=body.caller_email,
        place=body.place, latitude=body.latitude, longitude=body.longitude, service_code=body.service_code,
        media_url=body.media_url, meta={**body.meta, "submitted_by": principal.username})
    return FiledRequest.model_validate(ticket)
