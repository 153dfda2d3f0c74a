"""Annotations against a real room-server process: real TLS tablets carrying a real
AnnotationBook (its own SQLite file) and AnnotationSync, the room's real SQLite file, a
SIGKILL of the server mid-stream, and the sealed record's annotated PDFs."""

from __future__ import annotations

import json
import signal
import socket
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pymupdf
import pytest

from room_client.annotations import AnnotationBook, AnnotationSync
from room_client.connection import Backoff
from room_protocol.annotations import (
    MAX_OPS_PER_MESSAGE,
    Annotation,
    AnnotationBatch,
    AnnotationKind,
    AnnotationOp,
    AnnotationOps,
    AnnotationPace,
    AnnotationPatch,
    AnnotationsKept,
    BatchedOp,
    SharedAnnotations,
    Visibility,
)
from room_protocol.codec import encode
from room_protocol.errors import ErrorCode
from room_protocol.live import CloseMeeting, SetFollow
from room_protocol.messages import ErrorMessage, Message
from room_protocol.records import RecordProgress, RecordState
from room_server.record.annotations import folded_annotations, write_annotations
from room_server.record.verify import verify_record
from tests.live_clients import Tablet, until
from tests.rooms import (
    RunningRoom,
    room_cli,
    running_room,
    start_room,
    timeout,
    write_config,
    write_package,
)

PINS = {"chair": "1111", "clerk": "3333", "d1": "2222", "d2": "4444", "d3": "6666"}
SEATS = {"chair": "A1", "d1": "A2", "d2": "A3", "d3": "A4"}
MEETING = "council-test"
RED, BLUE = "#d62828", "#1d4ed8"
# Many operations at once: the room's request rate is not what these tests are about.
PRESENTER = AnnotationPatch(kind=AnnotationKind.INK, visibility=Visibility.PRESENTER)
FAST = {"requests_per_second": 1000, "request_burst": 1000}


class Annotator:
    """A tablet as the real tablet process runs it: a RoomConnection, the tablet's own
    annotations file and the sync between them; every message the room sent it is kept
    (``frames``: answers included)."""

    def __init__(
        self,
        room: RunningRoom,
        device_id: str,
        seat: str | None,
        directory: Path,
        *,
        display: bool = False,
    ) -> None:
        if display:  # the room display: enrolled as one before the Tablet finds it
            room.device(device_id, display=True)
        self.tablet = Tablet(room, device_id, seat)
        connection = self.tablet.connection
        self.book = AnnotationBook(directory / f"{device_id}.sqlite3", connection.client_id)
        self.sync = AnnotationSync(self.book, connection.request)
        self.frames: list[Message] = []
        received = connection._receive

        def spy(message: Message) -> None:
            self.frames.append(message)
            received(message)

        def news(message: Message) -> None:
            self.tablet.received.append(message)
            self.sync.receive(message)

        connection._receive = spy  # type: ignore[method-assign]
        connection.on_message = news

    async def start(self, who: str | None = None) -> Annotator:
        await self.tablet.start()
        if who is not None:
            await self.tablet.sign_in(who, PINS[who])
            await until(lambda: self.sync.author == who)
        return self

    async def stop(self) -> None:
        await self.sync.stop()
        await self.tablet.stop()
        self.book.close()

    def draw(
        self,
        author: str,
        sha: str,
        page: int = 0,
        *,
        text: str = "",
        visibility: Visibility = Visibility.PRIVATE,
        kind: AnnotationKind = AnnotationKind.INK,
        geometry: tuple[float, ...] = (10.0, 20.0, 30.0, 40.0),
    ) -> Annotation:
        made = self.book.draw(
            author, sha, page, kind, geometry, colour=RED, text=text, visibility=visibility
        )
        self.sync.flush()
        return made

    def change(self, author: str, annotation_id: str, patch: AnnotationPatch) -> Annotation:
        made = self.book.change(author, annotation_id, patch)
        self.sync.flush()
        return made

    async def synced(self) -> None:
        await until(lambda: self.book.pending_count() == 0, seconds=30)

    def wire(self) -> str:
        return "\n".join(encode(m) for m in self.frames)


def db(room: RunningRoom) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{room.state_dir / 'room.sqlite3'}?mode=ro", uri=True)


def scalar(room: RunningRoom, sql: str, *params: Any) -> Any:
    conn = db(room)
    try:
        return conn.execute(sql, params).fetchone()[0]
    finally:
        conn.close()


def room_set(room: RunningRoom, author: str) -> list[Annotation]:
    """The member's annotations as the room's log folds (what the record will hold),
    checked against the room's own state table, which must say the same."""
    conn = db(room)
    try:
        folded = folded_annotations(conn, MEETING).get(author, [])
        rows = conn.execute(
            "SELECT annotation_id, stamp, visibility FROM annotations "
            "WHERE meeting_id = ? AND author_id = ? AND NOT deleted",
            (MEETING, author),
        ).fetchall()
    finally:
        conn.close()
    assert sorted(rows) == sorted((a.annotation_id, a.stamp, a.visibility.value) for a in folded)
    return sorted(folded, key=lambda a: a.annotation_id)


def book_set(book: AnnotationBook, author: str) -> list[Annotation]:
    return sorted(book.annotations(author), key=lambda a: a.annotation_id)


def has(book: AnnotationBook, author: str, annotation_id: str) -> bool:
    return any(a.annotation_id == annotation_id for a in book.annotations(author))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def room(tmp_path: Path, voting_package_dir: Path) -> AsyncIterator[RunningRoom]:
    with running_room(tmp_path / "room", package=voting_package_dir, mdns=False, limits=FAST) as r:
        yield r


async def annotator(
    room: RunningRoom, tmp_path: Path, who: str | None, device: str | None = None
) -> Annotator:
    device = device or f"tab-{who}"
    return await Annotator(room, device, SEATS.get(who or ""), tmp_path / "books").start(who)


def shas(t: Tablet) -> dict[str, str]:
    return {d.filename.removesuffix(".pdf"): d.sha256 for d in t.meeting.documents}


# --- never lost, never doubled ----------------------------------------------------------


async def test_a_resent_operation_is_applied_once(room: RunningRoom, tmp_path: Path) -> None:
    d1 = await annotator(room, tmp_path, "d1")
    try:
        sha = shas(d1.tablet)["budget"]
        op = AnnotationOp(
            d1.tablet.op(),
            "a-dup",
            sha,
            1,
            1 << 12,
            AnnotationPatch(kind=AnnotationKind.NOTE, geometry=(5.0, 5.0), text="once"),
        )
        await d1.tablet.ok(op)
        await d1.tablet.ok(op)  # answered from the record of answers
        # The record of answers is pruned when another meeting becomes current; the log's
        # own (device, op_id) key still keeps the operation once.
        with sqlite3.connect(room.state_dir / "room.sqlite3") as conn:
            conn.execute("DELETE FROM operations WHERE op_id = ?", (op.op_id,))
        await d1.tablet.ok(op)
        assert scalar(room, "SELECT count(*) FROM annotation_ops") == 1
        assert scalar(room, "SELECT ops FROM annotation_totals WHERE author_id = 'd1'") == 1
        assert [a.text for a in room_set(room, "d1")] == ["once"]
        # Not copied into the audit chain: the op log is its own table.
        assert not scalar(room, "SELECT count(*) FROM audit_log WHERE kind LIKE 'annotation%'")
    finally:
        await d1.stop()


async def test_edits_made_offline_are_sent_once_signed_in(
    room: RunningRoom, tmp_path: Path
) -> None:
    # The tablet's file has edits from before the room was reachable.
    probe = await Tablet(room, "probe").start()
    sha = shas(probe)["agenda"]
    await probe.stop()
    offline = AnnotationBook(tmp_path / "books" / "tab-d1.sqlite3", "tab-d1")
    first = offline.draw("d1", sha, 0, AnnotationKind.INK, (1, 2, 3, 4), colour=RED)
    offline.draw("d1", sha, 1, AnnotationKind.NOTE, (50, 60), colour=BLUE, text="Hỏi lại")
    offline.change("d1", first.annotation_id, AnnotationPatch(colour=BLUE))
    assert offline.pending_count() == 3
    offline.close()
    d1 = await annotator(room, tmp_path, "d1")
    try:
        await d1.synced()
        assert scalar(room, "SELECT count(*) FROM annotation_ops") == 3
        assert room_set(room, "d1") == book_set(d1.book, "d1")
        assert {a.text for a in room_set(room, "d1")} == {"", "Hỏi lại"}
    finally:
        await d1.stop()


async def test_two_tablets_of_one_delegate_merge_without_loss(
    room: RunningRoom, tmp_path: Path
) -> None:
    a = await annotator(room, tmp_path, "d2", "tab-d2-a")
    sha = shas(a.tablet)["budget"]
    b = await Annotator(room, "tab-d2-b", None, tmp_path / "books").start()
    try:
        one = a.draw("d2", sha, 0, text="from A")
        a.draw("d2", sha, 2, kind=AnnotationKind.NOTE, geometry=(9, 9), text="A's note")
        await a.synced()
        # B made edits offline before it reached the room: they wait in its file.
        b.book.draw("d2", sha, 3, AnnotationKind.INK, (7, 7, 8, 8), colour=BLUE)
        await b.tablet.sign_in("d2", PINS["d2"])  # A is signed out by this
        await until(lambda: has(b.book, "d2", one.annotation_id))
        await b.synced()
        # B changes A's stroke; A, signed out meanwhile, changes it too (offline).
        b.change("d2", one.annotation_id, AnnotationPatch(colour=BLUE))
        await b.synced()
        await until(lambda: a.sync.author is None)
        a.book.change("d2", one.annotation_id, AnnotationPatch(width=5.0))
        await a.tablet.sign_in("d2", PINS["d2"])
        await a.synced()
        await b.tablet.sign_in("d2", PINS["d2"])
        await until(lambda: book_set(b.book, "d2") == book_set(a.book, "d2"))
        merged = room_set(room, "d2")
        assert merged == book_set(a.book, "d2") == book_set(b.book, "d2")
        assert len(merged) == 3
        stroke = next(x for x in merged if x.annotation_id == one.annotation_id)
        assert (stroke.colour, stroke.width) == (BLUE, 5.0)  # both edits, field by field
    finally:
        await a.stop()
        await b.stop()


async def test_server_killed_mid_stream_loses_and_doubles_nothing(
    tmp_path: Path, voting_package_dir: Path
) -> None:
    port = free_port()
    room = start_room(
        tmp_path / "room", package=voting_package_dir, mdns=False, port=port, limits=FAST
    )
    d1: Annotator | None = None
    try:
        d1 = await Annotator(room, "tab-d1", "A2", tmp_path / "books").start("d1")
        d1.tablet.connection.backoff = Backoff(initial=0.05, maximum=0.3)
        sha = shas(d1.tablet)["budget"]
        marks = [d1.draw("d1", sha, i % 6, text=f"n{i}") for i in range(40)]
        for mark in marks[:20]:
            d1.change("d1", mark.annotation_id, AnnotationPatch(colour=BLUE))
        await until(lambda: d1 is not None and d1.book.pending_count() < 55)
        room.process.send_signal(signal.SIGKILL)
        room.process.wait(timeout(10))
        for mark in marks[20:30]:  # edits while the room is down
            d1.change("d1", mark.annotation_id, AnnotationPatch(deleted=True))
        assert d1.book.pending_count() > 0
        with running_room(tmp_path / "room", mdns=False, port=port, limits=FAST) as again:
            await d1.synced()
            assert scalar(again, "SELECT count(*) FROM annotation_ops") == 70
            assert room_set(again, "d1") == book_set(d1.book, "d1")
            assert len(book_set(d1.book, "d1")) == 30
    finally:
        if d1 is not None:
            await d1.stop()
        if room.process.poll() is None:
            room.process.kill()
            room.process.wait()


# --- who sees what ----------------------------------------------------------------------


def shared_ids(t: Annotator) -> set[str]:
    return {a.annotation_id for a in t.book.shared()}


async def test_shared_annotations_reach_who_may_see_them_and_private_ones_never_leave(
    room: RunningRoom, tmp_path: Path
) -> None:
    d1 = await annotator(room, tmp_path, "d1")
    d2 = await annotator(room, tmp_path, "d2")
    chair = await annotator(room, tmp_path, "chair")
    nobody = await Annotator(room, "tab-nobody", None, tmp_path / "books").start()
    everyone = (d1, d2, chair, nobody)
    try:
        sha = shas(d1.tablet)["minutes"]
        secret = d1.draw("d1", sha, 0, text="my private remark", kind=AnnotationKind.NOTE)
        public = d1.draw("d1", sha, 1, text="for all", visibility=Visibility.EVERYONE)
        to_chair = d1.draw("d1", sha, 2, text="for the chair", visibility=Visibility.CHAIR)
        await d1.synced()
        await until(lambda: shared_ids(d2) == {public.annotation_id})
        await until(lambda: shared_ids(chair) == {public.annotation_id, to_chair.annotation_id})
        (seen,) = d2.book.shared()
        assert (seen.text, seen.author_id, seen.author_name) == ("for all", "d1", "Nguyễn Văn An")
        # Made private again, with new words: those who had it drop it and learn nothing.
        d1.change(
            "d1",
            public.annotation_id,
            AnnotationPatch(visibility=Visibility.PRIVATE, text="changed my mind"),
        )
        await d1.synced()
        await until(lambda: not shared_ids(d2))
        await until(lambda: shared_ids(chair) == {to_chair.annotation_id})
        # A member signing in later gets what is shared with them, and only that.
        d3 = await annotator(room, tmp_path, "d3")
        everyone = (*everyone, d3)
        to_all = d1.draw("d1", sha, 0, text="late", visibility=Visibility.EVERYONE)
        await d1.synced()
        await until(lambda: shared_ids(d3) == {to_all.annotation_id})
        late = await annotator(room, tmp_path, "d2", "tab-d2-late")  # replaces d2's tablet
        everyone = (*everyone, late)
        await until(lambda: shared_ids(late) == {to_all.annotation_id})
        # On the wire of every other screen: never the private note, nor the words it got
        # when it stopped being shared; a screen nobody is signed in on sees no member's.
        for other in (d2, chair, nobody, d3, late):
            wire = other.wire()
            assert secret.annotation_id not in wire
            assert "my private remark" not in wire and "changed my mind" not in wire
        assert not nobody.book.shared()
        assert "for the chair" not in d2.wire() + d3.wire()
        # The author's own tablets get operations, not shared copies of their own.
        assert not d1.book.shared()
    finally:
        for t in everyone:
            await t.stop()


def room_display(room: RunningRoom, tmp_path: Path) -> Annotator:
    """The room display's control connection, its shared annotations in a book."""
    return Annotator(room, "display-1", None, tmp_path / "books", display=True)


async def test_presenter_ink_reaches_followers_and_the_room_display(
    room: RunningRoom, tmp_path: Path
) -> None:
    chair = await annotator(room, tmp_path, "chair")
    d1 = await annotator(room, tmp_path, "d1")
    display = room_display(room, tmp_path)
    everyone = [chair, d1, display]
    try:
        await display.start()
        sha = shas(chair.tablet)["agenda"]
        ink = chair.draw("chair", sha, 1, visibility=Visibility.PRESENTER)
        await chair.synced()
        for screen in (d1, display):
            await until(lambda s=screen: shared_ids(s) == {ink.annotation_id})  # type: ignore[misc]
        # A screen that connects later gets the ink when it connects.
        observer = await Annotator(room, "tab-obs", None, tmp_path / "books").start()
        everyone.append(observer)
        await until(lambda: shared_ids(observer) == {ink.annotation_id})
        # Erased: gone everywhere.
        chair.change("chair", ink.annotation_id, AnnotationPatch(deleted=True))
        await chair.synced()
        for screen in (d1, display, observer):
            await until(lambda s=screen: not shared_ids(s))  # type: ignore[misc]
        # A delegate may not draw presenter ink; nothing of it is kept.
        await d1.tablet.refused(
            AnnotationOp(
                d1.tablet.op(),
                "a-pres",
                sha,
                0,
                1,
                AnnotationPatch(visibility=Visibility.PRESENTER),
            ),
            "forbidden",
            "chair and clerks",
        )
        assert not scalar(room, "SELECT count(*) FROM annotation_ops WHERE author_id = 'd1'")
        await display.tablet.refused(
            AnnotationOp(display.tablet.op(), "a-disp", sha, 0, 1, PRESENTER),
            "forbidden",
            "room display",
        )
    finally:
        for t in everyone:
            await t.stop()


async def test_marks_on_a_confidential_document_go_only_where_it_may_be_read(
    tmp_path: Path,
) -> None:
    package = write_package(tmp_path / "pkg", voting=True, confidential=("minutes",))
    with running_room(tmp_path / "room", package=package, mdns=False, limits=FAST) as room:
        chair = await annotator(room, tmp_path, "chair")
        d1 = await annotator(room, tmp_path, "d1")
        press = await Annotator(room, "tab-press", None, tmp_path / "books").start()
        await press.tablet.sign_in("obs", "5555")
        display = room_display(room, tmp_path)
        screens = [chair, d1, press, display]
        try:
            await display.start()
            secret, public = shas(d1.tablet)["minutes"], shas(d1.tablet)["agenda"]
            chair.draw("chair", secret, 0, visibility=Visibility.PRESENTER)
            chair.draw("chair", secret, 1, text="về mục 2", visibility=Visibility.EVERYONE)
            open_ink = chair.draw("chair", public, 0, visibility=Visibility.PRESENTER)
            await chair.synced()
            await until(lambda: len(d1.book.shared()) == 3)
            for screen in (press, display):
                await until(lambda s=screen: shared_ids(s) == {open_ink.annotation_id})  # type: ignore[misc]
                marks = [encode(m) for m in screen.frames if isinstance(m, SharedAnnotations)]
                assert not any(secret in m or "về mục 2" in m for m in marks)
        finally:
            for t in screens:
                await t.stop()


# --- refusals ---------------------------------------------------------------------------


async def test_bad_operations_are_refused_with_a_reason_and_change_nothing(
    tmp_path: Path, voting_package_dir: Path
) -> None:
    limits = "[annotations]\nmax_per_member = 3\nmax_bytes_per_member = 2048\n"
    with running_room(
        tmp_path / "room", package=voting_package_dir, mdns=False, limits=FAST, extra=limits
    ) as room:
        d1 = await annotator(room, tmp_path, "d1")
        d2 = await annotator(room, tmp_path, "d2")
        try:
            sha = shas(d1.tablet)["budget"]
            ink = AnnotationPatch(kind=AnnotationKind.INK, geometry=(1.0, 2.0, 3.0, 4.0))
            await d1.tablet.ok(AnnotationOp(d1.tablet.op(), "a-d1", sha, 0, 10, ink))
            before = scalar(room, "SELECT count(*) FROM annotation_ops")
            stolen = AnnotationPatch(deleted=True)
            # Another member's annotation id: refused, whatever the message says.
            await d2.tablet.refused(
                AnnotationOp(d2.tablet.op(), "a-d1", sha, 0, 99, stolen),
                "forbidden",
                "another member's",
            )
            # A document that is not the meeting's, a page past the end, a moved annotation.
            await d1.tablet.refused(
                AnnotationOp(d1.tablet.op(), "a-x", "ab" * 32, 0, 11, ink),
                "not_found",
                "not in this meeting",
            )
            await d1.tablet.refused(
                AnnotationOp(d1.tablet.op(), "a-x", sha, 6, 11, ink), "bad_field", "past the last"
            )
            await d1.tablet.refused(
                AnnotationOp(d1.tablet.op(), "a-d1", sha, 1, 11, ink), "bad_field", "page 1 of"
            )
            await d1.tablet.refused(
                AnnotationOp(d1.tablet.op(), "a-x", sha, 0, 11, AnnotationPatch()),
                "bad_field",
                "must set a field",
            )
            assert scalar(room, "SELECT count(*) FROM annotation_ops") == before
            assert scalar(room, "SELECT deleted FROM annotations WHERE annotation_id = 'a-d1'") == 0
            # The limits: bytes first (a big stroke), then the count.
            big = AnnotationPatch(geometry=tuple(float(i) for i in range(400)))
            error = await d1.tablet.refused(
                AnnotationOp(d1.tablet.op(), "a-big", sha, 0, 12, big), "annotation_limit", "KiB"
            )
            assert "not kept" in error.message
            await d1.tablet.ok(AnnotationOp(d1.tablet.op(), "a-2", sha, 0, 13, ink))
            await d1.tablet.ok(AnnotationOp(d1.tablet.op(), "a-3", sha, 0, 14, ink))
            await d1.tablet.refused(
                AnnotationOp(d1.tablet.op(), "a-4", sha, 0, 15, ink), "annotation_limit", "3 "
            )
            assert scalar(room, "SELECT count(*) FROM annotation_ops") == 3
            assert scalar(room, "SELECT ops FROM annotation_totals WHERE author_id = 'd1'") == 3
            assert not scalar(room, "SELECT count(*) FROM annotations WHERE annotation_id = 'a-4'")
            # Another member has their own allowance.
            await d2.tablet.ok(AnnotationOp(d2.tablet.op(), "a-d2", sha, 0, 16, ink))
        finally:
            await d1.stop()
            await d2.stop()


async def test_nobody_signed_in_an_observer_and_a_closed_meeting_take_no_annotation(
    room: RunningRoom, tmp_path: Path
) -> None:
    chair = await annotator(room, tmp_path, "chair")
    nobody = await Annotator(room, "tab-nobody", None, tmp_path / "books").start()
    try:
        sha = shas(chair.tablet)["agenda"]
        ink = AnnotationPatch(kind=AnnotationKind.INK, geometry=(1.0, 2.0, 3.0, 4.0))
        await nobody.tablet.refused(
            AnnotationOp(nobody.tablet.op(), "a-n", sha, 0, 1, ink), "forbidden"
        )
        await nobody.tablet.sign_in("obs", "5555")  # the press: reads, does not annotate
        await nobody.tablet.refused(
            AnnotationOp(nobody.tablet.op(), "a-o", sha, 0, 1, ink), "forbidden", "observer"
        )
        await chair.tablet.ok(CloseMeeting(chair.tablet.op()))
        await chair.tablet.refused(
            AnnotationOp(chair.tablet.op(), "a-c", sha, 0, 1, ink), "meeting_closed"
        )
        assert not scalar(room, "SELECT count(*) FROM annotation_ops")
    finally:
        await chair.stop()
        await nobody.stop()


# --- the record -------------------------------------------------------------------------


async def test_the_sealed_record_holds_each_members_annotated_copies(
    room: RunningRoom, tmp_path: Path
) -> None:
    d1 = await annotator(room, tmp_path, "d1")
    d2 = await annotator(room, tmp_path, "d2")
    chair = await annotator(room, tmp_path, "chair")
    try:
        budget, agenda = shas(d1.tablet)["budget"], shas(d1.tablet)["agenda"]
        d1.draw("d1", budget, 0)
        d1.draw(
            "d1",
            budget,
            2,
            kind=AnnotationKind.NOTE,
            geometry=(100.0, 120.0),
            text="Hỏi về khoản chi 3",
        )
        d1.draw("d1", budget, 1, kind=AnnotationKind.HIGHLIGHT, geometry=(50, 50, 200, 70))
        gone = d1.draw("d1", agenda, 0)
        d1.change("d1", gone.annotation_id, AnnotationPatch(deleted=True))
        d2.draw("d2", agenda, 1, kind=AnnotationKind.NOTE, geometry=(20, 20), text="Agreed")
        await d1.synced()
        await d2.synced()
        await chair.tablet.ok(CloseMeeting(chair.tablet.op()))
        await chair.tablet.next_of(RecordProgress, 0, lambda m: m.state is RecordState.SEALED)
        record = room.state_dir / "records" / MEETING
        assert [str(p) for p in verify_record(record)] == []
        mine = json.loads((record / "annotations" / "d1.json").read_text(encoding="utf-8"))
        assert mine["member"] == {"id": "d1", "name": "Nguyễn Văn An"}
        assert len(mine["annotations"]) == 3  # the erased one is left out
        assert not (record / "annotations" / "d1" / "agenda.pdf").exists()
        pdf = pymupdf.open(record / "annotations" / "d1" / "budget.pdf")
        try:
            annots = [(a.type[1], a.info) for page in pdf for a in page.annots()]
            assert sorted(kind for kind, _ in annots) == ["Highlight", "Ink", "Text"]
            note = next(info for kind, info in annots if kind == "Text")
            assert note["content"] == "Hỏi về khoản chi 3"
            assert note["title"] == "Nguyễn Văn An"
        finally:
            pdf.close()
        other = pymupdf.open(record / "annotations" / "d2" / "agenda.pdf")
        try:
            page = other[1]
            assert [a.info["content"] for a in page.annots()] == ["Agreed"]
        finally:
            other.close()
        # The same log gives the same bytes.
        outs = [tmp_path / "again-1", tmp_path / "again-2"]
        for out in outs:
            write_annotations(
                room.state_dir / "room.sqlite3", room.state_dir, MEETING, out, lambda *a: None
            )
        files = sorted(p.relative_to(outs[0]) for p in outs[0].rglob("*") if p.is_file())
        assert len(files) == 4
        for name in files:
            assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes()
            assert (outs[0] / name).read_bytes() == (record / name).read_bytes()
    finally:
        for t in (d1, d2, chair):
            await t.stop()


async def test_a_sign_in_brings_the_whole_log_in_pages(room: RunningRoom, tmp_path: Path) -> None:
    d1 = await annotator(room, tmp_path, "d1")
    other: Annotator | None = None
    try:
        sha = shas(d1.tablet)["budget"]
        for i in range(MAX_OPS_PER_MESSAGE + 20):
            d1.book.draw("d1", sha, i % 6, AnnotationKind.INK, (i, i, i + 1, i + 1), colour=RED)
        d1.sync.flush()
        await d1.synced()
        other = await annotator(room, tmp_path, "d1", "tab-d1-spare")
        await until(lambda: other is not None and len(other.book.annotations("d1")) == 520)
        pages = [m for m in other.frames if isinstance(m, AnnotationOps)]
        assert [(len(p.ops), p.last) for p in pages] == [(MAX_OPS_PER_MESSAGE, False), (20, True)]
        assert book_set(other.book, "d1") == book_set(d1.book, "d1") == room_set(room, "d1")
    finally:
        await d1.stop()
        if other is not None:
            await other.stop()


# --- a room busy with strokes -----------------------------------------------------------


async def test_over_the_rooms_budget_strokes_are_deferred_never_lost_nor_doubled(
    tmp_path: Path, voting_package_dir: Path
) -> None:
    """The room takes 2 operations a second (3 at once) here: a tablet drawing 12 strokes
    in a burst sends the first at once and the rest in one batch, which hears ``busy``
    (the budget has 2 left, not the 3 a batch past the burst needs); the tablet keeps them
    pending and sends them again after a wait; in the end the room holds every one exactly
    once, while the chair's page changes go through at once, and nothing busy was kept."""
    budget = "[annotations]\nops_per_second = 2\nops_burst = 3\n"
    with running_room(
        tmp_path / "room", package=voting_package_dir, mdns=False, limits=FAST, extra=budget
    ) as room:
        d1 = await annotator(room, tmp_path, "d1")
        chair = await Tablet(room, "tab-chair", "A1").start()
        try:
            await chair.sign_in("chair", PINS["chair"])
            sha = shas(d1.tablet)["budget"]
            drawn = [
                d1.draw("d1", sha, n % 3, geometry=(float(n), 1.0, 2.0, 3.0)) for n in range(12)
            ]
            await until(lambda: any(_busy(m) for m in d1.frames), seconds=10)
            # the page changes are not budgeted: the chair is answered at once
            for page in (1, 2):
                await chair.ok(SetFollow(chair.op(), sha, page))
            kept_now = scalar(room, "SELECT count(*) FROM annotation_ops")
            assert kept_now < 12  # the rest was deferred, not queued
            await until(lambda: d1.book.pending_count() == 0, seconds=timeout(60))
            assert scalar(room, "SELECT count(*) FROM annotation_ops") == 12
            assert [a.annotation_id for a in room_set(room, "d1")] == sorted(
                a.annotation_id for a in drawn
            )
            assert book_set(d1.book, "d1") == room_set(room, "d1")
            assert sum(1 for m in d1.frames if _busy(m)) >= 1
        finally:
            await chair.stop()
            await d1.stop()


def _busy(message: Message) -> bool:
    return isinstance(message, ErrorMessage) and message.code == ErrorCode.BUSY.value


async def test_a_budget_out_of_range_is_refused_with_its_name(tmp_path: Path) -> None:
    config = write_config(
        tmp_path, room_id="r", room_name="R", extra="[annotations]\nops_per_second = 0\n"
    )
    result = room_cli(config, "status")
    assert result.returncode != 0 and "annotations.ops_per_second" in result.stderr


# --- batches and the pace ---------------------------------------------------------------


async def test_a_batch_keeps_or_refuses_each_operation_on_its_own(
    room: RunningRoom, tmp_path: Path
) -> None:
    d1 = await annotator(room, tmp_path, "d1")
    try:
        sha = shas(d1.tablet)["budget"]
        note = AnnotationPatch(kind=AnnotationKind.NOTE, geometry=(5.0, 5.0), text="kept")
        ops = (
            BatchedOp("op-b1", "a-b1", sha, 0, 1 << 12, note),
            BatchedOp("op-b2", "a-b2", sha, 999, 2 << 12, note),  # past the last page
            BatchedOp("op-b3", "a-b3", sha, 1, 3 << 12, note),
            BatchedOp("op-b1", "a-b1", sha, 0, 1 << 12, note),  # the same one twice
        )
        batch = AnnotationBatch("batch-1", ops)
        answer = await d1.tablet.do(batch)
        assert isinstance(answer, AnnotationsKept), answer
        assert [(r.op_id, r.code) for r in answer.refused] == [("op-b2", "bad_field")]
        assert "past the last page" in answer.refused[0].message
        assert [a.annotation_id for a in room_set(room, "d1")] == ["a-b1", "a-b3"]
        assert await d1.tablet.do(batch) == answer  # sent again: the same answer
        again = await d1.tablet.do(AnnotationBatch("batch-2", ops[:1]))  # its ops again
        assert again == AnnotationsKept("batch-2", ())
        assert scalar(room, "SELECT count(*) FROM annotation_ops") == 2
        empty = await d1.tablet.do(AnnotationBatch("batch-3", ()))
        assert isinstance(empty, ErrorMessage) and empty.code == ErrorCode.BAD_FIELD.value
    finally:
        await d1.stop()


async def test_private_strokes_wait_for_the_rooms_pace_and_shared_ones_go_at_once(
    tmp_path: Path, voting_package_dir: Path
) -> None:
    """One batch a second for the room: with two connections each tablet is told to
    gather its private operations for 2 s. The first stroke goes at once, the next two
    wait and go together; a shared one goes at once; nothing is lost."""
    pace = "[annotations]\nbatches_per_second = 1\n"
    with running_room(
        tmp_path / "room", package=voting_package_dir, mdns=False, limits=FAST, extra=pace
    ) as room:
        d1 = await annotator(room, tmp_path, "d1")
        d2 = await annotator(room, tmp_path, "d2")
        batches: list[AnnotationBatch] = []
        send = d1.sync._send

        async def spy(request: Any) -> Message:
            batches.append(request)
            return await send(request)

        d1.sync._send = spy
        try:
            await until(lambda: d1.sync.pace == 2.0)
            assert AnnotationPace(2.0) in d1.frames
            sha = shas(d1.tablet)["budget"]

            def stroke(visibility: Visibility = Visibility.PRIVATE) -> Annotation:
                return d1.book.draw(
                    "d1", sha, 0, AnnotationKind.INK, (1.0, 2.0), colour=RED, visibility=visibility
                )

            first = stroke()
            await d1.synced()
            second, third = stroke(), stroke()
            assert d1.sync._sending is None  # gathered, not sent
            await d1.synced()
            shared = stroke(Visibility.EVERYONE)
            assert d1.sync._sending is not None  # shared: on its way at once
            await until(lambda: shared.annotation_id in shared_ids(d2))
            await d1.synced()
            assert [[o.annotation_id for o in b.ops] for b in batches] == [
                [first.annotation_id],
                [second.annotation_id, third.annotation_id],
                [shared.annotation_id],
            ]
            assert book_set(d1.book, "d1") == room_set(room, "d1")
        finally:
            await d1.stop()
            await d2.stop()
