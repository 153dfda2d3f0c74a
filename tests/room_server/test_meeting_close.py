"""Closing the meeting against a real room-server process, real TLS tablets and the real
SQLite file: the confirmation of what is open, the close itself, the refusals after it,
its audit entry and signed head, and the record built after it (also across a SIGKILL)."""

from __future__ import annotations

import json
import shutil
import signal
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from room_protocol.live import (
    Announce,
    CloseBlocked,
    CloseMeeting,
    FloorState,
    GrantFloor,
    RequestFloor,
    RequestService,
    ServiceKind,
    Step,
    StepItem,
)
from room_protocol.records import RecordProgress, RecordState
from room_protocol.voting import CheckIn, ClosePoll, OpenPoll
from room_server.record.verify import verify_record
from tests.live_clients import Tablet, until
from tests.rooms import RunningRoom, running_room, start_room, timeout

PINS = {"chair": "1111", "clerk": "3333", "d1": "2222", "d2": "4444", "d3": "6666"}
SEATS = {"chair": "A1", "d1": "A2", "d2": "A3", "d3": "A4"}
MEETING = "council-test"
# The room's own entries (a device enrolled) are not the meeting's.
MEETING_ENTRIES = "SELECT count(*) FROM audit_log WHERE kind NOT LIKE 'device%'"


@pytest.fixture
async def room(tmp_path: Path, voting_package_dir: Path) -> AsyncIterator[RunningRoom]:
    with running_room(tmp_path / "room", package=voting_package_dir, mdns=False) as running:
        yield running


async def tablet(room: RunningRoom, who: str | None, seat: str | None = None) -> Tablet:
    t = await Tablet(room, f"tab-{who or seat}", seat or SEATS.get(who or "")).start()
    if who is not None:
        await t.sign_in(who, PINS[who])
    return t


def db(room: RunningRoom) -> sqlite3.Connection:
    conn = sqlite3.connect(f"file:{room.state_dir / 'room.sqlite3'}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    return conn


def scalar(room: RunningRoom, sql: str, *params: Any) -> Any:
    conn = db(room)
    try:
        return conn.execute(sql, params).fetchone()[0]
    finally:
        conn.close()


def closed(t: Tablet) -> bool:
    return bool(t.meetings) and t.meetings[-1] is not None and t.meeting.closed_at is not None


async def speaker_and_queue(chair: Tablet, d1: Tablet, d2: Tablet) -> None:
    await d1.ok(RequestFloor(d1.op()))
    await chair.ok(GrantFloor(chair.op(), "d1"))
    await d2.ok(RequestFloor(d2.op()))


async def test_close_is_refused_with_the_list_of_what_is_open(room: RunningRoom) -> None:
    chair, d1, d2 = [await tablet(room, w) for w in ("chair", "d1", "d2")]
    try:
        await speaker_and_queue(chair, d1, d2)
        await d2.ok(RequestService(d2.op(), ServiceKind.WATER))
        revision = chair.meeting.revision
        op = chair.op()
        await chair.refused(CloseMeeting(op), "still_open", "has the floor")
        blocked = [m for m in chair.of_type(CloseBlocked) if m.ref == op]
        assert len(blocked) == 1
        assert blocked[0].speaker == "Nguyễn Văn An"
        assert (blocked[0].queue, blocked[0].service_calls, blocked[0].polls) == (1, 1, ())
        assert blocked[0].forcible
        assert scalar(room, "SELECT closed_at FROM meetings WHERE id = ?", MEETING) is None
        assert chair.meeting.closed_at is None and chair.meeting.revision == revision
        assert not scalar(room, "SELECT count(*) FROM audit_log WHERE kind = 'meeting.closed'")
    finally:
        for t in (chair, d1, d2):
            await t.stop()


async def test_an_open_poll_blocks_even_a_forced_close(room: RunningRoom) -> None:
    chair = await tablet(room, "chair")
    try:
        await chair.ok(OpenPoll(chair.op(), "p-budget", override_quorum=True))
        op = chair.op()
        await chair.refused(CloseMeeting(op, force=True), "still_open", "close the poll first")
        (blocked,) = [m for m in chair.of_type(CloseBlocked) if m.ref == op]
        assert blocked.polls == ("Adopt the budget 2027",) and not blocked.forcible
        assert scalar(room, "SELECT closed_at FROM meetings WHERE id = ?", MEETING) is None
        await chair.ok(ClosePoll(chair.op(), "p-budget"))
        await chair.ok(CloseMeeting(chair.op()))
        await until(lambda: closed(chair))
    finally:
        await chair.stop()


async def test_a_forced_close_ends_the_speech_and_every_change_after_it_is_refused(
    room: RunningRoom,
) -> None:
    chair, clerk, d1, d2 = [await tablet(room, w) for w in ("chair", "clerk", "d1", "d2")]
    observer = await tablet(room, None, "A4")
    everyone = (chair, clerk, d1, d2, observer)
    try:
        await speaker_and_queue(chair, d1, d2)
        await chair.refused(CloseMeeting(chair.op()), "still_open")
        await chair.ok(CloseMeeting(chair.op(), force=True))
        for t in everyone:
            await until(lambda t=t: closed(t))  # type: ignore[misc]
        closed_at = chair.meeting.closed_at
        assert closed_at and all(t.meeting.closed_at == closed_at for t in everyone)
        await until(
            lambda: (s := d2.of_type(FloorState)) and not s[-1].queue and s[-1].speaking is None
        )
        conn = db(room)
        try:
            speech = conn.execute("SELECT ended_at, duration_seconds FROM speeches").fetchone()
            assert speech["ended_at"] is not None and speech["duration_seconds"] >= 0
            entry = conn.execute(
                "SELECT seq, actor, data FROM audit_log WHERE kind = 'meeting.closed'"
            ).fetchone()
            data = json.loads(entry["data"])
            assert entry["actor"] == "chair" and data["forced"] is True
            assert data["speech_ended"]["delegate"] == "d1" and data["queue_released"] == ["d2"]
            head = conn.execute(
                "SELECT seq FROM audit_heads WHERE reason = ?", (f"meeting.closed {MEETING}",)
            ).fetchone()
            assert head is not None and head["seq"] >= entry["seq"]
            # Answered requests of the closed meeting are forgotten, but the close's own.
            kinds = {
                r[0]
                for r in conn.execute(
                    "SELECT kind FROM operations WHERE meeting_id = ?", (MEETING,)
                )
            }
            assert kinds == {"meeting.close"}
            revision = chair.meeting.revision
            entries = conn.execute(MEETING_ENTRIES).fetchone()[0]
            events = conn.execute("SELECT count(*) FROM attendance_events").fetchone()[0]
        finally:
            conn.close()
        verify = room.cli("audit", "verify")
        assert verify.returncode == 0, verify.stdout + verify.stderr

        # After the close: every change is refused and changes nothing.
        await chair.refused(StepItem(chair.op(), Step.NEXT), "meeting_closed", "closed at")
        await chair.refused(Announce(chair.op(), "one more thing"), "meeting_closed")
        await chair.refused(
            OpenPoll(chair.op(), "p-secret", override_quorum=True), "meeting_closed"
        )
        await chair.refused(CloseMeeting(chair.op(), force=True), "meeting_closed")
        await clerk.refused(CheckIn(clerk.op(), "d3", True), "meeting_closed")
        await d1.refused(RequestFloor(d1.op()), "meeting_closed")
        await d2.refused(RequestService(d2.op(), ServiceKind.WATER), "meeting_closed")
        # Signing in still works (to read the documents), and checks nobody in.
        d3 = await tablet(room, "d3")
        await d3.stop()
        assert chair.meeting.revision == revision
        assert scalar(room, MEETING_ENTRIES) == entries
        assert scalar(room, "SELECT count(*) FROM attendance_events") == events
        status = room.cli("status")
        assert status.returncode == 0 and "closed" in status.stdout, status.stdout
    finally:
        for t in everyone:
            await t.stop()


async def test_the_record_is_built_with_progress_to_the_chair_and_clerks(
    room: RunningRoom,
) -> None:
    chair, clerk, d1 = [await tablet(room, w) for w in ("chair", "clerk", "d1")]
    try:
        await chair.ok(CloseMeeting(chair.op()))
        for presiding in (chair, clerk):
            await presiding.next_of(RecordProgress, 0, lambda m: m.state is RecordState.SEALED)
            progress = presiding.of_type(RecordProgress)
            assert progress[0].state is RecordState.BUILDING
            assert all(p.meeting_id == MEETING for p in progress)
        assert not d1.of_type(RecordProgress)  # the chair's and clerks' business
        record = room.state_dir / "records" / MEETING
        meeting = json.loads((record / "meeting.json").read_text(encoding="utf-8"))
        assert meeting["meeting"]["id"] == MEETING
        assert meeting["meeting"]["closed_at"] == chair.meeting.closed_at
        assert [str(p) for p in verify_record(record)] == []  # sealed, and it holds
        assert [i["id"] for i in meeting["agenda"]] == ["opening", "budget"]
        assert not list((room.state_dir / "records").glob(".building-*"))
        # A chair who signs in later sees where the record is.
        await chair.stop()
        again = await tablet(room, "chair")
        await again.next_of(RecordProgress, 0, lambda m: m.state is RecordState.SEALED)
        await again.stop()
    finally:
        for t in (chair, clerk, d1):
            await t.stop()


async def test_a_build_cut_by_sigkill_is_done_again_at_the_next_start(
    tmp_path: Path, voting_package_dir: Path
) -> None:
    room = start_room(tmp_path / "room", package=voting_package_dir, mdns=False)
    try:
        chair = await tablet(room, "chair")
        await chair.ok(CloseMeeting(chair.op()))
        room.process.send_signal(signal.SIGKILL)
        room.process.wait(timeout(10))
        await chair.stop()
        # What a kill in the middle of the build leaves: the meeting closed in the
        # database, a half-written folder, no record. (If the build won the race with
        # the kill, put the disk back in that state.)
        records = room.state_dir / "records"
        shutil.rmtree(records / MEETING, ignore_errors=True)
        half = records / f".building-{MEETING}"
        half.mkdir(parents=True, exist_ok=True)
        (half / "meeting.json").write_text('{"meeting_id": "cut sh', encoding="utf-8")
        (half / "stale.tmp").write_bytes(b"\0" * 100)
    finally:
        if room.process.poll() is None:
            room.process.kill()
            room.process.wait()
    with running_room(tmp_path / "room", mdns=False) as again:
        record = again.state_dir / "records" / MEETING
        await until(lambda: (record / "meeting.json").is_file(), seconds=30)
        assert not (record / "stale.tmp").exists()
        assert json.loads((record / "meeting.json").read_text())["meeting"]["id"] == MEETING
        assert [str(p) for p in verify_record(record)] == []
        assert not half.exists()
