"""The whole way of a record: a meeting run through real clients against a real
room-server process, closed by the chair; the room builds and seals the record in the
background, the outbox uploads it to a real archive (nginx with WebDAV PUT over TLS on
127.0.0.1), the chair and clerk see both, and the record verifies offline, here, on the
archive and on an exported stick; any change to it is found and named."""

from __future__ import annotations

import asyncio
import json
import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pymupdf
import pytest

from room_protocol.live import CloseMeeting
from room_protocol.records import RecordProgress, RecordState, RecordUpload, UploadState
from room_server.record import RecordBuilder, record_steps
from room_server.record.seal import MANIFEST, SIGNATURE
from room_server.record.verify import verify_record
from room_server.signing import ensure_signing_key
from tests.archive import NginxArchive, files_of
from tests.live_clients import Tablet
from tests.rooms import RunningRoom, room_cli, running_room, timeout
from tests.scripted_meeting import CONTENTS, MEETING, run_meeting, signed_in

ROOM = "room-pipeline"


@dataclass
class Closed:
    room: RunningRoom
    archive: NginxArchive
    record: Path
    chair: list[RecordProgress | RecordUpload]
    clerk: list[RecordProgress | RecordUpload]
    delegate: list[RecordProgress | RecordUpload]


def _record_messages(t: Tablet) -> list[RecordProgress | RecordUpload]:
    return [m for m in t.received if isinstance(m, RecordProgress | RecordUpload)]


def _uploaded(t: Tablet) -> bool:
    return any(isinstance(m, RecordUpload) and m.state is UploadState.UPLOADED for m in t.received)


async def _close(room: RunningRoom) -> tuple[list[RecordProgress | RecordUpload], ...]:
    await run_meeting(room)
    chair, clerk, d1 = [await signed_in(room, who) for who in ("chair", "clerk", "d1")]
    try:
        await chair.ok(CloseMeeting(chair.op()))
        for presiding in (chair, clerk):
            await presiding.next_of(RecordUpload, 0, lambda m: m.state is UploadState.UPLOADED)
        # A chair signing in later sees where the record is: sealed, and in the archive.
        late = await signed_in(room, "chair")
        await late.next_of(RecordUpload, 0, lambda m: m.state is UploadState.UPLOADED)
        await late.stop()
        return tuple(_record_messages(t) for t in (chair, clerk, d1))
    finally:
        await asyncio.gather(*(t.stop() for t in (chair, clerk, d1)))


@pytest.fixture(scope="module")
def closed(tmp_path_factory: pytest.TempPathFactory, voting_package_dir: Path) -> Iterator[Closed]:
    base = tmp_path_factory.mktemp("pipeline")
    archive = NginxArchive(base / "archive").start()
    try:
        with running_room(
            base / "room",
            package=voting_package_dir,
            mdns=False,
            room_id=ROOM,
            extra=archive.config_table(),
        ) as room:
            chair, clerk, delegate = asyncio.run(_close(room))
            yield Closed(
                room,
                archive,
                room.state_dir / "records" / MEETING,
                chair,
                clerk,
                delegate,
            )
    finally:
        archive.stop()


def test_the_chair_and_clerk_see_the_build_then_the_upload(closed: Closed) -> None:
    for seen in (closed.chair, closed.clerk):
        builds = [m for m in seen if isinstance(m, RecordProgress)]
        assert builds[0].state is RecordState.BUILDING
        assert builds[-1].state is RecordState.SEALED
        stages = [m.stage for m in builds if m.state is RecordState.BUILDING]
        assert sorted(set(stages), key=stages.index) == ["contents", "annotations", "audit", "seal"]
        uploads = [m for m in seen if isinstance(m, RecordUpload)]
        assert uploads[-1].state is UploadState.UPLOADED
        assert uploads[-1].files_done == uploads[-1].files_total > 10
        assert uploads[-1].bytes_done == uploads[-1].bytes_total
        assert all(m.meeting_id == MEETING for m in seen)
    assert closed.delegate == []  # the chair's and clerks' business only


def test_the_sealed_record_holds_the_meeting_and_verifies(closed: Closed) -> None:
    assert [str(p) for p in verify_record(closed.record)] == []
    names = set(files_of(closed.record))
    assert (
        CONTENTS
        | {
            "audit/log.jsonl",
            "audit/heads.jsonl",
            "audit/room-signing.pub",
            MANIFEST,
            SIGNATURE,
        }
        <= names
    ), sorted(names)
    # each delegate's annotations: JSON, and an annotated copy with real PDF annotations
    assert {"annotations/d1.json", "annotations/d2.json"} <= names
    notes = json.loads((closed.record / "annotations" / "d1.json").read_text())
    assert "Hỏi về dòng ngân sách 4" in json.dumps(notes, ensure_ascii=False)
    kinds = {}
    for member in ("d1", "d2"):
        [copy] = [n for n in names if n.startswith(f"annotations/{member}/")]
        with pymupdf.open(closed.record / copy) as pdf:
            kinds[member] = sorted(a.type[1] for page in pdf for a in page.annots())
    assert kinds == {"d1": ["Ink", "Text"], "d2": ["Highlight"]}
    polls = {p["id"]: p for p in json.loads((closed.record / "polls.json").read_text())["polls"]}
    assert set(polls) >= {"p-budget", "p-secret"}
    # the audit segment ends at the close, under a head the room signed then
    log = (closed.record / "audit" / "log.jsonl").read_text().splitlines()
    assert json.loads(log[-1])["kind"] == "meeting.closed"
    result = room_cli(closed.room.config, "record", "verify", str(closed.record))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_archive_holds_the_record_byte_for_byte(closed: Closed) -> None:
    stored = closed.archive.stored("records", ROOM)
    assert stored == {f"{MEETING}/{p}": b for p, b in files_of(closed.record).items()}
    assert not closed.archive.uploads_in_flight()
    status = room_cli(closed.room.config, "record", "status")
    assert status.returncode == 0 and "uploaded" in status.stdout, status.stdout


def test_an_exported_stick_verifies(closed: Closed, tmp_path: Path) -> None:
    stick = tmp_path / "stick"
    stick.mkdir()
    result = room_cli(closed.room.config, "record", "export", MEETING, str(stick))
    assert result.returncode == 0, result.stdout + result.stderr
    assert files_of(stick / MEETING) == files_of(closed.record)
    assert [str(p) for p in verify_record(stick / MEETING)] == []


def test_every_change_to_the_record_is_found_and_named(closed: Closed, tmp_path: Path) -> None:
    names = sorted(files_of(closed.record))
    for name in names:
        if name == SIGNATURE:
            continue
        copy = tmp_path / name.replace("/", "_")
        shutil.copytree(closed.record, copy)
        data = bytearray((copy / name).read_bytes())
        data[len(data) // 2] ^= 0x01
        (copy / name).write_bytes(bytes(data))
        problems = " ".join(map(str, verify_record(copy)))
        assert problems, f"a flipped byte in {name} went unnoticed"
        assert name in problems or (name == MANIFEST and "signature" in problems), problems
        shutil.rmtree(copy)
    removed = tmp_path / "removed"
    shutil.copytree(closed.record, removed)
    (removed / "minutes-vi.pdf").unlink()
    assert "minutes-vi.pdf" in " ".join(map(str, verify_record(removed)))
    edited = tmp_path / "edited"
    shutil.copytree(closed.record, edited)
    manifest = json.loads((edited / MANIFEST).read_text())
    manifest["meeting_id"] = "another-meeting"
    (edited / MANIFEST).write_text(json.dumps(manifest))
    assert "signature" in " ".join(map(str, verify_record(edited))).lower()


def test_building_again_from_the_same_database_gives_the_same_bytes(
    closed: Closed, tmp_path: Path
) -> None:
    """The whole record, signature included: a copy of the room's state (the database by
    SQLite's backup API, the documents, the keys) built again gives the same files."""
    state = closed.room.state_dir
    copy = tmp_path / "state"
    shutil.copytree(state / "documents", copy / "documents")
    shutil.copytree(state / "keys", copy / "keys")
    with (
        sqlite3.connect(state / "room.sqlite3") as source,
        sqlite3.connect(copy / "room.sqlite3") as target,
    ):
        source.backup(target)
    report: list[RecordProgress] = []
    builder = RecordBuilder(
        copy / "room.sqlite3",
        copy,
        report.append,
        steps=record_steps(ensure_signing_key(copy / "keys"), ROOM),
    )
    try:
        assert builder.build(MEETING).result(timeout(120)) is True
    finally:
        builder.stop()
    assert report[-1].state is RecordState.SEALED
    assert files_of(copy / "records" / MEETING) == files_of(closed.record)
