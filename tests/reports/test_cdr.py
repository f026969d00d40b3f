"""The CDR importer on lines in cdr_csv's format (copied from a real Asterisk 16 run of this stack)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from foundation.db import transaction
from reports.cdr import count_calls, import_file
from reports.models import CallRecord

# Call 1: the bot took it, then operator op1 (the ivr leg is bridged: dstchannel set).
# Call 2: handed to the queue (userfield operator), the caller hung up before anyone answered.
ANSWERED = (
    '"","13800000001","op1","sim-answer",""""" <13800000001>","Local/op1@sim-answer-00000001;2","","Hangup","",'
    '"2026-11-22 06:00:08","2026-11-22 06:00:08","2026-11-22 06:00:10",2,2,"ANSWERED","DOCUMENTATION",'
    '"1795327208.3","","","00ab4ddf",3\n'
    '"","13800000001","operator","ivr",""""" <13800000001>","Local/s@citizen-00000000;1",'
    '"Local/op1@sim-answer-00000001;1","Queue","operators,r,,,20","2026-11-22 05:59:27","2026-11-22 05:59:27",'
    '"2026-11-22 06:00:10",42,42,"ANSWERED","DOCUMENTATION","00ab4ddf","operator","","00ab4ddf",0\n'
    '"","13800000001","s","citizen",""""" <13800000001>","Local/s@citizen-00000000;2","","Playback","/x/silence",'
    '"2026-11-22 05:59:27","2026-11-22 05:59:27","2026-11-22 06:00:10",42,42,"ANSWERED","DOCUMENTATION",'
    '"00ab4ddf;2","","","00ab4ddf",1\n'
)
ABANDONED = (
    '"","13800000002","operator","ivr",""""" <13800000002>","Local/s@citizen-00000002;1","","Queue",'
    '"operators,r,,,20","2026-11-22 06:00:10","2026-11-22 06:00:10","2026-11-22 06:00:35",24,24,"ANSWERED",'
    '"DOCUMENTATION","53882d31","operator","","53882d31",4\n'
)
BOT_ONLY = (
    '"","13800000003","12345","ivr",""""" <13800000003>","PJSIP/trunk-00000009","","Hangup","",'
    '"2026-11-22 07:00:00","2026-11-22 07:00:00","2026-11-22 07:01:00",60,60,"ANSWERED","DOCUMENTATION",'
    '"1795330000.9","intake","","1795330000.9",9\n'
)
DAY = (datetime(2026, 11, 22, tzinfo=UTC), datetime(2026, 11, 23, tzinfo=UTC))


def _count(factory: sessionmaker[Session]) -> int:
    with factory() as s:
        return s.scalar(select(func.count()).select_from(CallRecord)) or 0


def test_import_is_idempotent_and_classifies_calls(tmp_path: Path, session_factory: sessionmaker[Session]) -> None:
    f = tmp_path / "Master.csv"
    f.write_text(ANSWERED + ABANDONED, encoding="utf-8")
    with transaction(session_factory) as s:
        r = import_file(s, path=f)
    assert (r.lines, r.inserted, r.duplicates, r.rejected) == (4, 4, 0, [])
    with transaction(session_factory) as s:
        assert import_file(s, path=f).lines == 0  # the cursor: nothing new
    with session_factory() as s:
        rec = s.scalars(select(CallRecord).where(CallRecord.dcontext == "ivr", CallRecord.linkedid == "00ab4ddf")).one()
        assert rec.start == datetime(2026, 11, 22, 5, 59, 27, tzinfo=UTC) and rec.billsec == 42
        assert rec.userfield == "operator" and rec.dstchannel.startswith("Local/op1")
        c = count_calls(s, start=DAY[0], end=DAY[1])
    assert (c.offered, c.answered, c.by_person, c.abandoned) == (2, 1, 1, 1)
    with f.open("a", encoding="utf-8") as out:
        out.write(BOT_ONLY)
    with transaction(session_factory) as s:
        assert import_file(s, path=f).inserted == 1
        c = count_calls(s, start=DAY[0], end=DAY[1])
    assert (c.offered, c.answered, c.by_bot) == (3, 2, 1)


def test_a_line_being_written_waits_and_a_rotated_file_is_reread_without_duplicates(
        tmp_path: Path, session_factory: sessionmaker[Session]) -> None:
    f = tmp_path / "Master.csv"
    f.write_text(ANSWERED + ABANDONED[:40], encoding="utf-8")  # Asterisk is mid-line
    with transaction(session_factory) as s:
        assert import_file(s, path=f).inserted == 3
    f.write_text(ANSWERED + ABANDONED, encoding="utf-8")
    with transaction(session_factory) as s:
        assert import_file(s, path=f).inserted == 1
    f.write_text(ABANDONED, encoding="utf-8")  # rotated: shorter than the cursor
    with transaction(session_factory) as s:
        r = import_file(s, path=f)
    assert (r.inserted, r.duplicates) == (0, 1) and _count(session_factory) == 4


def test_bad_lines_are_rejected_with_their_offset_and_the_rest_imported(
        tmp_path: Path, session_factory: sessionmaker[Session]) -> None:
    f = tmp_path / "Master.csv"
    bad = '"only","three","columns"\n'
    f.write_text(bad + BOT_ONLY.replace("2026-11-22 07:00:00", "yesterday", 1) + ABANDONED, encoding="utf-8")
    with transaction(session_factory) as s:
        r = import_file(s, path=f)
    assert r.inserted == 1 and [off for off, _ in r.rejected] == [0, len(bad)]
    assert "expected 21 columns" in r.rejected[0][1] and "bad time" in r.rejected[1][1]


def test_a_missing_file_imports_nothing(tmp_path: Path, session_factory: sessionmaker[Session]) -> None:
    with transaction(session_factory) as s:
        assert import_file(s, path=tmp_path / "none.csv").lines == 0
