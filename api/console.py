"""The operator console: the page, its Server-Sent Events stream of screen pops, the one-click confirm,
recordings for the browser, and the 待回拨 list."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, StreamingResponse
from pydantic import BaseModel
from sqlalchemy.orm import Session, sessionmaker

from accounts import service as accounts
from accounts.principal import Principal
from accounts.roles import Role
from api.deps import CatalogDep, CenterDep, PolicyDep, SessionDep, SettingsDep, require_roles
from console import service
from console.hub import Message, PushHub
from console.schemas import CallbackItem, ConfirmForm, ConfirmResult, ScreenPop
from foundation.db import transaction
from foundation.errors import InvalidInput
from routing.catalog import CATEGORIES
from routing.types import TYPES

STATIC = Path(__file__).resolve().parent / "static"
KEEPALIVE_S = 15.0
DISCONNECT_CHECK_S = 1.0

router = APIRouter(tags=["console"])
# Confirming and calling back is the center's work; the system role is a robot, not a desk.
DeskDep = Annotated[Principal, Depends(require_roles(Role.OPERATOR, Role.DISPATCHER, Role.ADMIN))]


class UnknownStation(InvalidInput):
    error_id = "console.unknown_station"


def get_hub(request: Request) -> PushHub:
    hub: PushHub = request.app.state.console_hub
    return hub


HubDep = Annotated[PushHub, Depends(get_hub)]


def _stations(count: int) -> list[str]:
    return [f"op{i}" for i in range(1, count + 1)]


def _check_station(station: str, count: int) -> str:
    if station not in _stations(count):
        raise UnknownStation(f"unknown station {station!r}; stations are op1..op{count}", station=station)
    return station


# --- the page ---------------------------------------------------------------------------------


@router.get("/console", include_in_schema=False)
def console_page() -> FileResponse:
    return FileResponse(STATIC / "console.html", media_type="text/html; charset=utf-8")


@router.get("/console/{name}", include_in_schema=False)
def console_asset(name: str) -> FileResponse:
    if name not in ("console.js", "console.css"):
        raise UnknownAsset(f"no console asset {name!r}", name=name)
    kind = "text/javascript" if name.endswith(".js") else "text/css"
    return FileResponse(STATIC / name, media_type=f"{kind}; charset=utf-8")


class UnknownAsset(InvalidInput):
    error_id = "console.not_found"
    http_status = 404


# --- the pop stream ---------------------------------------------------------------------------


class Options(BaseModel):
    stations: list[str]
    types: list[str]
    categories: list[str]
    departments: list[dict[str, str]]


@router.get("/api/console/options", response_model=Options)
def options(settings: SettingsDep, catalog: CatalogDep, _p: CenterDep) -> Options:
    return Options(stations=_stations(settings.operator_count), types=list(TYPES), categories=list(CATEGORIES),
                   departments=[{"id": d.id, "name": d.name} for d in catalog.departments])


def _sse(message: Message) -> str:
    return f"data: {json.dumps(message, ensure_ascii=False)}\n\n"


def _audit(factory: sessionmaker[Session], principal: Principal, ticket_id: int, what: str) -> None:
    with transaction(factory) as s:
        accounts.audit_read(s, principal=principal, ticket_ids=[ticket_id], what=what, via="console")


@router.get("/api/console/stream")
async def stream(request: Request, hub: HubDep, settings: SettingsDep, principal: DeskDep,
                 station: Annotated[str, Query()]) -> StreamingResponse:
    """Server-Sent Events for one station: the current pop first (if any), then each pop as it happens."""
    _check_station(station, settings.operator_count)
    factory: sessionmaker[Session] = request.app.state.session_factory
    sub = hub.subscribe(station)  # before reading the current pop: nothing falls between the two

    def current() -> Message | None:
        with transaction(factory) as s:
            pop = service.current_pop(s, station=station)
            return pop.model_dump(mode="json") if pop is not None else None

    async def events() -> AsyncIterator[str]:
        try:
            yield f"retry: 1000\n\n: station {station}\n\n"
            first = await run_in_threadpool(current)
            if first is not None:
                yield _sse(await _audited(first))
            idle = 0.0
            while True:
                try:
                    message = await asyncio.wait_for(sub.get(), timeout=DISCONNECT_CHECK_S)
                except TimeoutError:
                    # A closed page is noticed here, not only when a write fails (ASGI 2.4 servers do
                    # not report disconnects to a streaming response).
                    if await request.is_disconnected():
                        return
                    idle += DISCONNECT_CHECK_S
                    if idle >= KEEPALIVE_S:
                        idle = 0.0
                        yield ": keepalive\n\n"
                    continue
                idle = 0.0
                yield _sse(await _audited(message))
        finally:
            sub.close()

    async def _audited(message: Message) -> Message:
        ticket = message.get("ticket") if message.get("kind") == "pop" else None
        if isinstance(ticket, dict):  # personal data shown to a person: logged (who saw which ticket)
            await run_in_threadpool(_audit, factory, principal, int(ticket["id"]), "screen_pop")
        return message

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


@router.get("/api/console/current", response_model=ScreenPop | None)
def current_pop(session: SessionDep, settings: SettingsDep, principal: DeskDep,
                station: Annotated[str, Query()]) -> ScreenPop | None:
    pop = service.current_pop(session, station=_check_station(station, settings.operator_count))
    if pop is not None and pop.ticket is not None:
        accounts.audit_read(session, principal=principal, ticket_ids=[pop.ticket.id], what="screen_pop",
                            via="console")
    return pop


# --- one click: confirm and dispatch / close on the call ---------------------------------------


def _confirm(session: Session, ticket_id: int | None, form: ConfirmForm, principal: Principal,
             policy: PolicyDep, catalog: CatalogDep) -> ConfirmResult:
    assert principal.role is not None
    return service.confirm(session, ticket_id=ticket_id, form=form, role=str(principal.role), actor=principal.actor,
                           policy=policy, catalog=catalog)


@router.post("/api/console/tickets/{ticket_id}/confirm", response_model=ConfirmResult)
def confirm_ticket(session: SessionDep, policy: PolicyDep, catalog: CatalogDep, principal: DeskDep,
                   ticket_id: int, form: ConfirmForm) -> ConfirmResult:
    return _confirm(session, ticket_id, form, principal, policy, catalog)


@router.post("/api/console/tickets", response_model=ConfirmResult, status_code=201)
def open_and_confirm(session: SessionDep, policy: PolicyDep, catalog: CatalogDep, principal: DeskDep,
                     form: ConfirmForm) -> ConfirmResult:
    """A caller who reached the desk without a ticket (the bot was down, or hung up early)."""
    if not form.caller_number.strip():
        raise InvalidInput("caller_number is required to open a ticket from the console", field="caller_number")
    return _confirm(session, None, form, principal, policy, catalog)


# --- recordings -------------------------------------------------------------------------------


@router.get("/api/console/recordings/{recording_id}")
def recording(session: SessionDep, settings: SettingsDep, principal: CenterDep, recording_id: int) -> FileResponse:
    rec, path = service.recording_path(session, recording_id=recording_id)
    real = os.path.realpath(path)
    if not real.startswith(os.path.realpath(settings.recordings_dir) + os.sep) or not os.path.isfile(real):
        raise service.RecordingNotFound(f"recording {recording_id} has no file", recording_id=recording_id)
    if rec.ticket_id is not None:
        accounts.audit_read(session, principal=principal, ticket_ids=[rec.ticket_id], what="recording",
                            via="console")
    return FileResponse(real, media_type="audio/wav", headers={"Cache-Control": "private, no-store"})


# --- 待回拨 -------------------------------------------------------------------------------------


@router.get("/api/console/callbacks", response_model=list[CallbackItem])
def callbacks(session: SessionDep, principal: DeskDep,
              limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[CallbackItem]:
    items = service.pending_callbacks(session, limit=limit)
    if items:
        accounts.audit_read(session, principal=principal, ticket_ids=[t.id for t in items], what="callbacks",
                            via="console")
    return [CallbackItem.model_validate(t) for t in items]


class CalledBack(BaseModel):
    note: str = ""


@router.post("/api/console/callbacks/{ticket_id}/done", status_code=204)
def called_back(session: SessionDep, principal: DeskDep, ticket_id: int, body: CalledBack) -> None:
    service.mark_called_back(session, ticket_id=ticket_id, actor=principal.actor, note=body.note)
