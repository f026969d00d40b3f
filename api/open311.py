"""Open311 GeoReport v2 under /open311/v2 (https://wiki.open311.org/GeoReport_v2): services,
requests (GET and POST) and one request, as .json or .xml. Errors use the spec's format,
[{"code": …, "description": …}], with 404 for what does not exist, 403 for a missing or wrong
api_key and 400 for everything else."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Coroutine, Sequence
from typing import Annotated, Any
from urllib.parse import parse_qs
from xml.etree import ElementTree

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from accounts import service as accounts
from accounts.errors import AccessDenied, AuthRequired
from accounts.roles import Role
from api.classifier import RouterDep
from api.deps import SessionDep, SettingsDep
from foundation.db import utcnow
from foundation.errors import DomainError, NotFound
from foundation.settings import Settings
from tickets import open311
from tickets.intake import file_request

FORMATS = ("json", "xml")
POST_ROLES = frozenset({Role.OPERATOR, Role.SYSTEM})  # client applications act as these users
_ITEM_TAGS = {"services": "service", "service_requests": "request", "errors": "error"}
Form = dict[str, list[str]]


class UnknownRequest(NotFound):
    error_id = "open311.request_not_found"


class UnknownJurisdiction(NotFound):
    error_id = "open311.jurisdiction_not_found"


class UnsupportedFormat(NotFound):
    error_id = "open311.format_not_found"


def _render(request: Request, root: str, items: Sequence[dict[str, Any]], status_code: int = 200) -> Response:
    if request.path_params.get("fmt") == "xml":
        top = ElementTree.Element(root)
        for item in items:
            node = ElementTree.SubElement(top, _ITEM_TAGS[root])
            for key, value in item.items():
                child = ElementTree.SubElement(node, key)
                if value is not None:
                    child.text = str(value).lower() if isinstance(value, bool) else str(value)
        body = b'<?xml version="1.0" encoding="utf-8"?>\n' + ElementTree.tostring(top, encoding="utf-8",
                                                                               xml_declaration=False)
        return Response(body, status_code=status_code, media_type="text/xml; charset=utf-8")
    return JSONResponse(list(items), status_code=status_code, media_type="application/json; charset=utf-8")


def _error(request: Request, status_code: int, description: str) -> Response:
    return _render(request, "errors", [{"code": status_code, "description": description}], status_code)


def _spec_status(http_status: int) -> int:
    if http_status == 404:
        return 404
    if http_status in (401, 403):
        return 403
    return 400 if http_status < 500 else http_status


class GeoReportRoute(APIRoute):
    """Every failure on these routes, ours or FastAPI's, answers in the GeoReport error format."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except DomainError as e:
                return _error(request, _spec_status(e.http_status), e.message)
            except RequestValidationError as e:
                problems = "; ".join(f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in e.errors())
                return _error(request, 400, problems)
            except HTTPException as e:
                return _error(request, _spec_status(e.status_code), str(e.detail))

        return guarded


router = APIRouter(prefix="/open311/v2", tags=["open311"], route_class=GeoReportRoute)


def _check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise UnsupportedFormat(f"format {fmt!r} not found: use .json or .xml")


def _check_jurisdiction(settings: Settings, jurisdiction_id: str | None) -> None:
    wanted = settings.open311_jurisdiction_id
    if wanted and jurisdiction_id and jurisdiction_id != wanted:
        raise UnknownJurisdiction(f"jurisdiction_id {jurisdiction_id!r} not found (this endpoint serves {wanted!r})")


@router.get("/services.{fmt}")
def services(request: Request, settings: SettingsDep, router: RouterDep, fmt: str,
             jurisdiction_id: str | None = None) -> Response:
    _check_format(fmt)
    _check_jurisdiction(settings, jurisdiction_id)
    return _render(request, "services", open311.services(router.catalog))


@router.get("/requests.{fmt}")
def list_requests(request: Request, session: SessionDep, settings: SettingsDep, fmt: str,
                  jurisdiction_id: str | None = None, service_request_id: str | None = None,
                  service_code: str | None = None, start_date: str | None = None, end_date: str | None = None,
                  status: str | None = None) -> Response:
    _check_format(fmt)
    _check_jurisdiction(settings, jurisdiction_id)
    query = open311.RequestQuery.parse(service_request_id=service_request_id, service_code=service_code,
                                       start_date=start_date, end_date=end_date, status=status, now=utcnow())
    tickets = open311.find_requests(session, query=query)
    return _render(request, "service_requests", [open311.request_view(t) for t in tickets])


@router.get("/requests/{service_request_id}.{fmt}")
def get_request(request: Request, session: SessionDep, settings: SettingsDep, service_request_id: str, fmt: str,
                jurisdiction_id: str | None = None) -> Response:
    _check_format(fmt)
    _check_jurisdiction(settings, jurisdiction_id)
    ticket = open311.find_request(session, number=service_request_id)
    if ticket is None:
        raise UnknownRequest(f"service_request_id {service_request_id!r} not found")
    return _render(request, "service_requests", [open311.request_view(ticket)])


async def _form(request: Request) -> Form:
    """The POST body: application/x-www-form-urlencoded as the spec says, or a JSON object; the
    query string counts too (some clients put api_key there)."""
    fields: Form = {k: request.query_params.getlist(k) for k in request.query_params}
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    raw = await request.body()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise open311.BadQuery("the request body is not UTF-8") from None
    if ctype == "application/json":
        try:
            data = json.loads(text or "{}")
        except json.JSONDecodeError as e:
            raise open311.BadQuery(f"the JSON body does not parse: {e}") from None
        if not isinstance(data, dict):
            raise open311.BadQuery("the JSON body must be an object of fields")
        fields.update({k: [str(v)] if not isinstance(v, list) else [str(x) for x in v]
                       for k, v in data.items() if v is not None})
    elif ctype in ("", "application/x-www-form-urlencoded"):
        fields.update(parse_qs(text, keep_blank_values=True))
    else:
        raise open311.BadQuery(f"content type {ctype!r} is not accepted: send application/x-www-form-urlencoded")
    return fields


def _one(form: Form, name: str) -> str | None:
    values = [v for v in form.get(name, []) if v.strip()]
    return values[-1].strip() if values else None


def _number(form: Form, name: str) -> float | None:
    value = _one(form, name)
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        raise open311.BadQuery(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(number):
        raise open311.BadQuery(f"{name} must be a finite number, got {value!r}")
    return number


def _attributes(form: Form) -> dict[str, Any]:
    """attribute[code]=value and attribute[code][]=v1&attribute[code][]=v2 (multivaluelist)."""
    out: dict[str, Any] = {}
    for key, values in form.items():
        if key.startswith("attribute[") and key.endswith("]"):
            code = key[len("attribute["):].removesuffix("[]").removesuffix("]")
            out[code] = values if key.endswith("[]") else values[-1]
    return out


def _api_key(request: Request, form: Form) -> str:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer ") and header[7:].strip():
        return header[7:].strip()
    key = _one(form, "api_key")
    if key is None:
        raise AccessDenied("api_key is missing: POST requests need the api_key of an operator or system user")
    return key


@router.post("/requests.{fmt}")
def post_request(request: Request, session: SessionDep, settings: SettingsDep, router: RouterDep, fmt: str,
                 form: Annotated[Form, Depends(_form)]) -> Response:
    _check_format(fmt)
    _check_jurisdiction(settings, _one(form, "jurisdiction_id"))
    try:
        principal = accounts.principal_for_token(session, token=_api_key(request, form))
    except AuthRequired:
        raise AccessDenied("invalid api_key: can't proceed with create_request") from None
    if principal.role not in POST_ROLES:
        raise AccessDenied("this api_key may not file requests (needs an operator or system user)")
    first, last = _one(form, "first_name") or "", _one(form, "last_name") or ""
    # Chinese names are family name first; Latin ones given name first.
    name = f"{first} {last}".strip() if (first + last).isascii() else f"{last}{first}"
    meta: dict[str, Any] = {k: v for k, v in (("jurisdiction_id", _one(form, "jurisdiction_id")),
                              ("address_id", _one(form, "address_id")), ("device_id", _one(form, "device_id")),
                              ("account_id", _one(form, "account_id"))) if v}
    attributes = _attributes(form)
    if attributes:
        meta["attributes"] = attributes
    meta["submitted_by"] = principal.username
    ticket = file_request(
        session, channel="open311", text=_one(form, "description") or "", router=router, actor=principal.actor,
        caller_number=_one(form, "phone"), caller_name=name, caller_email=_one(form, "email"),
        place=_one(form, "address_string"), latitude=_number(form, "lat"), longitude=_number(form, "long"),
        service_code=_one(form, "service_code"), media_url=_one(form, "media_url"), meta=meta)
    notice = (f"12345已受理，工单编号{ticket.number}。" +
              ("如遇火灾、燃气泄漏、人身危险等紧急情况，请立即拨打110、119或120。" if ticket.emergency else ""))
    return _render(request, "service_requests", [{"service_request_id": ticket.number, "service_notice": notice,
                                                  "account_id": _one(form, "account_id")}])
