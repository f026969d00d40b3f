"""The report on the hand-built day: HTML content, PDF from headless Chromium, and the dashboard page
looked at in Chromium (screenshot kept under artifacts/)."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import sync_playwright
from sqlalchemy.orm import Session, sessionmaker

from accounts import service as accounts
from accounts.roles import Role
from api.app import create_app
from foundation import migrate
from foundation.db import open_database, transaction
from foundation.settings import Settings
from reports.charts import bar_chart, line_chart
from reports.periods import period_of
from reports.render import chromium_args, render_html, write_report
from reports.report import build
from tests.conftest import REPO
from tests.reports.fixtures import build_day, utc

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = REPO / "artifacts"
NOW = utc(3, 12)
NAMES = {"water": "市水务局", "housing": "市住房和城乡建设局"}


def _html(factory: sessionmaker[Session]) -> str:
    with transaction(factory) as s:
        build_day(s)
    with factory() as s:
        return render_html(build(s, period=period_of("day", date(2026, 3, 2)), now=NOW, department_names=NAMES))


def test_html_holds_the_indicators_charts_and_league(session_factory: sessionmaker[Session]) -> None:
    html = _html(session_factory)
    assert "12345热线日报 2026-03-02" in html
    assert "66.7%" in html  # 接通率 2/3, 及时率 2/3, 满意率 2/3
    assert "50.0%" in html  # 办结率 3/6
    assert html.count("<svg") == 5 and "<script" not in html and "http://" not in html.replace(
        'xmlns="http://www.w3.org/2000/svg"', "")
    league = re.findall(r"<td class=l>(\d+)\. ([^<]+)</td>", html)
    assert league == [("1", "市水务局"), ("2", "市住房和城乡建设局")]  # 及时率 100% before 50%


def test_charts_escape_text_and_leave_gaps() -> None:
    svg = line_chart(["a<b", "2", "3"], [("s&p", [1.0, None, 3.0])], title="<t>")
    assert "a&lt;b" in svg and "s&amp;p" in svg and "&lt;t&gt;" in svg and "<polyline" not in svg
    assert svg.count("<circle") == 2
    bars = bar_chart([("城乡建设", 3.0), ("<x>", 1.0)])
    assert "&lt;x&gt;" in bars and bars.count("<rect") == 2


def test_pdf_is_printed_by_chromium(tmp_path: Path, session_factory: sessionmaker[Session]) -> None:
    with transaction(session_factory) as s:
        build_day(s)
    with session_factory() as s:
        data = build(s, period=period_of("day", date(2026, 3, 2)), now=NOW, department_names=NAMES)
    html, pdf = write_report(data, tmp_path / "out", chromium=CHROMIUM)
    assert pdf is not None
    body = pdf.read_bytes()
    assert body.startswith(b"%PDF") and len(body) > 10_000
    assert b"WenQuanYi" in body or b"Micro" in body  # the CJK font was embedded: Chinese glyphs printed
    assert html.read_text(encoding="utf-8").startswith("<!doctype html>")


def test_chromium_is_run_with_an_argument_list() -> None:
    args = chromium_args(CHROMIUM, Path("/tmp/a b.html"), Path("/tmp/o.pdf"), Path("/tmp/p"))
    assert args[0] == CHROMIUM and "--headless" in args and "--no-sandbox" in args
    assert args[-1] == "file:///tmp/a%20b.html" and "--user-data-dir=/tmp/p" in args


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """The API on SQLite on a free port, with the hand-built day and a dispatcher's token."""
    settings = Settings(home=tmp_path / "home", api_port=_free_port())
    settings.ensure_dirs()
    migrate.upgrade(settings.db_url)
    db = open_database(settings.db_url)
    with transaction(db.session_factory) as s:
        build_day(s)
        user = accounts.create_user(s, username="lead", password="dispatcher-pass", role=Role.DISPATCHER)
        s.flush()
        token = accounts.issue_token(s, user_id=user.id)
    server = uvicorn.Server(uvicorn.Config(create_app(settings, db.session_factory), host="127.0.0.1",
                                           port=settings.api_port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "API did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{settings.api_port}", token
    server.should_exit = True
    thread.join(10)
    db.engine.dispose()


def test_dashboard_in_chromium(served: tuple[str, str]) -> None:
    url, token = served
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "report-dashboard.png"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            response = page.goto(f"{url}/reports/dashboard?period=day&date=2026-03-02&token={token}")
            assert response is not None and response.status == 200
            assert page.locator("h1").inner_text() == "12345热线日报 2026-03-02"
            tiles = page.locator(".tile").all_inner_texts()
            assert any(t.startswith("接通率") and "66.7%" in t for t in tiles)
            assert any(t.startswith("办结率") and "50.0%" in t for t in tiles)
            assert page.locator("svg.chart").count() == 5
            # The charts were laid out (not zero-sized) and the league table lists both departments.
            box = page.locator("svg.chart").first.bounding_box()
            assert box is not None and box["width"] > 300 and box["height"] > 100
            assert "市住房和城乡建设局" in page.locator("table").first.inner_text()
            page.screenshot(path=str(shot), full_page=True)
            # Without a token the page is refused (center roles only).
            assert page.goto(f"{url}/reports/dashboard").status == 401  # type: ignore[union-attr]
        finally:
            browser.close()
    assert shot.stat().st_size > 20_000
