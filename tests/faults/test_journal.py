"""The intake journal on its own: liveness by flock, fsynced lines, torn tails, bad files kept aside."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ivr_flows.journal import BadJournal, CallJournal, claim_finished, read_entries
from ivr_flows.replay import replay_journal


def test_a_live_calls_journal_is_never_claimed(tmp_path: Path) -> None:
    j = CallJournal.create(tmp_path, "c1")
    j.append("start_call", channel="Local/x", uniqueid="u1", caller_number="1", dialed_number="12345")
    assert [c.path.name for c in claim_finished(tmp_path)] == []  # locked by its (live) writer
    j.close()
    assert [c.path.name for c in claim_finished(tmp_path)] == ["c1.jsonl"]


def test_an_empty_journal_is_removed_at_the_end_of_a_call_unless_kept(tmp_path: Path) -> None:
    CallJournal.create(tmp_path, "ok").close()
    kept = CallJournal.create(tmp_path, "crashed")
    kept.close(keep=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["crashed.jsonl"]


def test_entries_round_trip_and_a_torn_tail_is_reported(tmp_path: Path) -> None:
    j = CallJournal.create(tmp_path, "c2")
    j.append("add_recording", turn=1, purpose="request", path="/x/01-request.wav")
    j.close()
    with j.path.open("ab") as f:  # a process that died mid-write
        f.write(b'{"op":"finish_rec')
    got = read_entries(j.path)
    assert got.call_id == "c2" and got.torn_tail
    assert [e["op"] for e in got.entries] == ["add_recording"] and got.entries[0]["turn"] == 1


def test_a_write_to_a_closed_journal_is_an_error(tmp_path: Path) -> None:
    j = CallJournal.create(tmp_path, "c3")
    j.close(keep=True)
    with pytest.raises(ValueError, match="closed"):
        j.append("end_call", outcome="operator", reason="x")


def test_bad_line_is_a_bad_journal(tmp_path: Path) -> None:
    path = tmp_path / "c4.jsonl"
    path.write_text('{"op":"start_call"}\nnot json\n', encoding="utf-8")
    with pytest.raises(BadJournal, match="line 2"):
        read_entries(path)
    path.write_text('["a list"]\n', encoding="utf-8")
    with pytest.raises(BadJournal, match="not a journal entry"):
        read_entries(path)


def test_an_unreadable_journal_is_moved_aside_not_dropped(tmp_path: Path, session_factory: object) -> None:
    journal = tmp_path / "journal"
    journal.mkdir()
    (journal / "bad.jsonl").write_text(json.dumps({"op": "teleport"}) + "\n", encoding="utf-8")
    report = replay_journal(session_factory, journal)  # type: ignore[arg-type]
    assert report.rejected == 1 and report.replayed == 0
    assert (journal / "rejected" / "bad.jsonl").exists() and not (journal / "bad.jsonl").exists()


def test_the_journal_file_is_private(tmp_path: Path) -> None:
    j = CallJournal.create(tmp_path, "c5")
    assert os.stat(j.path).st_mode & 0o077 == 0  # caller numbers and transcripts inside
    j.close()


def test_the_watcher_runs_the_replay_only_when_a_finished_journal_waits(tmp_path: Path) -> None:
    import sys

    from ivr_flows.replay import JournalWatcher

    marker = tmp_path / "ran"
    watcher = JournalWatcher(tmp_path, command=[sys.executable, "-c", f"open({str(marker)!r}, 'w').write('x')"],
                             interval_s=60)
    assert not watcher.run_once() and not marker.exists()  # nothing to replay
    live = CallJournal.create(tmp_path, "live")
    assert not watcher.run_once() and not marker.exists()  # a call in progress is not replayed
    live.close(keep=True)
    assert watcher.run_once() and marker.exists()
