"""Report views and exports through the API: center roles only, same filters as GET /api/tickets."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy.orm import Session, sessionmaker

from accounts import service as accounts
from accounts.roles import Role
from api.app import create_app
from foundation.db import transaction
from foundation.settings import Settings
from hotline.stack import settings_env
from routing.catalog import load_catalog
from tests.reports.fixtures import build_day
from tickets import service
from tickets.schemas import TicketDraft


def _client(settings: Settings, factory: sessionmaker[Session]) -> tuple[TestClient, dict[str, str], dict[str, str]]:
    with transaction(factory) as s:
        accounts.load_units(s, catalog=load_catalog())
        lead = accounts.create_user(s, username="lead", password="dispatcher-pass", role=Role.DISPATCHER)
        dept = accounts.create_user(s, username="water", password="water-pass-1", role=Role.DEPARTMENT,
                                    department="water")
        s.flush()
        center = {"Authorization": f"Bearer {accounts.issue_token(s, user_id=lead.id)}"}
        department = {"Authorization": f"Bearer {accounts.issue_token(s, user_id=dept.id)}"}
    return TestClient(create_app(settings, factory)), center, department


def test_exports_csv_and_xlsx_with_filters(settings: Settings, session_factory: sessionmaker[Session]) -> None:
    with transaction(session_factory) as s:
        service.open_ticket(s, draft=TicketDraft(transcript="=HYPERLINK(\"http://x\")停水", caller_number="13800138000",
                                                 summary="停水", type="投诉", category="城乡建设"), actor="ivr")
        service.open_ticket(s, draft=TicketDraft(transcript="拖欠工资", caller_number="13900139000",
                                                 type="投诉", category="劳动和社会保障"), actor="ivr")
    c, center, department = _client(settings, session_factory)
    r = c.get("/api/reports/export.csv", headers=center, params={"category": "城乡建设"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0][:4] == ["工单编号", "受理时间", "渠道", "来电号码"] and len(rows) == 2
    assert rows[1][3] == "13800138000" and rows[1][10].startswith("'=HYPERLINK")  # no formula for Excel
    assert rows[1][8] == "受理"
    r = c.get("/api/reports/export.xlsx", headers=center)
    assert r.status_code == 200
    ws = load_workbook(io.BytesIO(r.content)).active
    assert ws is not None
    values = [[cell.value for cell in row] for row in ws.iter_rows()]
    assert len(values) == 3 and values[0][0] == "工单编号"
    assert {v[10] for v in values[1:]} == {"=HYPERLINK(\"http://x\")停水", "拖欠工资"}
    assert all(row[10].data_type == "s" for row in ws.iter_rows(min_row=2))  # text, not a formula
    # Bad filters are refused like on GET /api/tickets; departments and strangers get no export.
    assert c.get("/api/reports/export.csv", headers=center, params={"supervised": "maybe"}).status_code == 422
    assert c.get("/api/reports/export.csv", headers=department).status_code == 403
    assert c.get("/api/reports/export.csv").status_code == 401


def test_indicators_hot_issues_and_alerts_json(settings: Settings, session_factory: sessionmaker[Session]) -> None:
    with transaction(session_factory) as s:
        build_day(s)
    c, center, department = _client(settings, session_factory)
    r = c.get("/api/reports/indicators", headers=center, params={"period": "day", "date": "2026-03-02"})
    assert r.status_code == 200
    body = r.json()
    assert body["indicators"]["overall"]["accepted"] == 6
    assert body["indicators"]["overall"]["answer_rate"] == {"numerator": 2, "denominator": 3, "value": 0.6667}
    assert len(body["trend"]) == 24 and body["period"]["title"] == "12345热线日报 2026-03-02"
    assert c.get("/api/reports/indicators", headers=center, params={"period": "year"}).status_code == 422
    r = c.get("/api/reports/indicators", headers=center, params={"date": "2026-13-01"})
    assert r.status_code == 422 and r.json()["error"]["id"] == "reports.invalid_period"
    assert c.get("/api/reports/hot-issues", headers=center).json()["items"] == []
    assert c.get("/api/reports/alerts", headers=center).json() == {"items": []}
    assert c.get("/api/reports/indicators", headers=department).status_code == 403


def test_hotline_report_command_writes_html_and_pdf(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home")
    out = tmp_path / "out"
    from foundation import migrate
    from foundation.db import open_database

    settings.ensure_dirs()
    migrate.upgrade(settings.db_url)
    db = open_database(settings.db_url)
    with transaction(db.session_factory) as s:
        build_day(s)
    db.engine.dispose()
    res = subprocess.run([sys.executable, "-m", "hotline.cli", "report", "--period", "week", "--date", "2026-03-04",
                          "--out", str(out)], env=settings_env(settings), capture_output=True, text=True,
                         timeout=180, check=False)
    assert res.returncode == 0, res.stderr
    assert "12345热线周报 2026-03-02 – 2026-03-08" in res.stdout
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "12345热线周报" in html and "50.0%" in html
    assert (out / "report.pdf").read_bytes().startswith(b"%PDF")
    bad = subprocess.run([sys.executable, "-m", "hotline.cli", "report", "--date", "yesterday"],
                         env=settings_env(settings), capture_output=True, text=True, timeout=60, check=False)
    assert bad.returncode == 2 and "bad date" in bad.stderr
