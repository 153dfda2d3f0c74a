"""The tablet process's annotations: a real TabletController (widgets offscreen) keeps its
members' annotations in its cache directory, sends them while a member is signed in, and
receives what other members share, against a real room-server process."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from room_client.annotations import AnnotationBook
from room_protocol.annotations import AnnotationKind, AnnotationOp, AnnotationPatch, Visibility
from tablet_client.i18n import set_language
from tablet_client.tablet_controller import ANNOTATIONS_FILE, TabletController
from tests.live_clients import Tablet
from tests.rooms import RunningRoom, running_room, start_room
from tests.tablet_client.test_live_ui import PINS, make_tablet, sign_in_ui

Run = Callable[[Coroutine[Any, Any, Any]], Any]
WaitUntil = Callable[..., Coroutine[Any, Any, float]]


SHOTS = Path("/tmp/hemicycle-shots")


async def shoot(tablet: TabletController, name: str) -> None:
    """The reader with its tools, in English and in Vietnamese, for a person to look at."""
    window = tablet.window
    window.show_screen(window.document_view)
    await asyncio.to_thread(SHOTS.mkdir, parents=True, exist_ok=True)
    for language in ("vi", "en"):
        set_language(language)
        await asyncio.sleep(0.1)  # laid out again in the language
        assert window.grab().save(str(SHOTS / f"{name}-{language}.png"))


def kept(room: RunningRoom) -> list[tuple[str, str]]:
    import sqlite3

    conn = sqlite3.connect(f"file:{room.state_dir / 'room.sqlite3'}?mode=ro", uri=True)
    try:
        return conn.execute(
            "SELECT author_id, device_id FROM annotation_ops ORDER BY seq"
        ).fetchall()
    finally:
        conn.close()


def test_a_tablet_sends_its_members_annotations_and_shows_shared_ones(
    qtbot: QtBot, tmp_path: Path, package_dir: Path, run_async: Run, wait_until: WaitUntil
) -> None:
    with running_room(tmp_path / "room", package=package_dir, mdns=False) as room:
        tablet = make_tablet(qtbot, room, tmp_path, "a2", "A2")

        async def body() -> None:
            await tablet.start()
            await wait_until(lambda: tablet.annotations is not None, "the annotations file")
            book = tablet.annotations
            assert book is not None
            assert (tmp_path / "cache-a2" / ANNOTATIONS_FILE).is_file()
            await wait_until(lambda: tablet.meeting is not None, "the meeting")
            assert tablet.meeting is not None
            sha = tablet.meeting.documents[0].sha256
            await sign_in_ui(qtbot, tablet, "d1", wait_until)
            # An edit goes to the room by itself (what the tablet's UI does: it only draws).
            made = book.draw("d1", sha, 0, AnnotationKind.INK, (1, 2, 3, 4), colour="#d62828")
            await wait_until(lambda: book.pending_count() == 0, "the room's answer")
            assert kept(room) == [("d1", "tablet-a2")]
            # Another member shares a note with everyone: it is on this tablet, named.
            d2 = await Tablet(room, "protocol-d2", "A3").start()
            try:
                await d2.sign_in("d2", PINS["d2"])
                note = AnnotationPatch(
                    kind=AnnotationKind.NOTE,
                    geometry=(5.0, 5.0),
                    text="Xem trang 2",
                    visibility=Visibility.EVERYONE,
                )
                await d2.ok(AnnotationOp(d2.op(), "a-d2", sha, 0, 1 << 12, note))
                await wait_until(lambda: bool(book.shared()), "the shared note")
                (shared,) = book.shared()
                assert (shared.text, shared.author_name) == ("Xem trang 2", "Beatrix Delegate")
            finally:
                await d2.stop()
            book.change("d1", made.annotation_id, AnnotationPatch(colour="#1d4ed8"))
            await wait_until(lambda: book.pending_count() == 0, "the change answered")
            assert len(kept(room)) == 3
            await tablet.stop()
            # What the tablet keeps is in its own file, for its next run.
            again = AnnotationBook(tmp_path / "cache-a2" / ANNOTATIONS_FILE, "tablet-a2")
            try:
                (mine,) = again.annotations("d1")
                assert mine.colour == "#1d4ed8" and again.pending_count() == 0
            finally:
                again.close()

        run_async(body())


def test_the_reader_says_an_edit_waits_on_the_tablet_while_offline_then_that_the_room_has_it(
    qtbot: QtBot, tmp_path: Path, package_dir: Path, run_async: Run, wait_until: WaitUntil
) -> None:
    """What the delegate sees through a power cut of the room: "Connection lost" and the
    edit saved on the tablet, then, the room back, the edit kept by the room."""
    room = start_room(tmp_path / "room", package=package_dir, mdns=False)
    rooms = [room]
    try:
        tablet = make_tablet(qtbot, room, tmp_path, "a2", "A2")
        label = tablet.window.document_view.annotation_bar.findChild(QLabel, "annotation_sync")
        assert label is not None

        async def away() -> None:
            await tablet.start()
            await wait_until(lambda: tablet.meeting is not None, "the meeting")
            assert tablet.meeting is not None and tablet.annotations is not None
            await sign_in_ui(qtbot, tablet, "d1", wait_until)
            assert label.isHidden()  # nothing edited yet: nothing said
            room.stop(signal.SIGKILL)
            await wait_until(
                lambda: tablet.window.connection_text().startswith("Connection lost"),
                "the tablet saying it is offline",
            )
            sha = tablet.meeting.documents[0].sha256
            tablet.annotations.draw(
                "d1", sha, 0, AnnotationKind.INK, (1, 2, 3, 4), colour="#d62828"
            )
            await wait_until(
                lambda: label.text() == "Saved here · 1 to send",
                "the edit said to be on the tablet",
            )
            assert not label.isHidden()
            await shoot(tablet, "annotation-sync-offline")

        run_async(away())
        again = start_room(tmp_path / "room", mdns=False, port=room.port, room_id=room.room_id)
        rooms.append(again)

        async def back() -> None:
            await wait_until(
                lambda: label.text() == "Saved in the room", "the edit kept by the room", 40
            )
            assert kept(again) == [("d1", "tablet-a2")]
            await shoot(tablet, "annotation-sync-kept")

        run_async(back())
    finally:
        for running in rooms:
            running.stop()
