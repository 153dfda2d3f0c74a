"""The whole tablet against a real room-server process: mDNS on 127.0.0.1, TLS, real
downloads, real rendering, real widgets (offscreen), driven like a delegate would."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QLabel, QListWidget, QPushButton, QToolButton, QTreeWidget
from pytestqt.qtbot import QtBot

from tablet_client.i18n import set_language
from tablet_client.render import PageRenderer
from tablet_client.tablet_controller import TabletController, TabletSettings
from tablet_client.views.main_window import MainWindow
from tests.rooms import RunningRoom, running_room
from tests.tablet_client.conftest import stopped_after_the_test

Run = Callable[[Coroutine[Any, Any, Any]], Any]
WaitUntil = Callable[..., Coroutine[Any, Any, float]]
SHOTS = Path("/tmp/hemicycle-shots")


@pytest.fixture
def mdns_room(tmp_path: Path, package_dir: Path) -> Iterator[RunningRoom]:
    with running_room(
        tmp_path / "room", package=package_dir, room_name="Phòng họp số 2", hostname="room-two"
    ) as room:
        yield room


def make_tablet(qtbot: QtBot, room: RunningRoom, cache: Path, **settings: Any) -> TabletController:
    window = MainWindow()
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    qtbot.waitExposed(window)
    tablet = TabletController(
        window,
        TabletSettings(
            credentials=room.device("seat-a2"),
            cache_dir=cache,
            interfaces=("127.0.0.1",),
            **settings,
        ),
        PageRenderer(cache_bytes=64 * 1024 * 1024),
    )
    return stopped_after_the_test(tablet)


def shot(window: MainWindow, name: str, tmp_path: Path) -> QImage:
    pixmap = window.grab()
    for folder in (tmp_path, SHOTS):
        folder.mkdir(parents=True, exist_ok=True)
        assert pixmap.save(str(folder / f"{name}.png"))
    image = pixmap.toImage()
    colours = {
        image.pixel(x, y) for x in range(0, image.width(), 9) for y in range(0, image.height(), 9)
    }
    assert len(colours) > 20, f"{name}: only {len(colours)} colours, the screen looks blank"
    return image


def test_delegate_finds_room_reads_and_keeps_reading_offline(
    qtbot: QtBot, mdns_room: RunningRoom, tmp_path: Path, run_async: Run, wait_until: WaitUntil
) -> None:
    tablet = make_tablet(qtbot, mdns_room, tmp_path / "cache")
    window = tablet.window
    tablet.auto_join = False

    async def body() -> None:
        await tablet.start()

        # 1. The room shows up in the discovery list; the delegate taps Join.
        # Other tests' rooms may be on the loopback too (two test workers): ours by its id.
        def ours() -> str | None:
            return next(
                (n for n, r in tablet.rooms.items() if r.room.room_id == mdns_room.room_id), None
            )

        await wait_until(lambda: ours() is not None, "the room on the network")
        rooms = window.discovery_view.findChild(QListWidget, "rooms")
        assert rooms is not None and rooms.count() >= 1
        assert "Phòng họp số 2" in [rooms.item(i).text() for i in range(rooms.count())]
        shot(window, "tablet_discovery", tmp_path)
        join = window.discovery_view.findChild(QPushButton, "primary")
        assert join is not None and not join.isEnabled()  # the delegate chooses
        service = ours()
        assert service is not None
        window.discovery_view.select_room(service)
        assert join.isEnabled()
        qtbot.mouseClick(join, Qt.MouseButton.LeftButton)

        # 2. Connected: the agenda is shown and every document arrives in the cache.
        await wait_until(lambda: tablet.meeting is not None, "the meeting")
        assert window.screens.currentWidget() is window.agenda_view
        await wait_until(
            lambda: "Connected to Phòng họp số 2" in window.connection_text(), "banner"
        )
        tree = window.agenda_view.findChild(QTreeWidget, "agenda")
        assert tree is not None and tree.topLevelItemCount() == 2
        assert tree.topLevelItem(1).child(0).text(1) == "Debate"
        await wait_until(lambda: not tablet.missing_documents(), "all documents downloaded")
        window.agenda_view.select_item("budget")
        assert window.agenda_view.document_rows() == [tablet.meeting.agenda[1].documents[0]]  # type: ignore[union-attr]
        documents = window.agenda_view.findChild(QListWidget, "documents")
        assert documents is not None and "Saved on this tablet" in documents.item(0).text()
        shot(window, "tablet_agenda", tmp_path)

        # 3. Open the budget and turn pages.
        opened: list[str] = []
        tablet.document_opened.connect(opened.append)
        open_button = window.agenda_view.findChild(QPushButton, "primary")
        assert open_button is not None
        qtbot.mouseClick(open_button, Qt.MouseButton.LeftButton)
        await wait_until(lambda: bool(opened), "the document on screen")
        assert window.screens.currentWidget() is window.document_view
        page_label = window.document_view.findChild(QLabel, "page_label")
        assert page_label is not None and page_label.text() == "Page 1 of 6"
        next_button = window.document_view.findChild(QToolButton, "next")
        assert next_button is not None
        qtbot.mouseClick(next_button, Qt.MouseButton.LeftButton)
        qtbot.mouseClick(next_button, Qt.MouseButton.LeftButton)
        await wait_until(lambda: tablet.reader.current_page == 2, "page 3")
        await asyncio.sleep(0.2)
        assert page_label.text() == "Page 3 of 6"
        shot(window, "tablet_document", tmp_path)

        # 4. The room server dies: the banner says so, and cached documents still open.
        mdns_room.process.send_signal(signal.SIGKILL)
        await wait_until(lambda: "retrying" in window.connection_text(), "the retry banner")
        back = window.document_view.findChild(QToolButton, "back")
        assert back is not None
        qtbot.mouseClick(back, Qt.MouseButton.LeftButton)
        assert window.screens.currentWidget() is window.agenda_view
        minutes = tablet.meeting.agenda[1].children[0].documents[0]  # type: ignore[union-attr]
        opened.clear()
        await tablet.open_document(minutes)
        assert opened == [minutes]
        assert page_label.text() == "Page 1 of 3"
        set_language("vi")
        await asyncio.sleep(0.1)
        assert page_label.text() == "Trang 1/3"
        shot(window, "tablet_offline_vi", tmp_path)
        await tablet.stop()

    run_async(body())


def test_tablet_starts_offline_from_its_cache(
    qtbot: QtBot, mdns_room: RunningRoom, tmp_path: Path, run_async: Run, wait_until: WaitUntil
) -> None:
    cache = tmp_path / "cache"
    first = make_tablet(qtbot, mdns_room, cache, room_id=mdns_room.room_id)

    async def download_everything() -> None:
        await first.start()  # provisioned for this room: joins by itself
        await wait_until(lambda: first.meeting is not None, "the meeting")
        await wait_until(lambda: not first.missing_documents(), "all documents")
        await first.stop()

    run_async(download_everything())
    assert mdns_room.stop() == 0
    second = make_tablet(qtbot, mdns_room, cache, room_id=mdns_room.room_id)

    async def offline() -> None:
        await second.start()
        assert second.meeting is not None  # from the cache, before any network
        assert second.window.screens.currentWidget() is second.window.agenda_view
        assert "Offline" in second.window.connection_text()
        opened: list[str] = []
        second.document_opened.connect(opened.append)
        await second.open_document(second.meeting.documents[0].sha256)
        assert opened
        shot(second.window, "tablet_offline_start", tmp_path)
        await second.stop()

    run_async(offline())
