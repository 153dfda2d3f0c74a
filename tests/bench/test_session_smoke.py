"""The session bench at a tiny scale, so it keeps working: a whole meeting with N = 6
tablets in two load-generator processes, short phases, the record sealed and uploaded
to a local nginx archive."""

from __future__ import annotations

import asyncio
import math
import time
from pathlib import Path

from bench.session import (
    SECTION_BEGIN,
    SECTION_END,
    Errors,
    Kinds,
    Meeting,
    Settings,
    kinds_table,
    ok,
    run,
    section,
    write_doc,
)
from tests.archive import nginx_or_skip
from tests.rooms import timeout

PHASES = [
    "sign-in",
    "idle",
    "agenda",
    "speakers",
    "annotations",
    "poll 1",
    "poll 2 (secret)",
    "poll 3",
    "late document",
    "close",
]


def test_a_whole_meeting_runs_without_an_error_and_its_record_reaches_the_archive(
    tmp_path: Path,
) -> None:
    nginx_or_skip()
    settings = Settings(
        tablets=6,
        interval=0.05,
        idle_moves=4,
        agenda_gap=0.2,
        speakers=3,
        speak_spread=1.0,
        grants=1,
        annotators=0.5,
        ops_per_second=2.0,
        annotate_seconds=1.0,
        spread=0.3,
        answer_seconds=20,
        fetchers=0.5,
        late_pages=3,
        late_bytes=50_000,
        settle=3.0,
        rss_every=0.2,
        pause=0.3,
        per_worker=3,
        pin=False,
        max_seconds=120,
        workdir=tmp_path / "bench",
    )
    started = time.monotonic()
    meeting, facts = asyncio.run(run(settings))
    assert time.monotonic() - started < timeout(60)
    assert facts["workers"] == 2
    assert [p.name for p in meeting.phases] == PHASES
    assert meeting.errors.counts == {}, meeting.errors.samples
    kinds = meeting.kinds.latencies
    assert len(kinds["session.sign_in → ack"]) == 6
    assert len(kinds["poll.cast → poll.recorded"]) == 3 * 6
    assert len(kinds["floor.request → ack"]) == 3
    assert len(kinds["agenda move → chair's ack"]) == 4
    assert len(kinds["late document → meeting.state"]) == 6  # every tablet was told
    assert len(kinds["late document fetched whole"]) == 3  # half of them fetched it
    sign_in = next(p for p in meeting.phases if p.name == "sign-in")
    # ... on the documents connection they opened at sign-in and kept, as a tablet does
    assert any(n.startswith("3 of them (the late document's fetchers)") for n in sign_in.notes)
    assert meeting.fetch["opened"] == 0
    assert kinds["annotation stroke drawn → kept (pace included)"]
    assert kinds["annotation.batch → kept"]
    for name in ("idle", "agenda", "speakers", "annotations", "poll 1", "late document"):
        phase = next(p for p in meeting.phases if p.name == name)
        assert phase.follow.moves > 0 and phase.follow.missed == 0, name
        assert len(phase.follow.latencies_ms) == 6 * phase.follow.moves, name
        assert phase.rss_peak_mb > 0 and phase.seconds > 0, name
    # The late document's notice is timed from its commit: after it, never before.
    assert all(0 < x < timeout(5_000) for x in kinds["late document → meeting.state"])
    record = meeting.record
    assert record.files > 10 and record.archive_files == record.files
    assert record.archive_bytes == record.bytes > 0
    assert 0 < record.sealed_s < record.uploaded_s and not math.isnan(record.upload_s)
    checks = facts["database"]
    assert all(checks[name]["exact"] for name in ("poll 1", "poll 2 (secret)", "poll 3"))
    assert checks["annotations"]["exact"] and checks["annotations"]["acked"] > 0
    assert ok(meeting, facts)
    text = section(meeting, facts, "python -m bench.session --tablets 6")
    assert "Errors: **0**" in text and "| poll 2 (secret) |" in text
    doc = tmp_path / "performance.md"
    doc.write_text("# Performance\n\n## Vote burst\n\nkept\n")
    write_doc(doc, text)
    assert "## A whole meeting (session bench)" in doc.read_text()
    write_doc(doc, f"{SECTION_BEGIN}\nrun two\n{SECTION_END}")
    assert "run two" in doc.read_text() and "| poll 3 |" not in doc.read_text()
    assert "kept" in doc.read_text()


def test_a_target_missed_or_an_error_is_said(tmp_path: Path) -> None:
    meeting = Meeting.__new__(Meeting)
    meeting.kinds = Kinds()
    meeting.kinds.add("follow.state", [5.0] * 98 + [150.0, 180.0])
    meeting.kinds.add("poll.cast → poll.recorded", [20.0, 30.0])
    table = kinds_table(meeting)
    assert "| follow.state | 100 | 5.0 | 150.0 | 180.0 | < 100 ms: **NOT met** (+50 ms) |" in table
    assert "< 500 ms: **met**" in table
    errors = Errors()
    errors.add("ballots refused", 0)
    assert errors.counts == {} and errors.total == 0
    errors.add("ballots refused", 2, ["m0001: closed"])
    errors.add("tablet connections lost", 1)
    assert errors.total == 3 and errors.samples == ["ballots refused: m0001: closed"]
