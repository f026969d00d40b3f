"""`hotline report` and `hotline cdr-import`: the command-line side of reports."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from foundation import migrate
from foundation.db import open_database, transaction
from foundation.settings import Settings
from reports import cdr
from reports.periods import local_date, parse_date, period_of
from reports.render import write_report
from reports.report import build
from routing.catalog import load_catalog


def department_names() -> dict[str, str]:
    return {d.id: d.name for d in load_catalog().departments}


def import_cdrs(settings: Settings, path: Path | None = None) -> cdr.ImportResult:
    db = open_database(settings.db_url)
    try:
        with transaction(db.session_factory) as s:
            return cdr.import_file(s, path=path or cdr.cdr_file(settings))
    finally:
        db.engine.dispose()


def run_report(settings: Settings, *, period: str, day: str | None, out: Path | None, pdf: bool = True,
               now: datetime | None = None) -> tuple[Path, Path | None]:
    """Import new CDRs, then write report.html (and report.pdf) for the period containing `day`
    (default: today in Asia/Shanghai, measured up to now)."""
    now = now or datetime.now(UTC)
    p = period_of(period, parse_date(day) if day else local_date(now))
    migrate.upgrade(settings.db_url)
    imported = import_cdrs(settings)
    out_dir = out or settings.home / "reports" / f"{p.kind}-{p.first_day.isoformat()}"
    db = open_database(settings.db_url)
    try:
        with db.session_factory() as s:
            data = build(s, period=p, now=now, department_names=department_names())
    finally:
        db.engine.dispose()
    html, pdf_path = write_report(data, out_dir, chromium=settings.report_chromium, pdf=pdf)
    print(imported.summary())
    print(f"{p.title}: {html}" + (f" {pdf_path}" if pdf_path else ""))
    return html, pdf_path
