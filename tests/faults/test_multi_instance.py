"""Several instances on one real PostgreSQL: one leader for the singleton workers with a takeover
when it dies, API instances side by side, and concurrent intake from several processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from foundation import migrate
from foundation.db import open_database, transaction
from foundation.settings import Settings
from tests.conftest import REPO
from tests.e2e.conftest import free_port
from tests.faults.outages import wait_healthy
from tests.pg import PostgresServer
from tickets import service
from tickets.schemas import TicketDraft


@pytest.fixture
def pg_url(postgres: PostgresServer) -> str:
    url = postgres.create_database(f"multi{os.getpid()}{time.monotonic_ns() % 10**6}")
    migrate.upgrade(url)
    return url


def _pids(out: Path) -> list[int]:
    return [int(line.split()[0]) for line in out.read_text().splitlines()] if out.exists() else []


def test_one_leader_at_a_time_and_a_takeover_when_it_dies(pg_url: str, tmp_path: Path) -> None:
    out = tmp_path / "work.log"
    cmd = [sys.executable, "-m", "tests.faults.leader_worker", pg_url, str(tmp_path / "locks"), str(out)]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [subprocess.Popen(cmd, env=env, cwd=REPO) for _ in range(3)]
    try:
        deadline = time.monotonic() + 30
        while len(_pids(out)) < 10:
            assert time.monotonic() < deadline, "nobody took the lead"
            time.sleep(0.1)
        time.sleep(1.0)
        first = set(_pids(out))
        assert len(first) == 1, f"more than one leader at once: {first}"
        leader = next(p for p in procs if p.pid in first)
        leader.send_signal(signal.SIGKILL)  # no clean release: the server must notice the dead session
        leader.wait(10)
        done_at = len(_pids(out))
        deadline = time.monotonic() + 30
        while len(_pids(out)) < done_at + 10:
            assert time.monotonic() < deadline, "no standby took over"
            time.sleep(0.1)
        time.sleep(1.0)
        after = _pids(out)[done_at:]
        assert len(set(after)) == 1 and after[0] != leader.pid, after
    finally:
        for p in procs:
            p.kill()
            p.wait(10)


def _draft(i: int) -> TicketDraft:
    return TicketDraft(caller_number=f"1380000{i:04d}", transcript=f"龙华区金盘路{i}号路灯坏了", summary="路灯坏了",
                       type="求助", category="城乡建设")


def _open_many(url: str, start: int, n: int) -> list[str]:
    """One instance's intake: its own engine, as another host's AGI server would have."""
    db = open_database(url)
    try:
        numbers = []
        for i in range(start, start + n):
            with transaction(db.session_factory) as s:
                numbers.append(service.open_ticket(s, draft=_draft(i), actor="ivr").number)
        return numbers
    finally:
        db.engine.dispose()


def _apis(pg_url: str, tmp_path: Path, *, together: bool) -> Iterator[list[str]]:
    urls, procs = [], []
    for i in range(2):
        port = free_port()
        s = Settings(home=tmp_path / f"api{i}", database_url=pg_url, api_port=port, console_follow_ami=False)
        s.ensure_dirs()
        env = {**os.environ, "PYTHONPATH": str(REPO), "HOTLINE_HOME": str(s.home), "HOTLINE_DATABASE_URL": pg_url,
               "HOTLINE_API_PORT": str(port), "HOTLINE_CONSOLE_FOLLOW_AMI": "false"}
        log = (tmp_path / f"api{i}.log").open("wb")
        procs.append(subprocess.Popen([sys.executable, "-m", "hotline.cli", "api"], env=env, cwd=REPO,
                                      stdout=log, stderr=subprocess.STDOUT))
        urls.append(f"http://127.0.0.1:{port}")
        if not together:
            wait_healthy(urls[-1])
    try:
        for u in urls:
            wait_healthy(u)
        yield urls
    finally:
        for p in procs:
            p.terminate()
            p.wait(15)


@pytest.fixture
def two_apis(pg_url: str, tmp_path: Path) -> Iterator[list[str]]:
    yield from _apis(pg_url, tmp_path, together=False)


def test_two_api_instances_starting_at_once_on_a_new_database(pg_url: str, tmp_path: Path) -> None:
    for urls in _apis(pg_url, tmp_path, together=True):
        assert len(urls) == 2


def test_two_api_instances_and_concurrent_intake_on_one_database(pg_url: str, two_apis: list[str]) -> None:
    with ThreadPoolExecutor(4) as pool:  # four "hosts" opening tickets at the same time
        batches = list(pool.map(lambda k: _open_many(pg_url, k * 25, 25), range(4)))
    numbers = [n for b in batches for n in b]
    assert len(numbers) == len(set(numbers)) == 100  # the daily counter holds under concurrency

    def get(url: str) -> dict[str, object]:
        with urllib.request.urlopen(url, timeout=10) as r:
            return dict(json.loads(r.read()))

    with ThreadPoolExecutor(8) as pool:  # requests spread over both instances, as a balancer would
        pages = list(pool.map(lambda i: get(f"{two_apis[i % 2]}/api/tickets?limit=100"), range(40)))
    assert all(p["total"] == 100 for p in pages)
    listed = {t["number"] for t in pages[0]["items"]}  # type: ignore[attr-defined]
    assert listed == set(numbers)
