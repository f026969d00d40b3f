"""Open311 and dispatch slip latency, in process (FastAPI TestClient) on a fresh SQLite home:
POST requests.json (classify + store), GET requests.json (a full 90-day page), GET slip.pdf.

Usage: .venv/bin/python bench/open311.py [--requests N]
"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import time
from pathlib import Path

from fastapi.testclient import TestClient

from accounts import service as accounts
from accounts.roles import Role
from api.app import create_app
from foundation import migrate
from foundation.db import open_database, transaction
from foundation.settings import Settings
from routing.catalog import load_catalog

TEXTS = ("小区门口的路灯坏了一个星期了，晚上很黑", "楼下烧烤店油烟太大，晚上吵到一两点", "公司拖欠我们三个月工资",
         "家里自来水发黄有异味", "公交车司机态度很差", "想咨询一下社保怎么转移到外地")


def _ms(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(home=Path(tmp) / "home")
        settings.ensure_dirs()
        migrate.upgrade(settings.db_url)
        db = open_database(settings.db_url)
        with transaction(db.session_factory) as s:
            accounts.load_units(s, catalog=load_catalog())
            user = accounts.create_user(s, username="gw", password="bench-password", role=Role.SYSTEM)
            key = accounts.issue_token(s, user_id=user.id)
        client = TestClient(create_app(settings, db.session_factory))
        client.get("/open311/v2/services.json")  # loads the router once, as the first request of a process does
        post, numbers = [], []
        for i in range(args.requests):
            t0 = time.perf_counter()
            r = client.post("/open311/v2/requests.json", data={"api_key": key, "description": TEXTS[i % len(TEXTS)],
                                                               "address_string": f"滨海大道{i}号"})
            post.append((time.perf_counter() - t0) * 1000)
            r.raise_for_status()
            numbers.append(r.json()[0]["service_request_id"])
        listing = []
        for _ in range(20):
            t0 = time.perf_counter()
            client.get("/open311/v2/requests.json").raise_for_status()
            listing.append((time.perf_counter() - t0) * 1000)
        slips, size = [], 0
        headers = {"Authorization": f"Bearer {key}"}
        for ticket_id in range(1, 21):
            t0 = time.perf_counter()
            r = client.get(f"/api/tickets/{ticket_id}/slip.pdf", headers=headers)
            slips.append((time.perf_counter() - t0) * 1000)
            r.raise_for_status()
            size = len(r.content)
        db.engine.dispose()
    (p50, p95), (l50, _), (s50, s95) = _ms(post), _ms(listing), _ms(slips)
    print(f"post_p50_ms={p50:.1f} post_p95_ms={p95:.1f} list_{len(numbers)}_p50_ms={l50:.1f} "
          f"slip_p50_ms={s50:.1f} slip_p95_ms={s95:.1f} slip_bytes={size} requests={len(numbers)}")


if __name__ == "__main__":
    main()
