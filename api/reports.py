"""Report views for the center: the dashboard page, indicators, hot issues, alerts and exports."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from accounts import service as accounts
from api.deps import CenterDep, SessionDep
from reports import export
from reports.models import Alert
from reports.periods import PeriodKind, local_date, parse_date, period_of
from reports.render import render_html
from reports.report import ReportData, build, hot_issues
from routing.catalog import load_catalog
from tickets import access
from tickets.filters import TicketFilter

router = APIRouter(tags=["reports"])

PeriodQ = Annotated[PeriodKind, Query(description="day, week or month (Asia/Shanghai)")]
DateQ = Annotated[str | None, Query(description="any day of the period, YYYY-MM-DD; default today")]


def _report(request: Request, session: SessionDep, period: PeriodKind, date: str | None) -> ReportData:
    now = datetime.now(UTC)
    p = period_of(period, parse_date(date) if date else local_date(now))
    catalog = getattr(request.app.state, "catalog", None) or load_catalog()
    return build(session, period=p, now=now, department_names={d.id: d.name for d in catalog.departments})


@router.get("/reports/dashboard", response_class=HTMLResponse)
def dashboard(request: Request, session: SessionDep, _center: CenterDep, period: PeriodQ = PeriodKind.DAY,
              date: DateQ = None) -> HTMLResponse:
    """The report as a page (same HTML as `hotline report`); open with ?token=… from a browser."""
    return HTMLResponse(render_html(_report(request, session, period, date)))


@router.get("/api/reports/indicators")
def indicators(request: Request, session: SessionDep, _center: CenterDep, period: PeriodQ = PeriodKind.DAY,
               date: DateQ = None) -> dict[str, Any]:
    return _report(request, session, period, date).as_json()


@router.get("/api/reports/hot-issues")
def hot(session: SessionDep, _center: CenterDep, days: Annotated[int, Query(ge=1, le=90)] = 7,
        top: Annotated[int, Query(ge=1, le=50)] = 10) -> dict[str, Any]:
    now = datetime.now(UTC)
    issues = hot_issues(session, now=now, window=timedelta(days=days), top=top)
    return {"as_of": now.isoformat(), "days": days, "items": [h.as_json() for h in issues]}


@router.get("/api/reports/alerts")
def alerts(session: SessionDep, _center: CenterDep, limit: Annotated[int, Query(ge=1, le=500)] = 50) -> dict[str, Any]:
    rows = session.scalars(select(Alert).order_by(Alert.id.desc()).limit(limit)).all()
    return {"items": [{"id": a.id, "key": a.key, "topic": a.topic, "district": a.district, "count": a.count,
                       "expected": a.baseline, "first_seen_at": a.first_seen_at.isoformat(),
                       "last_seen_at": a.last_seen_at.isoformat(),
                       "notified_at": a.notified_at.isoformat() if a.notified_at else None,
                       "message": a.message} for a in rows]}


def _export(request: Request, session: SessionDep, principal: CenterDep, filters: TicketFilter, fmt: str) -> Response:
    seen: list[int] = []
    records = export.rows(session, filters=filters, scope=access.visible(principal), now=datetime.now(UTC),
                          full_numbers=principal.sees_full_numbers, seen=seen)
    if fmt == "csv":
        body, media = export.to_csv(records), "text/csv; charset=utf-8"
    else:
        body, media = export.to_xlsx(records), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    accounts.audit_read(session, principal=principal, ticket_ids=seen, what="export", via=str(request.url.path))
    name = f"tickets-{datetime.now(UTC):%Y%m%d-%H%M%S}.{fmt}"
    return Response(body, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/api/reports/export.csv")
def export_csv(request: Request, session: SessionDep, principal: CenterDep,
               filters: Annotated[TicketFilter, Query()]) -> Response:
    """The tickets GET /api/tickets would list with these filters, all of them, as CSV (UTF-8 BOM)."""
    return _export(request, session, principal, filters, "csv")


@router.get("/api/reports/export.xlsx")
def export_xlsx(request: Request, session: SessionDep, principal: CenterDep,
                filters: Annotated[TicketFilter, Query()]) -> Response:
    return _export(request, session, principal, filters, "xlsx")
