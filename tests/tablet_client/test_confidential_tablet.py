"""A confidential document on the whole tablet against a real room-server process: kept
sealed with the member's key, read with a "Confidential" mark and nothing to copy, save
or print, and wiped when the chair closes the meeting and after the offline expiry
(with the tablet's clock moved). Screenshots in English and Vietnamese go to
/tmp/conf-shots."""

from __future__ import annotations

import asyncio
import secrets
import socket
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import pymupdf
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QGuiApplication, QImage
from PySide6.QtWidgets import QLabel, QListWidget, QWidget
from pytestqt.qtbot import QtBot

from room_client.confidential import SealedUnreadable, decode_key, unseal_file
from room_client.connection import RoomEndpoint
from room_protocol.annotations import AnnotationKind
from room_protocol.live import CloseMeeting, FollowState
from room_protocol.messages import DocumentInfo
from tablet_client.app import save
from tablet_client.i18n import set_language
from tablet_client.render import PageRenderer
from tablet_client.tablet_controller import TabletController, TabletSettings
from tablet_client.views.main_window import MainWindow
from tests.live_clients import Tablet
from tests.rooms import RunningRoom, running_room, write_package
from tests.tablet_client.conftest import stopped_after_the_test

Run = Callable[[Coroutine[Any, Any, Any]], Any]
WaitUntil = Callable[..., Coroutine[Any, Any, float]]
SHOTS = Path("/tmp/conf-shots")
HOUR = 3600.0


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def room(tmp_path: Path) -> Iterator[RunningRoom]:
    package = write_package(tmp_path / "pkg", confidential=("minutes",))
    with running_room(tmp_path / "room", package=package, mdns=False) as room:
        yield room


def make_tablet(
    qtbot: QtBot,
    credentials: Any,
    cache: Path,
    endpoint: RoomEndpoint,
    clock: Clock,
    **settings: Any,
) -> TabletController:
    window = MainWindow()
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    qtbot.waitExposed(window)
    tablet = TabletController(
        window,
        TabletSettings(
            credentials=credentials, cache_dir=cache, direct=endpoint, seat_id="A2", **settings
        ),
        PageRenderer(cache_bytes=32 * 1024 * 1024),
        clock=clock,
    )
    return stopped_after_the_test(tablet)


async def sign_in(
    qtbot: QtBot,
    tablet: TabletController,
    wait_until: WaitUntil,
    who: str = "d1",
    pin: str = "2222",
) -> None:
    window = tablet.window
    await wait_until(lambda: tablet.meeting is not None, "the meeting")
    if window.screens.currentWidget() is not window.sign_in_view:
        qtbot.mouseClick(window.identity_action, Qt.MouseButton.LeftButton)
    window.sign_in_view.select_member(who)
    for digit in pin:
        qtbot.mouseClick(window.sign_in_view.pin_pad.keys[digit], Qt.MouseButton.LeftButton)
    qtbot.mouseClick(window.sign_in_view.submit, Qt.MouseButton.LeftButton)
    await wait_until(lambda: tablet.link.me is not None, f"{who} signed in")


def text_of(widget: QWidget, name: str) -> str:
    label = widget.findChild(QLabel, name)
    assert label is not None, name
    return label.text()


def document_row(window: MainWindow) -> str:
    rows = window.agenda_view.findChild(QListWidget, "documents")
    assert rows is not None and rows.count() == 1
    return str(rows.item(0).text())


def minutes_of(tablet: TabletController) -> DocumentInfo:
    assert tablet.meeting is not None
    return next(d for d in tablet.meeting.documents if d.confidential)


def save_shot(widget: QWidget, name: str) -> QImage:
    SHOTS.mkdir(parents=True, exist_ok=True)
    pixmap = widget.grab()
    assert pixmap.save(str(SHOTS / f"{name}.png"))
    return pixmap.toImage()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_confidential_document_is_sealed_read_marked_and_wiped_at_close(
    qtbot: QtBot, room: RunningRoom, tmp_path: Path, run_async: Run, wait_until: WaitUntil
) -> None:
    clock = Clock()
    cache = tmp_path / "cache"
    tablet = make_tablet(qtbot, room.device("tablet-a2", "A2"), cache, room.endpoint(), clock)
    window = tablet.window

    async def body() -> None:
        await tablet.start()
        await wait_until(lambda: tablet.meeting is not None, "the meeting")
        minutes = minutes_of(tablet)
        await wait_until(lambda: not tablet.missing_documents(), "the public documents")
        # Nobody is signed in: the confidential document is not fetched, and the agenda
        # says why.
        assert tablet.cache.confidential.held() == []
        window.agenda_view.select_item("budget-debate")
        assert "Confidential: sign in to read it" in document_row(window)
        await sign_in(qtbot, tablet, wait_until)
        await wait_until(lambda: bool(tablet.cache.confidential.held()), "the sealed minutes")

        # At rest: no PDF, no watermark, no words of the document; the key opens it.
        sealed_path = tablet.cache.confidential.path("d1", minutes.sha256)
        assert tablet.cache.confidential.held() == [sealed_path]
        assert tablet.cache.get(minutes.sha256) is None  # never in the plain cache
        assert not list((cache / "partial").iterdir())
        sealed = sealed_path.read_bytes()
        for word in (b"%PDF", b"CONFIDENTIAL", "Nguyễn".encode(), b"Minutes", b"/Page"):
            assert word not in sealed, word
        with pytest.raises(SealedUnreadable):
            unseal_file(secrets.token_bytes(32), sealed_path)
        me = tablet.link.me
        assert me is not None and me.cache_key is not None
        plain = unseal_file(decode_key(me.cache_key), sealed_path)
        with pymupdf.open(stream=plain, filetype="pdf") as copy:
            assert copy.page_count == minutes.pages
            for page in copy:
                assert "CONFIDENTIAL · Nguyễn Văn An · seat A2" in page.get_text()
        # The key is held in memory only: nothing under the cache holds it.
        key = decode_key(me.cache_key)
        for path in cache.rglob("*"):
            if path.is_file():
                assert (
                    key not in path.read_bytes() and me.cache_key.encode() not in path.read_bytes()
                )

        # Reading it: the mark is shown; copy, select all, save and print do nothing.
        opened: list[str] = []
        tablet.document_opened.connect(opened.append)
        tablet.read_document(minutes.sha256)
        await wait_until(lambda: bool(opened), "the minutes on screen")
        view = window.document_view
        mark = view.findChild(QLabel, "confidential")
        assert mark is not None and mark.isVisible() and mark.text() == "Confidential"
        clipboard = QGuiApplication.clipboard()
        clipboard.setText("before")
        view.setFocus()
        for keys in ("Ctrl+C", "Ctrl+A", "Ctrl+S", "Ctrl+P", "Ctrl+X"):
            qtbot.keyClick(view, keys[-1], Qt.KeyboardModifier.ControlModifier)
        assert clipboard.text() == "before"
        page_image = view.findChild(QLabel, "page_image")
        assert page_image is not None
        assert page_image.textInteractionFlags() == Qt.TextInteractionFlag.NoTextInteraction
        assert page_image.contextMenuPolicy() == Qt.ContextMenuPolicy.NoContextMenu
        words = ("save", "print", "export", "copy", "share", "lưu", "in ", "sao chép")
        # (the annotation bar's share menu shares the member's marks, never the document)
        marks = set(view.annotation_bar.share_actions.values())
        for action in window.findChildren(QAction):
            if action in marks:
                continue
            assert not any(w in action.text().lower() for w in words), action.text()
        await asyncio.sleep(0.1)  # let Qt lay out
        save_shot(window, "confidential-reader")
        set_language("vi")
        assert mark.text() == "Mật"
        await asyncio.sleep(0.1)  # let Qt lay out
        save_shot(window, "confidential-reader-vi")
        set_language("en")

        # d1 signs out: the reader puts the document away; d2 signs in on this tablet and
        # gets a copy of their own, sealed with their key, beside d1's.
        qtbot.mouseClick(window.identity_action, Qt.MouseButton.LeftButton)
        await wait_until(lambda: tablet.link.me is None, "d1 signed out")
        assert not mark.isVisible() and page_image.pixmap().isNull()
        await wait_until(lambda: "sign in again" in text_of(view, "error"), "put away")
        await sign_in(qtbot, tablet, wait_until, "d2", "4444")
        theirs = tablet.cache.confidential.path("d2", minutes.sha256)
        await wait_until(theirs.exists, "d2's sealed minutes")
        them = tablet.link.me
        assert them is not None and them.cache_key is not None
        with pytest.raises(SealedUnreadable):
            unseal_file(decode_key(me.cache_key), theirs)
        with pymupdf.open(
            stream=unseal_file(decode_key(them.cache_key), theirs), filetype="pdf"
        ) as copy:
            assert "Beatrix Delegate · seat A3" in copy[0].get_text()
        assert sealed_path.exists()
        opened.clear()
        tablet.read_document(minutes.sha256)
        await wait_until(lambda: bool(opened), "d2's minutes on screen")
        assert mark.isVisible()

        # d2 writes a note on the minutes; the room keeps it.
        book = tablet.annotations
        assert book is not None
        book.draw(
            "d2",
            minutes.sha256,
            0,
            AnnotationKind.NOTE,
            (50.0, 50.0),
            colour="#d32f2f",
            text="Điều 7 cần giữ kín",
        )
        await wait_until(lambda: not book.pending("d2"), "the note in the room")

        # The chair closes the meeting: the tablet wipes the sealed file and the reader.
        chair = await Tablet(room, "tablet-a1", "A1").start()
        await chair.sign_in("chair", "1111")
        await chair.ok(CloseMeeting(chair.op(), force=True))
        await chair.stop()
        await wait_until(lambda: not sealed_path.exists(), "the minutes wiped")
        assert not theirs.exists() and tablet.cache.confidential.held() == []
        # ... and the marks on it: not in the book, nor anywhere in its files.
        assert book.annotations("d2", minutes.sha256) == []
        for path in cache.glob("annotations.sqlite3*"):
            assert "Điều 7 cần giữ kín".encode() not in path.read_bytes(), path
        assert not mark.isVisible() and page_image.pixmap().isNull()
        error = view.findChild(QLabel, "error")
        assert error is not None and "no longer on this tablet" in error.text()
        assert "the meeting was closed" in error.text()
        await asyncio.sleep(0.1)  # let Qt lay out
        save_shot(window, "confidential-wiped")
        # The public documents stay for reading after the meeting.
        public = next(d for d in tablet.meeting.documents if not d.confidential)  # type: ignore[union-attr]
        assert tablet.cache.get(public.sha256) is not None

    run_async(body())


def test_a_tablet_away_from_the_room_too_long_wipes_its_confidential_documents(
    qtbot: QtBot, room: RunningRoom, tmp_path: Path, run_async: Run, wait_until: WaitUntil
) -> None:
    clock = Clock()
    cache = tmp_path / "cache"
    credentials = room.device("tablet-a2", "A2")
    first = make_tablet(qtbot, credentials, cache, room.endpoint(), clock)
    nowhere = RoomEndpoint("127.0.0.1", free_port(), "127.0.0.1")
    wiped: list[int] = []

    async def body() -> None:
        await first.start()
        await sign_in(qtbot, first, wait_until)
        await wait_until(lambda: bool(first.cache.confidential.held()), "the sealed minutes")
        sealed = first.cache.confidential.held()[0]
        await first.stop()

        # Eleven hours later the tablet starts where the room cannot be reached: it keeps
        # the sealed file (the member may sign in again when the room is back).
        clock.now += 11 * HOUR
        second = make_tablet(qtbot, credentials, cache, nowhere, clock)
        second.confidential_wiped.connect(wiped.append)
        await second.start()
        assert sealed.exists() and wiped == []
        # Two more hours, still away: the tablet's own check wipes it.
        clock.now += 2 * HOUR
        second.check_expiry()
        assert not sealed.exists() and wiped == [1]
        await second.stop()

        # A tablet switched off that long wipes it as soon as it starts.
        third = make_tablet(qtbot, credentials, cache, room.endpoint(), clock)
        await third.start()
        await sign_in(qtbot, third, wait_until)
        await wait_until(lambda: sealed.exists(), "the minutes fetched again")
        await third.stop()
        clock.now += 13 * HOUR
        fourth = make_tablet(qtbot, credentials, cache, nowhere, clock)
        await fourth.start()
        assert not sealed.exists()
        await fourth.stop()

    run_async(body())


def test_the_chair_lets_the_room_display_show_confidential_pages(
    qtbot: QtBot, room: RunningRoom, tmp_path: Path, run_async: Run, wait_until: WaitUntil
) -> None:
    chair = make_tablet(
        qtbot, room.device("tablet-a1", "A1"), tmp_path / "cache", room.endpoint(), Clock()
    )
    console = chair.window.chair_console_view
    button = console.display_confidential

    async def body() -> None:
        display = await Tablet(room, "display-1", display=True).start()
        await chair.start()
        await sign_in(qtbot, chair, wait_until, "chair", "1111")
        chair.window.show_screen(console)
        await wait_until(button.isVisible, "the room display button")
        assert not button.isChecked()
        assert button.text() == "Room display: no confidential pages"
        mark = len(display.received)
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
        allowed = await display.next_of(FollowState, mark, lambda m: m.confidential_on_display)
        assert allowed.confidential_on_display
        await wait_until(lambda: "shown" in button.text(), "the room's answer on the button")
        assert button.isChecked()
        await asyncio.sleep(0.1)  # let Qt lay out
        save_shot(chair.window, "chair-display-confidential")
        set_language("vi")
        assert button.text() == "Màn hình phòng: đang hiện trang mật"
        await asyncio.sleep(0.1)  # let Qt lay out
        save_shot(chair.window, "chair-display-confidential-vi")
        set_language("en")
        mark = len(display.received)
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
        await display.next_of(FollowState, mark, lambda m: not m.confidential_on_display)
        await wait_until(lambda: not button.isChecked(), "switched off")
        await display.stop()

    run_async(body())


def test_a_delegate_has_no_room_display_button(
    qtbot: QtBot, room: RunningRoom, tmp_path: Path, run_async: Run, wait_until: WaitUntil
) -> None:
    tablet = make_tablet(
        qtbot, room.device("tablet-a2", "A2"), tmp_path / "cache", room.endpoint(), Clock()
    )

    async def body() -> None:
        await tablet.start()
        await sign_in(qtbot, tablet, wait_until)
        assert not tablet.window.chair_console_view.display_confidential.isVisibleTo(
            tablet.window.chair_console_view
        )

    run_async(body())


def test_a_member_who_is_not_a_reader_is_told_so(
    qtbot: QtBot, tmp_path: Path, run_async: Run, wait_until: WaitUntil
) -> None:
    package = write_package(
        tmp_path / "pkg", confidential=("minutes",), documents={"minutes": {"members": ["d2"]}}
    )
    with running_room(tmp_path / "room", package=package, mdns=False) as room:
        tablet = make_tablet(
            qtbot, room.device("tablet-a2", "A2"), tmp_path / "cache", room.endpoint(), Clock()
        )

        async def body() -> None:
            await tablet.start()
            await sign_in(qtbot, tablet, wait_until)
            await wait_until(lambda: not tablet.missing_documents(), "the public documents")
            tablet.window.agenda_view.select_item("budget-debate")
            assert "Confidential: not for you" in document_row(tablet.window)
            assert tablet.cache.confidential.held() == []
            await tablet.stop()

        run_async(body())


def test_the_screenshot_tour_never_captures_a_confidential_page(
    qtbot: QtBot, tmp_path: Path, run_async: Run
) -> None:
    window = MainWindow()
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    qtbot.waitExposed(window)
    window.show_screen(window.document_view)
    assert run_async(save(window, tmp_path, "public")) == tmp_path / "public.png"
    window.document_view.set_confidential(True)
    assert run_async(save(window, tmp_path, "secret")) is None
    assert not (tmp_path / "secret.png").exists()
